// The trajectory of a fixed-seed run is pinned: seeds, batches and noise come from
// hooks (so nothing random is left), and the bytes of trajectory.jsonl plus the final
// weights are hashed. The hashes were recorded on the code before the run-directory
// refactor (issue 8): a refactor that changes the order of a step, the arithmetic of
// ĝ, the schedule or the line format changes them.
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
  it('a fixed-seed Gaussian run with a cosine schedule writes the same trajectory and weights as before the refactor', async () => {
    const r = await pinnedRun('gauss', { directions: 2, schedule: 'cosine', warmupSteps: 3 });
    expect(r.steps).toBe(12);
    expect(r).toEqual({
      steps: 12,
      trajectory: 'af2e1616e07ba908fcd49d4ddb164f74e0b296df32cfe33ad2ef8471e94a322f',
      weights: 'ec9e09d2d4dca34273a02bc5950c686e544ab730b5ea8550f4e8e7caec76dbc7',
    });
  });

  it('a fixed-seed Laplace run with a linear schedule writes the same trajectory and weights as before the refactor', async () => {
    const r = await pinnedRun('laplace', { directions: 3, mechanism: 'laplace', schedule: 'linear' });
    expect(r).toEqual({
      steps: 12,
      trajectory: '2ed2f3ebd573533355d09060cc958c6a22c4c91456d7089403ce731cd0641eab',
      weights: '750afe5b700c9cb17f72f86b776704ac283e395ac6b86147de2adf7e45c4f62c',
    });
  });
});
