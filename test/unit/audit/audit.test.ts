// The audit on the demo model (data/models/byte-llama, through the native core):
// it can fail (the noise removed by the trainer's test hook, or cut to an eighth,
// makes the lower bound exceed the claimed ε), it passes with the noise in place at
// ε ∈ {1, 4, 8} while still proving something (the bound is not vacuous), and every
// run goes through DPZOTrainer.train.
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { Dataset } from '../../../lib/data/tasks.js';
import { DPZOTrainer, type TrainOptions, type TrainReport } from '../../../lib/dpzo/index.js';
import { gaussianNoise, loadModel } from '../../../lib/index.js';
import { auditResult } from '../../../lib/audit/report.js';
import { type AuditInput, runAudit } from '../../../lib/audit/runs.js';
import { ROOT } from '../../helpers/cli.js';

afterEach(() => vi.restoreAllMocks());
// the model `npm run demo` trains (the issue asks the audit to hold on it)
const dir = join(ROOT, 'data', 'models', 'byte-llama');

const example = (len: number, start: number) => ({ inputIds: Int32Array.from({ length: len }, (_, j) => 1 + ((start + j) % 4)) });
const train: Dataset = { task: { kind: 'tokens' }, source: '', examples: Array.from({ length: 6 }, (_, i) => example(6, i)), generative: false };

function input(epsilon: number, o: Partial<AuditInput> = {}, t: Partial<TrainOptions> = {}): AuditInput {
  return {
    setting: 'gradient-canary',
    train: { train, epsilon, delta: 1e-5, batchSize: 6, steps: 1, lr: 1e-3, ...t },
    loadModel: () => loadModel(dir, { threads: 1 }),
    canaries: 128,
    runs: 8,
    ...o,
  };
}

const noNoise = { noise: (_t: number, n: number) => new Float64Array(n) };

describe('audit: it can fail', () => {
  it('gradient-canary: with the noise removed the lower bound exceeds the claimed ε (violated)', async () => {
    const r = auditResult(await runAudit(input(2, { runs: 4 }), noNoise));
    expect(r.claimedEpsilon).toBeCloseTo(2, 1);
    expect(r.epsilonLowerBound).toBeGreaterThan(r.claimedEpsilon);
    expect(r.verdict).toBe('violated');
    if (r.test.kind !== 'threshold') throw new Error('expected the threshold test');
    expect(r.test.falsePositives + r.test.falseNegatives).toBe(0);
  });

  it('one-run: with the noise removed every guess is right and the bound exceeds the claimed ε', async () => {
    const r = auditResult(await runAudit(input(1, { setting: 'one-run', runs: 1, canaries: 256 }), noNoise));
    expect(r.epsilonLowerBound).toBeGreaterThan(r.claimedEpsilon);
    expect(r.verdict).toBe('violated');
  });

  it('a noise an eighth of the calibrated σ (a sensitivity off by 8) is caught at ε = 1', async () => {
    // the calibrated σ of this configuration, from a small audit of it
    const sigma = (await runAudit(input(1, { runs: 1, canaries: 2 }))).plan.noiseMultiplier!;
    // 16 runs: the bound the noise σ/8 gives is 3.1 ± 0.33 (simulated, 200 audits), so it misses ε = 1 with
    // P ≈ 1e-10 (6.5 sd); with 8 runs it was 2.7 ± 0.34, 5 sd, P ≈ 3e-7
    const bad = auditResult(await runAudit(input(1, { runs: 16 }), { noise: (_t, n) => gaussianNoise(n, sigma / 8) /* C = 1 */ }));
    expect(bad.noiseMultiplier).toBe(sigma);
    expect(bad.epsilonLowerBound).toBeGreaterThan(1);
    expect(bad.verdict).toBe('violated');
  });
});

