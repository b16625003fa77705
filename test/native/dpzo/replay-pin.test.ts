// The trajectory of a fixed-seed run on the native model is pinned (issue 8: the
// refactor must replay bit for bit): seeds, batches and noise come from hooks, and
// the bytes of trajectory.jsonl and the trained weights are hashed. The hashes were
// recorded when the step became exact (issue 9); Philox directions and the CPU kernels
// are deterministic for a fixed thread count.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { runWithIsa } from '../../helpers/isa.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-pin-native-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model);
writeCyclesJsonl(p.train, 120, 1);

const url = (rel: string) => JSON.stringify(new URL(rel, import.meta.url).href);

// in a child process with the scalar kernels forced, so the pin does not depend on the host's SIMD width
const script = `
  const { createHash } = await import('node:crypto');
  const { readFileSync } = await import('node:fs');
  const { parseRunConfig } = await import(${url('../../../lib/dpzo/config.ts')});
  const { installTestHooks } = await import(${url('../../../lib/dpzo/hooks.ts')});
  const { prepareRun } = await import(${url('../../../lib/dpzo/session.ts')});
  const out = ${JSON.stringify(join(tmp.dir, 'run'))};
  const cfg = parseRunConfig({ model: ${JSON.stringify(p.model)}, data: ${JSON.stringify(p.train)}, task: 'tokens', epsilon: 8, delta: 1e-5, threads: 2, out,
    steps: 6, batchSize: 10, directions: 2, schedule: 'cosine', warmupSteps: 1, lr: 1e-3, clip: 2, weightDecay: 0.1, accountant: 'rdp' }, 'test');
  const { model, trainer } = await prepareRun(cfg);
  installTestHooks(trainer, {
    seeds: (t, n) => Array.from({ length: n }, (_, k) => BigInt(977 * t + 13 * k + 5)),
    batch: (t) => [t % 120, (5 * t + 3) % 120, (11 * t + 7) % 120, (17 * t + 1) % 120],
    noise: (t, n) => Float64Array.from({ length: n }, (_, k) => 0.05 * Math.cos(2 + 3.1 * t + 0.7 * k)),
  });
  const report = await trainer.train();
  const trajectory = createHash('sha256').update(readFileSync(out + '/trajectory.jsonl')).digest('hex');
  process.stdout.write(JSON.stringify({ steps: report.steps, trajectory, weights: await model.weightsHash() }));
  model.dispose();
`;

describe('replay pin (native model)', () => {
  it('a fixed-seed run with weight decay writes the pinned trajectory and weights', () => {
    expect(runWithIsa('scalar', script)).toEqual({ steps: 6, trajectory: '52e3b7ffd8aaac99e871d17e78f3ac69de99dfc2ec5d0c253db29c79f6e32770', weights: '1f3438b1a5fa81bab5a3b8bccf1ffe14c887904e9a0e713ba1a1f2372e4d6e7e' });
  });
});
