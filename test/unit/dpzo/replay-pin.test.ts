// The trajectory of a fixed-seed run is pinned: seeds, batches and noise come from
// hooks (so nothing random is left), and the bytes of trajectory.jsonl plus the final
// weights are hashed. The hashes were recorded when the step became exact (issue 9:
// forwards at θ ± εz without writing θ, one update); a refactor that changes the order
// of a step, the arithmetic of ĝ, the schedule or the line format changes them.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { installTestHooks } from '../../../lib/dpzo/hooks.js';
import { DPZOTrainer } from '../../../lib/dpzo/index.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { FakeModel, tokenDataset } from '../../helpers/fake-model.js';

const tmp = makeTempDir('dpzo-pin-');
afterAll(() => tmp.cleanup());

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** A deterministic stream: step t, index k → a fixed value (no CSPRNG anywhere). */
const fixed = (t: number, k: number) => Math.sin(1 + 7.3 * t + 1.9 * k);

async function pinnedRun(name: string, extra: Record<string, unknown>): Promise<{ trajectory: string; weights: string; steps: number }> {
  const train = tokenDataset(Array.from({ length: 30 }, (_, i) => 3 + (i % 40)));
  const model = new FakeModel(6);
  const runDir = join(tmp.dir, name);
  const trainer = new DPZOTrainer(model, {
    train,
    epsilon: 8,
    delta: 1e-5,
    accountant: 'rdp',
    batchSize: 5,
    steps: 12,
    lr: 0.02,
    clip: 1.5,
    zoEps: 1e-2,
    runDir,
    ...extra,
  });
  installTestHooks(trainer, {
    seeds: (t, n) => Array.from({ length: n }, (_, k) => (BigInt(1000 * t + k + 1) * 0x9e3779b97f4a7c15n) % (1n << 64n)),
    batch: (t) => [t % 30, (3 * t + 1) % 30, (7 * t + 2) % 30],
    noise: (t, n) => Float64Array.from({ length: n }, (_, k) => fixed(t, k)),
  });
  const report = await trainer.train();
  return { trajectory: sha(readFileSync(join(runDir, 'trajectory.jsonl'))), weights: await model.weightsHash(), steps: report.steps };
}

describe('replay pin (fake model)', () => {
  it('a fixed-seed Gaussian run with a cosine schedule writes the pinned trajectory and weights', async () => {
    const r = await pinnedRun('gauss', { directions: 2, schedule: 'cosine', warmupSteps: 3 });
    expect(r.steps).toBe(12);
    expect(r).toEqual({
      steps: 12,
      trajectory: '739e5a12dd3db1668fa7d0d4ce58f53309ca70dc8194f89b1ab61ff12aa07e70',
      weights: '21ff2795c71d1f0edd7387b6c69a28618cc44e1f183f5c0152cfeb1e16f8c2c4',
    });
  });

  it('a fixed-seed Laplace run with a linear schedule writes the pinned trajectory and weights', async () => {
    const r = await pinnedRun('laplace', { directions: 3, mechanism: 'laplace', schedule: 'linear' });
    expect(r).toEqual({
      steps: 12,
      trajectory: 'de2dfe8fa1cd20f17519d7c7604026f43b3890d27f281d440760baa2082796bc',
      weights: 'a8dd414a90ae956a52c3ec2ae73c602f95cab2129c27ee010383534d54c5230e',
    });
  });
});
