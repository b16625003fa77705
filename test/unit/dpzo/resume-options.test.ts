// Resuming a run with changed options must be refused or honoured, never silently mixed: here the
// trainable tensors (not part of the plan, and not in the weights hash, which covers every tensor).
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';

import { DPZOTrainer } from '../../../lib/dpzo/index.js';
import { readTrajectory } from '../../../lib/dpzo/trajectory.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { FakeModel, tokenDataset } from '../../helpers/fake-model.js';

const tmp = makeTempDir('dpzo-resume-options-');
afterAll(() => tmp.cleanup());

const train = tokenDataset(Array.from({ length: 20 }, (_, i) => 3 + (i % 40)));
const theta0 = [0.5, -0.25, 0.125, 1, -1, 0.75];
const base = { train, epsilon: 8, delta: 1e-5, accountant: 'rdp' as const, batchSize: 4, steps: 4, lr: 0.01, clip: 1, zoEps: 1e-2 };

/** The fake model with other trainable tensors: the same weights (the same hash), another set the seeds' directions span. */
class OtherTrainable extends FakeModel {
  override trainableNames() {
    return ['other'];
  }
}

describe('--resume with changed options', () => {
  it('refuses a model whose trainable tensors differ from the run’s (the replay would move other weights than were trained)', async () => {
    const runDir = join(tmp.dir, 'run-trainable');
    const first = new DPZOTrainer(new FakeModel(6, theta0), { ...base, runDir });
    const stop = new AbortController();
    await first.train({ signal: stop.signal, onStep: (s) => void (s.step === 1 && stop.abort()) });
    expect(readTrajectory(runDir).lines).toHaveLength(2);

    const other = new DPZOTrainer(new OtherTrainable(6, theta0), { ...base, runDir, resume: true });
    await expect(other.train()).rejects.toMatchObject({ code: 'ERR_RUN_MISMATCH', message: expect.stringMatching(/trainable/) });
    // nothing was released by the refused resume
    expect(readTrajectory(runDir).lines).toHaveLength(2);

    // the same trainable tensors resume as before
    const same = new DPZOTrainer(new FakeModel(6, theta0), { ...base, runDir, resume: true });
    const report = await same.train();
    expect(report.stopReason).toBe('completed');
    expect(readTrajectory(runDir).lines).toHaveLength(4);
  });
});
