// Constant-time steps (issue 11.1): the batch is cut to a public number of slots uniformly and padded
// to slots of a public length, and the accounting follows the cut: the released sum's sensitivity is 2C
// whenever a cut is possible, C only when N is public and all examples of either neighbour fit (K > N).
import { describe, expect, it } from 'vitest';

import { cutBatch, padSlots } from '../../../lib/dpzo/constant-time.js';
import { DPZOTrainer, makePlan, type TrainOptions } from '../../../lib/dpzo/index.js';
import { planRelease, releaseSensitivity, stepRelease } from '../../../lib/dpzo/options.js';
import { releaseNoise } from '../../../lib/dpzo/noise.js';
import { epsilonOfSteps, releaseMechanism } from '../../../lib/privacy/index.js';
import { FakeModel, tokenDataset } from '../../helpers/fake-model.js';

const train = { ...tokenDataset(Array.from({ length: 100 }, (_, i) => 3 + (i % 40))), maxLength: 16 };
const base: TrainOptions = { train, epsilon: 4, delta: 1e-5, batchSize: 10, steps: 200, accountant: 'rdp', clip: 1.5 };

describe('cutBatch', () => {
  it('keeps a batch that fits and cuts a larger one to a uniform subset, in order', () => {
    expect(cutBatch([3, 9, 12], 5)).toEqual([3, 9, 12]);
    const counts = new Map<number, number>();
    const batch = [2, 4, 6, 8, 10, 12];
    const trials = 6000;
    for (let t = 0; t < trials; t++) {
      const c = cutBatch(batch, 2);
      expect(c).toHaveLength(2);
      expect(c[0]!).toBeLessThan(c[1]!);
      for (const i of c) counts.set(i, (counts.get(i) ?? 0) + 1);
    }
    // each index kept with probability 2/6: 2000 expected, binomial sd ≈ 36.5. At 6 sd a correct cut fails with
    // P ≈ 6 × 2e-9 (5 sd, as before, gave 6 × 5.7e-7 ≈ 3.4e-6); a Fisher–Yates off by one (j < length − 1)
    // moved a count by 379 (10 sd) when tried
    for (const i of batch) expect(Math.abs(counts.get(i)! - trials / 3)).toBeLessThan(6 * 36.5);
  });
});

describe('padSlots', () => {
  it('pads every example to the slot length without targets and fills dummy slots', () => {
    const slots = padSlots([{ inputIds: Int32Array.from([1, 7, 8]) }, { inputIds: Int32Array.from([1, 5]), labels: Int32Array.from([-100, 5]) }], 4, 6);
    expect(slots).toHaveLength(4);
    for (const s of slots) expect(s.inputIds).toHaveLength(6);
    expect(Array.from(slots[0]!.labels!)).toEqual([-100, 7, 8, -100, -100, -100]);
    expect(Array.from(slots[1]!.labels!)).toEqual([-100, 5, -100, -100, -100, -100]);
    expect(Array.from(slots[3]!.labels!).every((l) => l === -100)).toBe(true);
    expect(() => padSlots([{ inputIds: new Int32Array(7) }], 2, 6)).toThrow(RangeError);
  });
});

describe('the plan of a constant-time run', () => {
  it('accounts the cut: sensitivity 2C with a private N, the noise std σ·2C, Laplace calibrated to 2C', () => {
    const plain = makePlan({ ...base, sampleRate: 0.1 });
    const ct = makePlan({ ...base, sampleRate: 0.1, constantTimeSteps: 20 });
    expect(ct.constantTime).toEqual({ slots: 20, length: 16 });
    expect(releaseSensitivity(plain)).toBe(1.5);
    expect(releaseSensitivity(ct)).toBe(3);
    // σ is relative to the sensitivity: the same budget gives the same σ, and twice the noise
    expect(ct.noiseMultiplier).toBe(plain.noiseMultiplier);
    const xi = releaseNoise(20000, ct);
    const sd = Math.sqrt(xi.reduce((s, x) => s + x * x, 0) / xi.length);
    expect(sd / (ct.noiseMultiplier! * 3)).toBeGreaterThan(0.97);
    expect(sd / (ct.noiseMultiplier! * 3)).toBeLessThan(1.03);
    const lp = makePlan({ ...base, sampleRate: 0.1, mechanism: 'laplace' });
    const lct = makePlan({ ...base, sampleRate: 0.1, mechanism: 'laplace', constantTimeSteps: 20 });
    expect(lct.laplaceScale! / lp.laplaceScale!).toBeCloseTo(2, 6);
    expect(planRelease(lct)).toMatchObject({ kind: 'laplace', clip: 3 });
  });

  it('keeps sensitivity C when N is public and every example of either neighbour fits in the slots (K > N)', () => {
    expect(releaseSensitivity(makePlan({ ...base, constantTimeSteps: 101 }))).toBe(1.5);
    expect(releaseSensitivity(makePlan({ ...base, constantTimeSteps: 99 }))).toBe(3);
  });

  it('accounts 2C at K = N: the added neighbour (N + 1 examples) can be cut, at q = 1 always', () => {
    // K = N was taken as "every example fits" (Δ = C), but add/remove adjacency compares D with D ∪ {x}: at q = 1 the
    // latter's batch of N + 1 is always cut to N, a uniformly dropped example, so the released sums differ by up to 2C
    const full = makePlan({ ...base, batchSize: 100, constantTimeSteps: 100, steps: 5, epsilon: 50 });
    expect(full.sampleRate).toBe(1);
    expect(releaseSensitivity(full)).toBe(3);
    const neighbour = Array.from({ length: 101 }, (_, i) => i);
    expect(cutBatch(neighbour, full.constantTime!.slots)).toHaveLength(100);
    expect(releaseSensitivity(makePlan({ ...base, constantTimeSteps: 100 }))).toBe(3);
  });

  it('needs the public maximum length of the data', () => {
    const { maxLength: _, ...noLength } = train;
    expect(() => makePlan({ ...base, train: noLength, constantTimeSteps: 20 })).toThrow(
      expect.objectContaining({ code: 'ERR_TRAIN_OPTION', message: expect.stringMatching(/^constantTimeSteps /) }),
    );
  });
});

describe('the ledger of a constant-time run', () => {
  for (const mechanism of ['laplace', 'gaussian'] as const) {
    it(`records each release at the sensitivity its noise was calibrated to (${mechanism}), so its ε is the mechanism's`, async () => {
      const opts: TrainOptions = { ...base, mechanism, sampleRate: 0.1, steps: 5, constantTimeSteps: 20 };
      const trainer = new DPZOTrainer(new FakeModel(6), opts);
      const plan = trainer.plan();
      expect(releaseSensitivity(plan)).toBe(3);
      // the ledger line read back as the accountant sees it is the mechanism that ran (a Laplace line used to say C: ε0 = C/b, half the true 2C/b)
      expect(releaseMechanism(stepRelease(plan, 0) as Parameters<typeof releaseMechanism>[0])).toEqual(planRelease(plan));
      const report = await trainer.train();
      expect(report.steps).toBe(5);
      // ε from the run's ledger = ε of the 5 releases as calibrated (it was about a third of it for Laplace)
      expect(report.epsilon.rdp).toBeCloseTo(epsilonOfSteps(planRelease(plan), 5, base.delta, 'rdp'), 9);
      expect(report.epsilon.rdp).toBeCloseTo(plan.predictedEpsilon, 9);
    });
  }
});
