// `dpzo env` reports the CPUs this process may use (the affinity mask and the cgroup CPU quota, as the native pool counts
// them for threads 0) beside the machine's cores, and the GPUs the addon can use rather than nvidia-smi's list: it printed
// the machine's core count (2 threads ran in a container of 64 cores) and every GPU the driver saw, even to an addon that
// could use none. No GPU is needed: the addon and nvidia-smi are stood in for.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { collectEnv } from '../../../lib/cli/commands/env.js';
import { loadModel } from '../../../lib/index.js';
import { cgroupQuotaCpus, usableCpus } from '../../../lib/model/usable-cpus.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { dpzo } from '../../helpers/cli.js';
import { writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-env-cpus-');
afterAll(() => tmp.cleanup());

/** A cgroup root holding `files` (relative path → content). */
function cgroup(name: string, files: Record<string, string>): string {
  const root = join(tmp.dir, name);
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), text + '\n');
  }
  mkdirSync(root, { recursive: true });
  return root;
}

describe('usableCpus', () => {
  it('the affinity count, capped by a cgroup v2 or v1 quota rounded up, at least 1', () => {
    expect(usableCpus({ affinity: 8, cgroupRoot: cgroup('v2', { 'cpu.max': '150000 100000' }) })).toBe(2);
    expect(usableCpus({ affinity: 8, cgroupRoot: cgroup('v2-max', { 'cpu.max': 'max 100000' }) })).toBe(8);
    expect(usableCpus({ affinity: 8, cgroupRoot: cgroup('v1', { 'cpu/cpu.cfs_quota_us': '300000', 'cpu/cpu.cfs_period_us': '100000' }) })).toBe(3);
    expect(usableCpus({ affinity: 8, cgroupRoot: cgroup('v1-none', { 'cpu/cpu.cfs_quota_us': '-1', 'cpu/cpu.cfs_period_us': '100000' }) })).toBe(8);
    expect(usableCpus({ affinity: 2, cgroupRoot: cgroup('v2-wide', { 'cpu.max': '400000 100000' }) })).toBe(2);
    expect(usableCpus({ affinity: 3, cgroupRoot: join(tmp.dir, 'no-cgroup') })).toBe(3);
    expect(usableCpus({ affinity: 4, cgroupRoot: cgroup('v2-tiny', { 'cpu.max': '1000 100000' }) })).toBe(1);
    expect(cgroupQuotaCpus(cgroup('v2-bad', { 'cpu.max': 'junk' }))).toBe(0);
  });

  it('on this machine, the count the native pool takes for threads 0', async () => {
    const dir = writeTinyModel(join(tmp.dir, 'model'));
    const m = await loadModel(dir, { threads: 0 });
    try {
      expect(usableCpus()).toBe(Math.min(m.threads, 1024));
    } finally {
      m.dispose();
    }
  });
});

describe('collectEnv', () => {
  const base = { backends: 'cpu,cuda', blas: '', directionIsa: () => 'avx2' };
  const smi = () => 'NVIDIA H100 80GB HBM3, 81559 MiB, 550.54\nNVIDIA H100 80GB HBM3, 81559 MiB, 550.54';

  it('the GPUs are what the addon sees (one of the two the driver lists), nvidia-smi given beside them', () => {
    const addon = { ...base, cudaDeviceList: () => [{ index: 0, name: 'NVIDIA H100 80GB HBM3', totalBytes: 81559 * 2 ** 20 }] };
    const r = collectEnv({ addon, nvidiaSmi: smi });
    expect(r.gpus).toEqual(['cuda:0 NVIDIA H100 80GB HBM3, 79.6 GiB']);
    expect(r.gpuSource).toBe('addon');
    expect(r.driverGpus).toHaveLength(2);
  });

  it('an addon that sees none reports none, though the driver lists GPUs', () => {
    const r = collectEnv({ addon: { ...base, backends: 'cpu', cudaDeviceList: () => [] }, nvidiaSmi: smi });
    expect(r.gpus).toEqual([]);
    expect(r.gpuSource).toBe('addon');
    expect(r.driverGpus).toHaveLength(2);
  });

  it('an addon without the list (older), or none loaded: nvidia-smi, said so', () => {
    expect(collectEnv({ addon: base, nvidiaSmi: smi })).toMatchObject({ gpuSource: 'nvidia-smi', gpus: smi().split('\n') });
    expect(collectEnv({ addon: new Error('no addon'), nvidiaSmi: () => undefined })).toMatchObject({ gpuSource: 'nvidia-smi', gpus: [], driverGpus: [] });
  });

  it("usable CPUs from the quota beside the machine's cores", () => {
    const r = collectEnv({ addon: base, nvidiaSmi: () => undefined, affinity: 64, cgroupRoot: cgroup('env-v2', { 'cpu.max': '200000 100000' }) });
    expect(r.usableCpus).toBe(2);
    expect(r.cores).toBe(cpus().length);
  });

  it('dpzo env: usableCpus in the JSON, and in the cpu row', async () => {
    const j = await dpzo('env', '--json');
    expect(j.status, j.stderr).toBe(0);
    const env = JSON.parse(j.stdout);
    expect(env.usableCpus).toBe(usableCpus());
    expect(env.cores).toBe(cpus().length);
    const t = await dpzo('env');
    const row = t.stdout.split('\n').find((l) => l.startsWith('cpu'))!;
    expect(row).toContain(env.usableCpus === env.cores ? `(${env.cores} logical cores)` : `(${env.usableCpus} usable of ${env.cores} logical cores)`);
    const gpus = t.stdout.split('\n').find((l) => l.startsWith('GPUs seen'))!;
    expect(gpus).toMatch(env.gpus.length ? /cuda:0 / : /none \(the addon (sees no CUDA device|has no CUDA backend)\)/);
  });
});
