// threads 0 (the default) is one per CPU the process may use: under `taskset -c 0` one thread, as Node's
// os.availableParallelism() says; the pool took the machine's core count (std::thread::hardware_concurrency),
// which ignores the affinity mask (and a container's CPU quota), and oversubscribed the CPUs it had.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/cli.js';

const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const script = `import { loadModel } from ${JSON.stringify(join(ROOT, 'lib', 'index.ts'))};
const m = await loadModel(${JSON.stringify(join(ROOT, 'data', 'models', 'byte-llama'))});
console.log(JSON.stringify({ threads: m.threads, available: (await import('node:os')).availableParallelism() }));
m.dispose();`;

function threadsUnder(cpus: string | null): { threads: number; available: number } {
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script];
  const r = cpus === null ? spawnSync(node[0]!, node.slice(1), { cwd: ROOT, encoding: 'utf8' }) : spawnSync('taskset', ['-c', cpus, ...node], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { threads: number; available: number };
}

describe.skipIf(!hasTaskset)('the default thread count', () => {
  it('is the CPUs the process may use: 1 under taskset -c 0, as os.availableParallelism()', () => {
    expect(threadsUnder('0')).toEqual({ threads: 1, available: 1 });
    // a CPU quota (a container's --cpus) may bound it further, below the mask Node counts
    if (availableParallelism() >= 2) expect(threadsUnder('0,1').threads).toBeLessThanOrEqual(2);
    const free = threadsUnder(null);
    expect(free.threads).toBeGreaterThanOrEqual(1);
    expect(free.threads).toBeLessThanOrEqual(free.available);
  });
});
