// The configuration the audit trains is the one `train` would plan: epochs become the same number of steps (2.1
// epochs of N = 10 at B = 7 are 3 steps, as makePlan counts them; the audit took ceil(2.1/0.7) and 2.1/0.7 is
// 3.0000000000000004 in doubles, so it audited, and claimed the ε of, a run of 4 steps), and epochs with a fixed
// sampling rate are refused as train refuses them (they need N, which a fixed rate keeps private), where the audit
// converted them.
import { describe, expect, it } from 'vitest';

import { makePlan } from '../../../lib/dpzo/index.js';
import { runAudit } from '../../../lib/audit/runs.js';
import { FakeModel, tokenDataset } from '../../helpers/fake-model.js';

const data = (n: number) => tokenDataset(Array.from({ length: n }, (_, i) => 3 + (i % 50)));
const base = { train: data(10), epsilon: 8, delta: 1e-5, accountant: 'rdp' as const, batchSize: 7, lr: 0.01, clip: 1, zoEps: 1e-2 };

describe('the audited plan', () => {
  it('one-run: epochs give the steps train plans (2.1 epochs at B/N = 7/10: 3 steps, not 4)', async () => {
    for (const [n, batchSize, epochs, steps] of [
      [10, 7, 2.1, 3],
      [30, 11, 1.1, 3],
      [10, 5, 0.3, 1],
    ] as const) {
      const o = { ...base, train: data(n), batchSize, epochs };
      expect(makePlan(o).steps).toBe(steps);
      const r = await runAudit({ setting: 'one-run', train: o, loadModel: async () => new FakeModel(4), canaries: 2 });
      expect(r.plan.sampleRate).toBe(batchSize / n);
      expect(r.plan.steps, `${epochs} epochs of ${n} at B = ${batchSize}`).toBe(steps);
    }
  });

  it('epochs with a fixed sampling rate are refused, as train refuses them', async () => {
    const o = { ...base, sampleRate: 0.1, epochs: 2 };
    expect(() => makePlan(o)).toThrow(/epochs/);
    await expect(runAudit({ setting: 'one-run', train: o, loadModel: async () => new FakeModel(4), canaries: 2 })).rejects.toThrow(/epochs/);
  });
});
