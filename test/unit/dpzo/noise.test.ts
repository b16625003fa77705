// The released scalars carry noise of the right scale: many empty-batch steps
// (ĝ·qN = ξ exactly), binned χ² goodness of fit against N(0, (σC)²) and Laplace(b).
import { describe, expect, it } from 'vitest';

import { installTestHooks } from '../../../lib/dpzo/hooks.js';
import { DPZOTrainer } from '../../../lib/dpzo/index.js';
import { normCdf } from '../../../lib/privacy/special.js';
import { FakeModel, tokenDataset } from '../../helpers/fake-model.js';

function chi2(samples: number[], cdf: (x: number) => number, bins: number): number {
  const counts = new Array(bins).fill(0);
  for (const x of samples) counts[Math.min(bins - 1, Math.floor(cdf(x) * bins))]++;
  const exp = samples.length / bins;
  return counts.reduce((s, c) => s + (c - exp) ** 2 / exp, 0);
}

async function releasedNoise(mechanism: 'gaussian' | 'laplace', steps: number, directions: number): Promise<{ xi: number[]; scale: number }> {
  const N = 10;
  const q = 0.2;
  const clip = 0.7;
  const model = new FakeModel(2);
  const trainer = new DPZOTrainer(model, {
    train: tokenDataset(Array.from({ length: N }, (_, i) => i + 3)),
    epsilon: 1e4,
    delta: 1e-5,
    accountant: 'rdp',
    mechanism,
    ...(mechanism === 'gaussian' ? { noiseMultiplier: 1.7 } : { laplaceScale: 2.3 }),
    batchSize: q * N,
    steps,
    lr: 0,
    clip,
    directions,
  });
  // empty batches only: the real CSPRNG noise is the whole release
  installTestHooks(trainer, { batch: () => [] });
  const xi: number[] = [];
  await trainer.train({ onStep: (s) => void s.gHat.forEach((g) => xi.push(g * q * N)) });
  return { xi, scale: mechanism === 'gaussian' ? 1.7 * clip : 2.3 };
}

// df = 19: P(χ² > 69.8) = 1e-7, the chance that correct noise fails (it was 43.8, P = 0.001: a CI run in 1,000 failed).
const CHI2_LIMIT = 69.8;
// 10,000 samples keep the test sharp at that limit: against 1.2× the scale the χ² is noncentral with λ ≈ 479
// (Gaussian) or 272 (Laplace), so P(χ² < 69.8) < 1e-18 and a wrong scale fails every run (at 3,000 samples, the
// old size, the Laplace check passed a wrong scale by chance with P ≈ 0.04 at this limit).
const SAMPLES = 10_000;

describe('release noise', () => {
  it('is N(0, (σC)²) (χ², 20 bins)', async () => {
    const { xi, scale } = await releasedNoise('gaussian', SAMPLES / 4, 4);
    expect(xi).toHaveLength(SAMPLES);
    expect(chi2(xi, (x) => normCdf(x / scale), 20)).toBeLessThan(CHI2_LIMIT);
    // and not a wrong scale: the same samples against 1.2× the scale fail
    expect(chi2(xi, (x) => normCdf(x / (1.2 * scale)), 20)).toBeGreaterThan(CHI2_LIMIT);
  });
  it('is Laplace(b) (χ², 20 bins)', async () => {
    const { xi, scale } = await releasedNoise('laplace', SAMPLES / 4, 4);
    expect(xi).toHaveLength(SAMPLES);
    const cdf = (x: number) => (x < 0 ? 0.5 * Math.exp(x / scale) : 1 - 0.5 * Math.exp(-x / scale));
    expect(chi2(xi, cdf, 20)).toBeLessThan(CHI2_LIMIT);
    const wrong = (x: number) => (x < 0 ? 0.5 * Math.exp(x / (1.2 * scale)) : 1 - 0.5 * Math.exp(-x / (1.2 * scale)));
    expect(chi2(xi, wrong, 20)).toBeGreaterThan(CHI2_LIMIT);
  });
});
