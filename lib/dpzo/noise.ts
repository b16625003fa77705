// defines: releaseNoise — ξ ∈ R^n from the OS CSPRNG (lib/privacy's secure
// samplers, never Philox or Math.random): N(0, (σΔ)²) or Laplace(b) per entry, Δ the
// sum's sensitivity (C, or 2C with constant-time steps that may cut a batch).
import { gaussianNoise, laplaceNoise } from '../privacy/index.js';
import { type TrainPlan, releaseSensitivity } from './options.js';

export function releaseNoise(
  n: number,
  p: Pick<TrainPlan, 'mechanism' | 'noiseMultiplier' | 'laplaceScale' | 'clip' | 'constantTime' | 'datasetSize'>,
): Float64Array {
  // the non-private baseline releases the exact sum
  if (p.mechanism === 'none') return new Float64Array(n);
  return p.mechanism === 'gaussian' ? gaussianNoise(n, p.noiseMultiplier! * releaseSensitivity(p)) : laplaceNoise(n, p.laplaceScale!);
}
