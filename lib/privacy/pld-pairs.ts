// defines: LossPair, gaussianPair, laplacePair, hockeyStick — dominating pairs (P, Q) of the (subsampled) Gaussian
// and Laplace mechanisms, described by the distribution of the privacy loss L = log(P/Q)(X) under P and under Q.

import { erfc, laplaceCdf, laplaceSf, log1pQExpm1 } from './special.js';

/** Direction of add/remove adjacency: the dataset loses an example (`'remove'`) or gains one (`'add'`); their PLDs differ under sampling. */
export type Adjacency = 'remove' | 'add';

/**
 * A dominating pair seen through its privacy loss L = log(P/Q)(X). `tails(l, out)` writes
 * [P(L > l), P(L <= l), Q(L > l), Q(L <= l)], each tail computed directly so that neither loses digits near 1.
 */
export interface LossPair {
  /** Bounds of the support of L (may be ±Infinity). */
  readonly lossMin: number;
  /** Upper bound of the support of L (may be Infinity). */
  readonly lossMax: number;
  /** Writes [P(L > l), P(L ≤ l), Q(L > l), Q(L ≤ l)] into `out[0..3]`. */
  tails(l: number, out: Float64Array): void;
}

/** [Φ(x), Φ(−x)] from one erfc evaluation. */
function normTails(x: number, out: Float64Array, k: number): void {
  if (x === Infinity || x === -Infinity) {
    out[k] = x > 0 ? 1 : 0;
    out[k + 1] = x > 0 ? 0 : 1;
    return;
  }
  const small = 0.5 * erfc(Math.abs(x) / Math.SQRT2); // Φ(−|x|)
  out[k] = x < 0 ? small : 1 - small;
  out[k + 1] = x < 0 ? 1 - small : small;
}

/**
 * log(e^l − (1 − q)) = log(expm1(l) + q) without overflow: for l > 1 it is l + log1p(−(1 − q)e^{−l}) (e^l overflows
 * above 709, and the tiny-σ Gaussian has losses near μ²/2 far beyond that); NaN-free, −∞ where e^l <= 1 − q.
 */
export function logExpm1PlusQ(l: number, q: number): number {
  if (q === 1) return l; // exact, where e^l would underflow
  if (l > 1) return l + Math.log1p(-(1 - q) * Math.exp(-l));
  const e = Math.expm1(l) + q;
  return e > 0 ? Math.log(e) : -Infinity;
}

/** [F(x), 1 − F(x)] of the standard Laplace distribution. */
function laplaceTails(x: number, out: Float64Array, k: number): void {
  out[k] = laplaceCdf(x);
  out[k + 1] = laplaceSf(x);
}

/**
 * Poisson-subsampled Gaussian, standardised (noise std 1, sensitivity μ = 1/σ), as dp_accounting:
 * remove: P = q·N(−μ, 1) + (1−q)·N(0, 1), Q = N(0, 1), L(x) = log(1 − q + q·e^{−μx − μ²/2}), decreasing in x;
 * add:    P = N(0, 1), Q = q·N(μ, 1) + (1−q)·N(0, 1), L(x) = −log(1 − q + q·e^{μx − μ²/2}), decreasing in x.
 * q = 1 is the plain Gaussian mechanism (both pairs then have the same loss distribution N(μ²/2, μ²)).
 */
