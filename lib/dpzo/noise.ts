// defines: releaseNoise — ξ ∈ R^n from the OS CSPRNG (lib/privacy's secure
// samplers, never Philox or Math.random): N(0, (σC)²) or Laplace(b) per entry.
import { gaussianNoise, laplaceNoise } from '../privacy/index.js';
import type { MechanismKind as Mechanism } from './options.js';

export function releaseNoise(mechanism: Mechanism, n: number, p: { noiseMultiplier?: number; laplaceScale?: number; clip: number }): Float64Array {
  return mechanism === 'gaussian' ? gaussianNoise(n, p.noiseMultiplier! * p.clip) : laplaceNoise(n, p.laplaceScale!);
}
