// defines: rdpSubsampledGaussian, computeRdpGaussian, epsilonFromRdp, deltaFromRdp — Rényi DP of the
// Poisson-subsampled Gaussian (Mironov, Talwar, Zhang 2019, arXiv 1908.10530) and its (ε, δ) conversions.

import { checkDelta, checkEpsilon, checkNonNegative, checkNumber, checkOrders, checkSampleRate, checkSteps, argumentError } from './errors.js';
import { logAddExp, logErfc } from './special.js';

/**
 * RDP → (ε, δ) conversion: `'improved'` (Balle et al. 2020, Thm. 21, as Opacus and dp_accounting) or `'classic'`
 * (Mironov 2017, Prop. 3: ε = RDP(α) + log(1/δ)/(α − 1)).
 */
export type RdpConversion = 'improved' | 'classic';

/** log A_α for integer α: A_α = Σ_i C(α,i) q^i (1−q)^{α−i} e^{(i²−i)/(2σ²)} (MTZ 2019, §3.3, exact for integer α). */
function logAInteger(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const inv2s2 = 1 / (2 * sigma * sigma);
  let logA = -Infinity;
  let logBinom = 0; // log C(α, 0)
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinom += Math.log((alpha - i + 1) / i);
    const s = logBinom + i * logQ + (alpha - i) * log1mQ + (i * i - i) * inv2s2;
    logA = logAddExp(logA, s);
  }
  return logA;
}

/**
 * log A_α for fractional α by the signed series of MTZ 2019 §3.3 (as Opacus `_compute_log_a_frac`):
 * A_α = Σ_i C(α,i) [q^i (1−q)^{α−i} e^{(i²−i)/2σ²} erfc((i−z0)/√2σ)/2 + q^{α−i} (1−q)^i e^{(j²−j)/2σ²} erfc((z0−j)/√2σ)/2],
 * j = α − i, z0 = σ² log(1/q − 1) + 1/2. C(α,i) changes sign for i > α + 1; the negative terms are kept (not |·|).
 */
function logAFractional(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const s2 = sigma * sigma;
  const z0 = s2 * Math.log(1 / q - 1) + 0.5;
  const rt2s = Math.SQRT2 * sigma;
  let logPos = -Infinity;
  let logNeg = -Infinity;
  let logAbsCoef = 0; // log |C(α, 0)|
  let sign = 1;
  for (let i = 0; i < 10_000_000; i++) {
    if (i > 0) {
      const f = (alpha - i + 1) / i;
      if (f < 0) sign = -sign;
      logAbsCoef += Math.log(Math.abs(f));
    }
    const j = alpha - i;
    const logT0 = logAbsCoef + i * logQ + j * log1mQ;
    const logT1 = logAbsCoef + j * logQ + i * log1mQ;
    const logE0 = Math.log(0.5) + logErfc((i - z0) / rt2s);
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / rt2s);
    const logS0 = logT0 + (i * i - i) / (2 * s2) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * s2) + logE1;
    const term = logAddExp(logS0, logS1);
    if (sign > 0) logPos = logAddExp(logPos, term);
    else logNeg = logAddExp(logNeg, term);
    // Opacus stops once both terms fall below e^-30 (A_α >= 1, so this is a relative bound); we go to e^-36 and,
    // past the positive terms, add the last term's magnitude once more: the tail alternates, so the sum stays an upper bound.
    if (i > alpha + 1 && Math.max(logS0, logS1) < -36) {
      logPos = logAddExp(logPos, term);
      break;
    }
  }
  if (logNeg >= logPos) throw new RangeError(`RDP series lost positivity at alpha=${alpha}, q=${q}, sigma=${sigma}`);
  return logNeg === -Infinity ? logPos : logPos + Math.log1p(-Math.exp(logNeg - logPos));
}

/**
 * RDP ε(α) of one step of the Poisson-subsampled Gaussian mechanism with sampling rate q and noise
 * multiplier σ (noise std / L2 sensitivity), under add/remove adjacency (MTZ 2019, Thm. 11 and §3.3).
 */
export function rdpSubsampledGaussian(sampleRate: number, noiseMultiplier: number, alpha: number): number {
  const q = checkSampleRate(sampleRate, true);
  const sigma = checkNonNegative('noiseMultiplier', noiseMultiplier);
  const a = checkNumber('order', alpha);
  if (!(a > 1)) throw argumentError('order', alpha, 'a Rényi order > 1');
  if (q === 0) return 0;
  if (sigma === 0) return Infinity;
  if (q === 1) return a / (2 * sigma * sigma); // the plain Gaussian mechanism, Mironov 2017 Prop. 7
  if (a === Infinity) return Infinity;
  const logA = Number.isInteger(a) ? logAInteger(q, sigma, a) : logAFractional(q, sigma, a);
  // A_α >= 1 (a Rényi divergence is >= 0); at q ≈ 1e-300 or σ ≈ 1e300 the sum rounds to a hair below 1,
  // and a negative RDP would be refused downstream as an internal rdp[k] error the user never typed
  return Math.max(0, logA) / (a - 1);
}

