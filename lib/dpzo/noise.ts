// defines: releaseNoise — ξ ∈ R^n from the OS CSPRNG (lib/privacy's secure
// samplers, never Philox or Math.random): N(0, (σC)²) or Laplace(b) per entry.
import { secureGaussian, secureLaplace } from '../privacy/secure-noise.js';
import type { Mechanism } from './accounting.js';

export function releaseNoise(mechanism: Mechanism, n: number, p: { noiseMultiplier?: number; laplaceScale?: number; clip: number }): Float64Array {
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) out[k] = mechanism === 'gaussian' ? secureGaussian(p.noiseMultiplier! * p.clip) : secureLaplace(p.laplaceScale!);
  return out;
}