export function gaussianPair(q: number, mu: number, adjacency: Adjacency): LossPair {
  const logQ = Math.log(q);
  const half = (mu * mu) / 2;
  if (adjacency === 'remove') {
    // L > l  <=>  x < x*(l) = −(log((e^l − (1−q))/q) + μ²/2)/μ
    const xStar = (l: number): number => -(logExpm1PlusQ(l, q) - logQ + half) / mu;
    const t = new Float64Array(4);
    return {
      lossMin: q === 1 ? -Infinity : Math.log1p(-q),
      lossMax: Infinity,
      tails(l, out) {
        const x = xStar(l);
        normTails(x + mu, t, 0);
        normTails(x, t, 2);
        out[0] = q * t[0] + (1 - q) * t[2];
        out[1] = q * t[1] + (1 - q) * t[3];
        out[2] = t[2];
        out[3] = t[3];
      },
    };
  }
  // add: L > l  <=>  x < x*(l) = (log((e^{−l} − (1−q))/q) + μ²/2)/μ
  const xStar = (l: number): number => (logExpm1PlusQ(-l, q) - logQ + half) / mu;
  const t = new Float64Array(4);
  return {
    lossMin: -Infinity,
    lossMax: q === 1 ? Infinity : -Math.log1p(-q),
    tails(l, out) {
      const x = xStar(l);
      normTails(x, t, 0);
      normTails(x - mu, t, 2);
      out[0] = t[0];
      out[1] = t[1];
      out[2] = q * t[2] + (1 - q) * t[0];
      out[3] = q * t[3] + (1 - q) * t[1];
    },
  };
}

/**
 * Poisson-subsampled Laplace with ε0 = C/b, x in units of b:
 * remove: P = q·Lap(−ε0) + (1−q)·Lap(0), Q = Lap(0), L = log(1 − q + q·e^{|x| − |x+ε0|});
 * add:    P = Lap(0), Q = q·Lap(ε0) + (1−q)·Lap(0), L = −log(1 − q + q·e^{|x| − |x−ε0|}).
 * L has atoms at both ends of its support (the flat parts of |x| − |x ± ε0|).
 */
export function laplacePair(q: number, eps0: number, adjacency: Adjacency): LossPair {
  const logQ = Math.log(q);
  const hi = log1pQExpm1(q, eps0);
  const lo = log1pQExpm1(q, -eps0);
  if (adjacency === 'remove') {
    const lossMin = lo;
    const lossMax = hi;
    // for l in [lossMin, lossMax): L > l  <=>  x < x* = −(h + ε0)/2, h = log((e^l − (1−q))/q) ∈ [−ε0, ε0)
    const xStar = (l: number): number => {
      if (l < lossMin) return Infinity;
      if (l >= lossMax) return -Infinity;
      const h = Math.min(eps0, Math.max(-eps0, logExpm1PlusQ(l, q) - logQ));
      return -(h + eps0) / 2;
    };
    const t = new Float64Array(4);
    return {
      lossMin,
      lossMax,
      tails(l, out) {
        const x = xStar(l);
        laplaceTails(x + eps0, t, 0);
        laplaceTails(x, t, 2);
        out[0] = q * t[0] + (1 - q) * t[2];
        out[1] = q * t[1] + (1 - q) * t[3];
        out[2] = t[2];
        out[3] = t[3];
      },
    };
  }
  const lossMin = -hi;
  const lossMax = -lo;
  // L > l  <=>  x < x* = (h + ε0)/2, h = log((e^{−l} − (1−q))/q) ∈ (−ε0, ε0]
  const xStar = (l: number): number => {
    if (l < lossMin) return Infinity;
    if (l >= lossMax) return -Infinity;
    const h = Math.min(eps0, Math.max(-eps0, logExpm1PlusQ(-l, q) - logQ));
    return (h + eps0) / 2;
  };
  const t = new Float64Array(4);
  return {
    lossMin,
    lossMax,
    tails(l, out) {
      const x = xStar(l);
      laplaceTails(x, t, 0);
      laplaceTails(x - eps0, t, 2);
      out[0] = t[0];
      out[1] = t[1];
      out[2] = q * t[2] + (1 - q) * t[0];
      out[3] = q * t[3] + (1 - q) * t[1];
    },
  };
}

/** Exact hockey-stick divergence H_{e^ε}(P‖Q) = P(L > ε) − e^ε·Q(L > ε) of one pair (one step, no discretisation). */
export function hockeyStick(pair: LossPair, epsilon: number): number {
  const t = new Float64Array(4);
  pair.tails(epsilon, t);
  // e^ε·Q(L > ε) formed in log space: e^ε alone overflows above ε ≈ 709 while the product stays below P(L > ε)
  return Math.max(0, t[0] - (t[2] > 0 ? Math.exp(epsilon + Math.log(t[2])) : 0));
}
