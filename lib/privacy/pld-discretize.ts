// defines: DiscretePld, discretizePair — a privacy loss distribution on the grid {kΔ}, discretised pessimistically
// (its hockey-stick curve is >= the true one at every ε, so it stays a dominating pair under composition).

import { GridTooLargeError, PrivacyError } from './errors.js';
import type { LossPair } from './pld-pairs.js';

/** Masses `probs[j]` at loss (offset + j)·interval, plus a mass at +∞. Total mass is 1 (up to rounding and pessimistic slack). */
export interface DiscretePld {
  /** Grid spacing Δ of the privacy loss (nats). */
  readonly interval: number;
  /** Grid index of `probs[0]`: its loss is offset·Δ. */
  readonly offset: number;
  /** Probability masses at the grid points. */
  readonly probs: Float64Array;
  /** Mass at loss +∞ (counts fully towards δ at every ε). */
  readonly infinityMass: number;
}

/** Pessimistic discretisation of a PLD: `'connect-dots'` (Doroshenko et al. 2022, tighter) or `'round-up'` (each mass moved to the grid point above it). */
export type Discretization = 'connect-dots' | 'round-up';

/** How {@link discretizePair} discretises one dominating pair. */
export interface DiscretizeOptions {
  /** Grid spacing Δ of the loss values (dp_accounting's value_discretization_interval). */
  interval: number;
  /** 'connect-dots' (Doroshenko et al. 2022) or 'round-up' (every mass moved to the grid point above it). */
  discretization: Discretization;
  /** Loss mass beyond each truncation point (upper tail goes to +∞, lower tail to the lowest grid point). */
  tailMass: number;
  /** Largest number of grid points of one step. */
  maxPoints: number;
  /**
   * When set, a step needing more grid points than this keeps only the lowest `capPoints` and counts the losses above
   * the top one at +∞ (δ(l_m) there, as for the tail): still pessimistic, instead of refusing the grid. For the PLD
   * accountant's last resort (see composeHistory), where no grid can hold a step's whole loss range.
   */
  capPoints?: number;
}

/** Relative rounding error allowed for a difference of two computed tail masses (64 units in the last place). */
const ROUNDING = 64 * 2 ** -53;

