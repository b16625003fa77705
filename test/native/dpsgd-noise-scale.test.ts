// The noise a DP-SGD run releases, end to end through the trainer (not privateGradient alone): on an
// empty Poisson batch ĝ is the noise alone, ξ/B with ξ ~ N(0, (σC)²) per coordinate from the CSPRNG,
// where σ and C are the plan's and B is the EXPECTED batch q·N (Opacus' expected_batch_size), or the
// public divisor given with a fixed sampling rate. ‖ĝ‖ over P coordinates is then √P·σC/B up to a
// relative spread of about 1/√(2P) (0.9% here): a noise of σ instead of σC, a divisor of the realized
// batch (0 here) or of q alone is far outside the tolerance.
import { afterAll, describe, expect, it } from 'vitest';

import { parseRunConfig } from '../../lib/dpzo/config.js';
import { installTestHooks } from '../../lib/dpzo/hooks.js';
import { prepareRun } from '../../lib/dpzo/session.js';
import { makeTempDir } from '../helpers/checkpoints.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../helpers/tiny.js';

const tmp = makeTempDir('dpzo-dpsgd-noise-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model, 5);
writeCyclesJsonl(p.train, 120, 1);

const base = { model: p.model, data: p.train, task: 'tokens' as const, delta: 1e-5, epsilon: 1e4, threads: 1, method: 'dpsgd' as const, steps: 3 };

/** ‖ĝ‖ of each step of a run whose batches are all empty (the noise itself is the CSPRNG's: no noise hook). */
async function noiseNorms(cfg: Record<string, unknown>): Promise<{ norms: number[]; P: number; sigma: number; clip: number; divisor: number }> {
  const r = await prepareRun(parseRunConfig({ ...base, ...cfg }, 'test'));
  try {
    installTestHooks(r.trainer, { batch: () => [] });
    const norms: number[] = [];
    const report = await r.trainer.train({ onStep: (s) => void norms.push(s.gHatNorm!) });
    const plan = report.plan;
    const divisor = plan.datasetSize === undefined ? plan.expectedBatch : plan.sampleRate * plan.datasetSize;
    return { norms, P: r.model.numTrainable, sigma: plan.noiseMultiplier!, clip: plan.clip, divisor };
  } finally {
    r.model.dispose();
  }
}

/** Every norm within 5% of `expected` (more than 5 standard deviations of the norm's spread). */
function expectNear(norms: number[], expected: number): void {
  for (const n of norms) expect(Math.abs(n / expected - 1), `‖ĝ‖ ${n} against ${expected}`).toBeLessThan(0.05);
}

describe('DP-SGD noise scale, through the trainer', () => {
  it('q = B/N: ‖ĝ‖ = √P·σC/(q·N) on an empty batch, with σ and C the plan’s', async () => {
    const r = await noiseNorms({ batchSize: 10, clip: 0.3, noiseMultiplier: 2 });
    expect(r).toMatchObject({ sigma: 2, clip: 0.3, divisor: 10 });
    expect(r.norms).toHaveLength(3);
    const expected = (Math.sqrt(r.P) * r.sigma * r.clip) / r.divisor;
    expectNear(r.norms, expected);
  });

  it('a fixed sampling rate: the divisor is the public B, not q·N nor the realized batch', async () => {
    const r = await noiseNorms({ batchSize: 7, sampleRate: 0.05, clip: 2, noiseMultiplier: 1.5 });
    expect(r).toMatchObject({ sigma: 1.5, clip: 2, divisor: 7 });
    const expected = (Math.sqrt(r.P) * r.sigma * r.clip) / 7;
    expectNear(r.norms, expected);
  });

  it('a calibrated σ (no --noise-multiplier) is the one the noise is drawn with', async () => {
    const r = await noiseNorms({ batchSize: 12, clip: 0.5, epsilon: 2 });
    expect(r.sigma).toBeGreaterThan(0.3);
    const expected = (Math.sqrt(r.P) * r.sigma * r.clip) / 12;
    expectNear(r.norms, expected);
  });
});
