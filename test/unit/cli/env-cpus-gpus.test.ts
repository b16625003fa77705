// `dpzo env` reports the CPUs this process may use (the affinity mask and the cgroup CPU quota, counted by the native pool
// as for threads 0) beside the machine's cores, and the GPUs the addon can use rather than nvidia-smi's list: it printed
// the machine's core count (2 threads ran in a container of 64 cores) and every GPU the driver saw, even to an addon that
// could use none. No GPU is needed: the addon and nvidia-smi are stood in for.
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { collectEnv } from '../../../lib/cli/commands/env.js';
import { loadModel } from '../../../lib/index.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { dpzo } from '../../helpers/cli.js';
import { writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-env-cpus-');
const BASE = { backends: 'cpu,cuda', blas: '', directionIsa: () => 'avx2' };
afterAll(() => tmp.cleanup());

describe('usable CPUs', () => {
  it("the addon's count, the one the native pool takes for threads 0 (the affinity mask, capped by a cgroup quota)", async () => {
    const dir = writeTinyModel(join(tmp.dir, 'model'));
    const m = await loadModel(dir, { threads: 0 });
    try {
      expect(collectEnv({ nvidiaSmi: () => undefined }).usableCpus).toBe(m.threads);
    } finally {
      m.dispose();
    }
  });

  it("as the addon says beside the machine's cores (a quota of 2 in a 64-core container); Node's count without the addon", () => {
    const r = collectEnv({ addon: { ...BASE, usableCpus: () => 2 }, nvidiaSmi: () => undefined });
    expect(r.usableCpus).toBe(2);
    expect(r.cores).toBe(cpus().length);
    expect(collectEnv({ addon: new Error('no addon'), nvidiaSmi: () => undefined }).usableCpus).toBe(availableParallelism());
  });
});

describe('collectEnv', () => {
  const base = BASE;
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

  it('dpzo env: usableCpus in the JSON, and in the cpu row', async () => {
    const j = await dpzo('env', '--json');
    expect(j.status, j.stderr).toBe(0);
    const env = JSON.parse(j.stdout);
    expect(env.usableCpus).toBe(collectEnv().usableCpus);
    expect(env.cores).toBe(cpus().length);
    const t = await dpzo('env');
    const row = t.stdout.split('\n').find((l) => l.startsWith('cpu'))!;
    expect(row).toContain(env.usableCpus === env.cores ? `(${env.cores} logical cores)` : `(${env.usableCpus} usable of ${env.cores} logical cores)`);
    const gpus = t.stdout.split('\n').find((l) => l.startsWith('GPUs seen'))!;
    expect(gpus).toMatch(env.gpus.length ? /cuda:0 / : /none \(the addon (sees no CUDA device|has no CUDA backend)\)/);
  });
});