/** RDP of `steps` compositions of the subsampled Gaussian at each order (RDP composes additively, Mironov 2017 Prop. 1). */
export function computeRdpGaussian(sampleRate: number, noiseMultiplier: number, steps: number, orders: ArrayLike<number>): Float64Array {
  const q = checkSampleRate(sampleRate, true);
  const sigma = checkNonNegative('noiseMultiplier', noiseMultiplier);
  const t = checkSteps(steps);
  const ord = checkOrders(orders);
  const out = new Float64Array(ord.length);
  for (let k = 0; k < ord.length; k++) {
    const r = rdpSubsampledGaussian(q, sigma, ord[k]);
    out[k] = t === 0 ? 0 : r * t;
  }
  return out;
}

/** The result of {@link epsilonFromRdp}. */
export interface RdpEpsilon {
  /** ε at the target δ: the minimum over the orders, at least 0. */
  epsilon: number;
  /** The order at which the minimum is reached (NaN when every order gives ∞). */
  order: number;
}

/** ε at one order for a target δ. */
export function epsilonAtOrder(rdp: number, alpha: number, delta: number, conversion: RdpConversion): number {
  if (rdp === Infinity || alpha === Infinity) return rdp === Infinity ? Infinity : rdp;
  if (conversion === 'classic') return rdp - Math.log(delta) / (alpha - 1); // Mironov 2017, Prop. 3
  // Balle et al. 2020 Thm. 21 (as Opacus get_privacy_spent and dp_accounting compute_epsilon)
  return rdp - (Math.log(delta) + Math.log(alpha)) / (alpha - 1) + Math.log((alpha - 1) / alpha);
}

/** (ε, δ) from an RDP curve: ε = min over orders; clamped at 0. */
export function epsilonFromRdp(orders: ArrayLike<number>, rdp: ArrayLike<number>, delta: number, conversion: RdpConversion = 'improved'): RdpEpsilon {
  const d = checkDelta(delta);
  if (orders.length !== rdp.length) throw argumentError('rdp', `length ${rdp.length}`, `the length of orders (${orders.length})`);
  let best = Infinity;
  let order = NaN;
  for (let k = 0; k < orders.length; k++) {
    const r = rdp[k];
    if (Number.isNaN(r) || r < 0) throw argumentError(`rdp[${k}]`, r, 'a number >= 0');
    const e = epsilonAtOrder(r, orders[k], d, conversion);
    if (e < best) {
      best = e;
      order = orders[k];
    }
  }
  return { epsilon: Math.max(0, best), order };
}

/** The result of {@link deltaFromRdp}. */
export interface RdpDelta {
  /** δ at the target ε: the minimum over the orders, at most 1. */
  delta: number;
  /** The order at which the minimum is reached (NaN when no order gives δ below 1). */
  order: number;
}

/** δ for a target ε from an RDP curve: the inverse of the conversion at each order, min over orders (as dp_accounting compute_delta). */
export function deltaFromRdp(orders: ArrayLike<number>, rdp: ArrayLike<number>, epsilon: number, conversion: RdpConversion = 'improved'): RdpDelta {
  const eps = checkEpsilon(epsilon);
  if (orders.length !== rdp.length) throw argumentError('rdp', `length ${rdp.length}`, `the length of orders (${orders.length})`);
  let bestLog = 0; // δ <= 1 always
  let order = NaN;
  for (let k = 0; k < orders.length; k++) {
    const a = orders[k];
    const r = rdp[k];
    if (Number.isNaN(r) || r < 0) throw argumentError(`rdp[${k}]`, r, 'a number >= 0');
    if (r === Infinity || a === Infinity) continue;
    // δ <= sqrt(1 − e^{−KL}) with KL <= D_α (Bretagnolle–Huber bound on total variation, as dp_accounting)
    let logDelta = r === 0 ? -Infinity : 0.5 * Math.log(-Math.expm1(-r));
    const bound = conversion === 'classic' ? (a - 1) * (r - eps) : (a - 1) * (r - eps + Math.log1p(-1 / a)) - Math.log(a);
    if (a > 1.01 || conversion === 'classic') logDelta = Math.min(logDelta, bound);
    if (logDelta < bestLog) {
      bestLog = logDelta;
      order = a;
    }
  }
  return { delta: Math.exp(bestLog), order };
}