/** The smallest l (within 1e-9) with above(l) <= tail, searched between the support bounds. */
function upperQuantile(above: (l: number) => number, lossMin: number, lossMax: number, tail: number): number {
  let hi = Number.isFinite(lossMax) ? lossMax : 1;
  while (!Number.isFinite(lossMax) && above(hi) > tail) hi *= 2;
  let lo = Number.isFinite(lossMin) ? lossMin : Math.min(hi - 1, -1);
  while (!Number.isFinite(lossMin) && above(lo) <= tail) lo *= 2;
  if (above(lo) <= tail) return lo;
  for (let it = 0; it < 200 && hi - lo > 1e-9 * Math.max(1, Math.abs(hi)); it++) {
    const mid = (lo + hi) / 2;
    if (above(mid) <= tail) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Discretises one dominating pair. Each grid cell (l_k, l_{k+1}] holding P-mass a and Q-mass b is replaced by masses at
 * its two ends: with 'connect-dots' the upper end gets w = (a − e^{l_k} b)/(1 − e^{−Δ}) so that the Q-mass is kept and the
 * hockey-stick curve, convex in e^ε, is replaced by its chord (an upper bound); with 'round-up' the upper end gets a.
 * Mass below the lowest point goes to it (round-up); above the highest point l_m, δ(l_m) goes to +∞ and the rest to l_m.
 */
export function discretizePair(pair: LossPair, opts: DiscretizeOptions): DiscretePld {
  const { interval, tailMass } = opts;
  const t = new Float64Array(4);
  const tail = (l: number, k: number) => {
    pair.tails(l, t);
    return t[k];
  };
  const lHi = upperQuantile((l) => tail(l, 0), pair.lossMin, pair.lossMax, tailMass);
  // lower quantile: the largest l with P(L <= l) <= tail, by symmetry of the search on −L
  const lLo = -upperQuantile((l) => tail(-l, 1), -pair.lossMax, -pair.lossMin, tailMass);
  const kLo = Math.floor(Math.min(lLo, lHi) / interval);
  let kHi = Math.max(kLo + 1, Math.ceil(lHi / interval));
  // the top point l_m may be anywhere: the mass above it is replaced by δ(l_m) at +∞ and the rest at l_m, whose hockey-stick
  // is exact up to l_m and δ(l_m) >= δ(ε) beyond, so a cap below the tail quantile only adds pessimism
  if (opts.capPoints !== undefined && kHi - kLo + 1 > opts.capPoints) kHi = kLo + Math.max(1, opts.capPoints - 1);
  const n = kHi - kLo + 1;
  if (n > opts.maxPoints) {
    throw new GridTooLargeError(`interval ${interval} needs ${n} grid points for one step (limit ${opts.maxPoints}); use a larger interval`, n, opts.maxPoints);
  }
  const pA = new Float64Array(n);
  const pB = new Float64Array(n);
  const qA = new Float64Array(n);
  const qB = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    pair.tails((kLo + j) * interval, t);
    pA[j] = t[0];
    pB[j] = t[1];
    qA[j] = t[2];
    qB[j] = t[3];
  }
  for (let j = 0; j < n; j++) {
    if (!(pA[j] >= 0 && pB[j] >= 0 && qA[j] >= 0 && qB[j] >= 0)) {
      throw new PrivacyError('ERR_INTERNAL', `privacy loss tails are not finite at loss ${(kLo + j) * interval} (a bug: refusing to account with them)`);
    }
  }
  // mass in (l_j, l_{j+1}] from whichever tail function is smaller there (no cancellation near 1); `op` is the operand
  // whose rounding error bounds the difference's
  const cell = (above: Float64Array, atMost: Float64Array, j: number): [number, number] =>
    above[j] < 0.5 ? [Math.max(0, above[j] - above[j + 1]), above[j]] : [Math.max(0, atMost[j + 1] - atMost[j]), atMost[j + 1]];
  // e^l·m in log space: e^l alone overflows for l > 709, the product is a mass-sized number
  const scaled = (l: number, m: number) => (m > 0 ? Math.exp(l + Math.log(m)) : 0);
  const probs = new Float64Array(n);
  probs[0] += pB[0];
  const shrink = -Math.expm1(-interval); // 1 − e^{−Δ}
  for (let j = 0; j + 1 < n; j++) {
    const [a, opA] = cell(pA, pB, j);
    if (a === 0) continue;
    if (opts.discretization === 'round-up') {
      probs[j + 1] += a;
      continue;
    }
    const lj = (kLo + j) * interval;
    const [b, opB] = cell(qA, qB, j);
    const c = a - scaled(lj, b); // E_P[1 − e^{l_j − L}; cell] >= 0
    // an under-estimated c would move too little mass up (not pessimistic): add a bound on its rounding error
    const w = Math.min(a, Math.max(0, (c + ROUNDING * (opA + scaled(lj, opB))) / shrink));
    probs[j + 1] += w;
    probs[j] += a - w;
  }
  const aTop = pA[n - 1];
  let infinityMass: number;
  if (opts.discretization === 'round-up') {
    infinityMass = aTop;
  } else {
    const lm = kHi * interval;
    const qTop = scaled(lm, qA[n - 1]);
    infinityMass = Math.min(aTop, Math.max(0, aTop - qTop + ROUNDING * (aTop + qTop))); // δ(l_m), rounded up
    probs[n - 1] += aTop - infinityMass;
  }
  for (let j = 0; j < n; j++) {
    if (!Number.isFinite(probs[j])) throw new PrivacyError('ERR_INTERNAL', `discretised privacy loss mass is not finite at loss ${(kLo + j) * interval}`);
  }
  if (!Number.isFinite(infinityMass)) throw new PrivacyError('ERR_INTERNAL', 'discretised mass at +∞ is not finite');
  return { interval, offset: kLo, probs, infinityMass };
}