describe('audit: with the noise in place', () => {
  // The bound exceeds the true ε with probability at most 1 − confidence, so at the default 0.95 a correct trainer
  // could fail this up to 1 run in 20. At ε = 1 the test runs at confidence 1 − 1e-7, a proven bound on the chance
  // that it fails a correct trainer; it can still fail: with the noise removed the bound is 3.2 at that confidence.
  // At ε = 4 it stays at 0.95, where it can fail (with the noise removed: 4.7): the bound there is 0.9 ± 0.33
  // (simulated, 200 audits, the largest 1.9), 9 sd below 4. ε = 8 is not here: no outcome of this audit's 1,024
  // trials proves more than 4.8 (all of them separated), so "stays below 8" could never fail; at ε = 8 the test
  // below checks the calibration and that the bound proves something.
  for (const [epsilon, confidence] of [
    [1, 1 - 1e-7],
    [4, 0.95],
  ] as const) {
    it(`gradient-canary stays below the claimed ε = ${epsilon}`, async () => {
      const r = auditResult(await runAudit(input(epsilon, { confidence })));
      expect(r.claimedEpsilon).toBeLessThanOrEqual(epsilon);
      expect(r.claimedEpsilon).toBeGreaterThan(epsilon * 0.95);
      expect(r.epsilonLowerBound).toBeLessThan(r.claimedEpsilon);
      expect(r.verdict).toBe('consistent');
      expect(r.trials).toBe(8 * 128);
    });
  }

  it('at ε = 8 the plan is calibrated and the bound is not vacuous: the canaries prove ε > 0.5', async () => {
    // simulated (500 audits): 2.46 ± 0.30, the smallest 1.56; at 0.5 it is 6.5 sd out, P ≈ 1e-10
    const r = auditResult(await runAudit(input(8, { canaries: 256 })));
    expect(r.claimedEpsilon).toBeLessThanOrEqual(8);
    expect(r.claimedEpsilon).toBeGreaterThan(8 * 0.95);
    expect(r.trials).toBe(8 * 256);
    expect(r.epsilonLowerBound).toBeGreaterThan(0.5);
    expect(r.verdict).toBe('consistent');
  });

  it('one-run stays below the claimed ε = 1 (several steps, q < 1)', async () => {
    // It can fail: with the noise removed this configuration proves 2.1–2.3. With the noise in place, 20 audits gave
    // 0.013 ± 0.041 (the largest 0.16); reaching 1 takes about 205 of 256 guesses right where they are near half.
    // (At ε = 4, as before, it could not fail: 256 canaries prove at most 3.9 even with every guess right.)
    const r = auditResult(await runAudit(input(1, { setting: 'one-run', runs: 1, canaries: 256 }, { steps: 4, sampleRate: 0.5, batchSize: 40 })));
    expect(r.sampleRate).toBe(0.5);
    expect(r.steps).toBe(4);
    expect(r.epsilonLowerBound).toBeLessThan(r.claimedEpsilon);
    expect(r.verdict).toBe('consistent');
  });
});

describe('audit: the trainer as shipped', () => {
  it('every run is a DPZOTrainer.train call whose released ĝ the adversary scores', async () => {
    const spy = vi.spyOn(DPZOTrainer.prototype, 'train');
    const r = await runAudit(input(4, { runs: 3, canaries: 16 }));
    expect(spy).toHaveBeenCalledTimes(3);
    expect(r.trainerRuns).toBe(3);
    for (const call of spy.mock.results) {
      const report = (await call.value) as TrainReport;
      // the trainer's own ledger holds the releases, and the run is marked a test run (hooks installed)
      expect(report.steps).toBe(1);
      expect(report.private).toBe(false);
      expect(report.epsilon.pld).toBeCloseTo(r.claimedEpsilon, 12);
    }
    // and the options a run trained with: the calibrated σ, one direction per canary, the canaries in the data
    const trainers = spy.mock.contexts as DPZOTrainer[];
    for (const t of trainers) {
      expect(t.options.noiseMultiplier).toBe(r.plan.noiseMultiplier);
      expect(t.options.directions).toBe(16);
      expect(t.options.train.examples.length).toBeGreaterThanOrEqual(train.examples.length);
    }
  });

  it('bad options are refused before any run', async () => {
    const spy = vi.spyOn(DPZOTrainer.prototype, 'train');
    await expect(runAudit(input(4, { canaries: 0 }))).rejects.toThrow(/canaries must be a positive integer/);
    await expect(runAudit(input(4, { setting: 'one-run', runs: 3 }))).rejects.toThrow(/one-run setting trains once/);
    await expect(runAudit(input(4, { confidence: 1 }))).rejects.toThrow(/confidence/);
    // the canaries are DP-ZO's: a DP-SGD configuration was refused for 'directions', an option it was never given
    await expect(runAudit(input(4, {}, { method: 'dpsgd' }))).rejects.toThrow(/^method dpsgd cannot be audited/);
    expect(spy).not.toHaveBeenCalled();
  });
});
