// The CUDA device choice as a machine without a GPU sees it (issue 12, docs/cuda.md): the addon reports
// the CUDA devices it can use; device 'cuda' fails with ERR_DEVICE and a one-line reason; 'auto' falls
// back to the CPU, and on a build that has CUDA it says so once per process (warning DPZO_AUTO_CPU, which
// the CLI prints as one line on a terminal only); `dpzo info` reports the backends built and the devices found. (What needs a GPU: bench/gpu/run.sh.)
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import { nativeAddon } from '../../lib/native.js';
import { makeTempDir, VARIANTS, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { CLI_MAIN, dpzo, ROOT } from '../helpers/cli.js';

const tmp = makeTempDir('dpzo-cuda-device-');
afterAll(() => tmp.cleanup());
const dir = join(tmp.dir, 'llama');
writeRandomCheckpoint(dir, { ...VARIANTS['llama']!, seed: 12 });

const addon = nativeAddon();
const cudaBuilt = addon.backends.split(',').includes('cuda');
const devices = addon.cudaDevices?.() ?? -1;

describe('the weight layout the device copy mirrors', () => {
  it('each block is one contiguous run of the canonical order (what the per-layer streaming mode relies on)', async () => {
    const deep = join(tmp.dir, 'llama-12');
    writeRandomCheckpoint(deep, { ...VARIANTS['llama']!, numLayers: 12, seed: 3 });
    const m = await loadModel(deep, { device: 'cpu', threads: 1 });
    try {
      const names = m.parameterNames();
      for (let l = 0; l < 12; l++) {
        const at = names.flatMap((n, i) => (n.startsWith(`model.layers.${l}.`) ? [i] : []));
        expect(at.length, `layer ${l}`).toBe(9); // 2 norms, q/k/v/o, gate/up/down
        expect(at[at.length - 1]! - at[0]!, `layer ${l} is contiguous`).toBe(at.length - 1);
      }
    } finally {
      m.dispose();
    }
  });
});

describe('device choice without a GPU', () => {
  it('the addon counts the CUDA devices it can use', () => {
    expect(typeof addon.cudaDevices).toBe('function');
    expect(Number.isInteger(devices) && devices >= 0).toBe(true);
    if (!cudaBuilt) expect(devices).toBe(0); // a CPU-only build never reports one
  });

  it.skipIf(devices > 0)("device 'cuda' -> ERR_DEVICE with a one-line reason, nothing loaded", async () => {
    const err = (await loadModel(dir, { device: 'cuda' }).catch((e: unknown) => e)) as { code: string; message: string };
    expect(err.code).toBe('ERR_DEVICE');
    expect(err.message).not.toContain('\n');
    expect(err.message).toMatch(cudaBuilt ? /no CUDA device is visible/ : /has no CUDA backend/);
    expect(err.message).toMatch(/use device 'cpu' or 'auto'/);
  });

  it.skipIf(devices > 0)("device 'auto' runs on the CPU; a CUDA build says so once per process", async () => {
    const seen: Error[] = [];
    const listen = (w: Error) => seen.push(w);
    process.on('warning', listen);
    try {
      for (let i = 0; i < 2; i++) {
        const m = await loadModel(dir, { device: 'auto', threads: 1 });
        expect(m.backend).toBe('cpu');
        m.dispose();
      }
      const cpu = await loadModel(dir, { device: 'cpu', threads: 1 });
      cpu.dispose();
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', listen);
    }
    const ours = seen.filter((w) => (w as Error & { code?: string }).code === 'DPZO_AUTO_CPU');
    expect(ours.length).toBe(cudaBuilt ? 1 : 0);
    if (cudaBuilt) expect(ours[0]!.message).toMatch(/^device 'auto': .*no CUDA device is visible; running on the CPU$/);
  });

  it.skipIf(devices > 0)('dpzo info reports the backends built and the CUDA devices found', async () => {
    const r = await dpzo('info', '--model', dir, '--json');
    expect(r.status).toBe(0);
    const info = JSON.parse(r.stdout) as { backend: string; backendsBuilt: string; cudaDevices: number };
    expect(info).toMatchObject({ backend: 'cpu', backendsBuilt: addon.backends, cudaDevices: 0 });
    // --device defaults to auto; the CLI shows the fallback notice on a terminal only (stderr is a pipe here)
    expect(r.stderr).toBe('');
    const table = await dpzo('info', '--model', dir, '--device', 'cpu');
    expect(table.stdout).toMatch(/backends built\s+cpu/);
    expect(table.stdout).toMatch(/CUDA devices\s+0/);
    expect(table.stderr).toBe('');
  });

  it("'cuda:N' is parsed and validated: a malformed index is ERR_ARGUMENT naming the value, a well-formed one reaches the registry", async () => {
    for (const bad of ['cuda:', 'cuda:x', 'cuda:01', 'cuda:-1', 'cuda:1024', 'cuda:1.5', 'gpu', 'CUDA']) {
      const e = (await loadModel(dir, { device: bad as 'cuda' }).catch((x: unknown) => x)) as { code: string; message: string };
      expect(e.code, bad).toBe('ERR_ARGUMENT');
      expect(e.message, bad).toContain(`'${bad}'`);
      expect(e.message).not.toContain('\n');
    }
    // the native registry parses the same way (a caller of the addon that skips the TypeScript check)
    // (the addon checks its options before it starts the work: a synchronous throw)
    const native = (await Promise.resolve()
      .then(() => addon.loadModel(dir, { device: 'cuda:007' }))
      .catch((x: unknown) => x)) as { code: string; message: string };
    expect(native.code).toBe('ERR_ARGUMENT');
    expect(native.message).toContain("'cuda:007'");
    if (devices === 0) {
      const e = (await loadModel(dir, { device: 'cuda:3' }).catch((x: unknown) => x)) as { code: string; message: string };
      expect(e.code).toBe('ERR_DEVICE');
      expect(e.message).toContain("'cuda:3'");
      expect(e.message).not.toContain('\n');
    }
  });

  it('--device cuda:N on the CLI: a malformed value exits 2 with one line naming it', async () => {
    const r = await dpzo('info', '--model', dir, '--device', 'cuda:x');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain("'cuda:x'");
    if (devices === 0) {
      const ok = await dpzo('info', '--model', dir, '--device', 'cuda:2', '--json');
      expect(ok.status).not.toBe(0);
      expect(ok.stderr).toMatch(/ERR_DEVICE|cuda:2/);
    }
  });

  it.skipIf(devices > 0)('dpzo info lists the CUDA devices (none here)', async () => {
    const r = await dpzo('info', '--model', dir, '--device', 'cpu', '--json');
    const info = JSON.parse(r.stdout) as { cudaDeviceList: unknown[] };
    expect(info.cudaDeviceList).toEqual(addon.cudaDeviceList?.() ?? []);
    expect(info.cudaDeviceList).toEqual([]);
  });

  const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
  it.skipIf(devices > 0 || !cudaBuilt || !hasScript)('on a terminal the CLI prints the fallback notice as one line', () => {
    // script(1) gives the command a pseudo-terminal; stdout is discarded, stderr comes through it
    const cmd = `${process.execPath} ${CLI_MAIN} info --model ${dir} 2>&1 >/dev/null`;
    const r = spawnSync('script', ['-qc', cmd, '/dev/null'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    const lines = r.stdout.split(/\r?\n/).filter(Boolean);
    expect(lines).toEqual(["dpzo: notice: device 'auto': this dpzo build has CUDA but no CUDA device is visible; running on the CPU"]);
  });
});
