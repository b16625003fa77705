// defines: rdpLaplace, rdpSubsampledLaplace — Rényi DP of the Laplace mechanism (Mironov 2017, Prop. 6) and of its
// Poisson-subsampled version, computed from the mechanism's dominating pair by exact sums or graded quadrature.

import { argumentError, checkNumber, checkPositive, checkSampleRate } from './errors.js';
import { log1pQExpm1, logAddExp } from './special.js';

function checkOrder(alpha: number, allowOne: boolean): number {
  const a = checkNumber('order', alpha);
  if (!(allowOne ? a >= 1 : a > 1)) throw argumentError('order', alpha, allowOne ? 'a Rényi order >= 1' : 'a Rényi order > 1');
  return a;
}

/**
 * RDP of the Laplace mechanism with ε0 = Δ/b (Mironov 2017, Prop. 6):
 * D_α = 1/(α−1) · log[α/(2α−1)·e^{(α−1)ε0} + (α−1)/(2α−1)·e^{−αε0}]; α = 1: ε0 + e^{−ε0} − 1; α = ∞: ε0.
 */
export function rdpLaplace(epsilon0: number, alpha: number): number {
  const e = checkNumber('epsilon0', epsilon0);
  if (!(e >= 0)) throw argumentError('epsilon0', epsilon0, 'a number >= 0');
  const a = checkOrder(alpha, true);
  if (e === 0) return 0;
  if (e === Infinity) return Infinity;
  if (a === 1) return e + Math.expm1(-e);
  if (a === Infinity) return e;
  const logSum = logAddExp(Math.log(a / (2 * a - 1)) + (a - 1) * e, Math.log((a - 1) / (2 * a - 1)) - a * e);
  // D_α never exceeds the pure ε0; where (α−1)ε0 overflows the sum is ∞ (or NaN), and ε0 is the bound
  const v = logSum / (a - 1);
  return v <= e ? v : e;
}

// 20-point Gauss–Legendre nodes and weights on [-1, 1], by Newton's method on P_20.
const GL_N = 20;
const GL_X = new Float64Array(GL_N);
const GL_W = new Float64Array(GL_N);
(function initGaussLegendre() {
  for (let i = 0; i < GL_N; i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (GL_N + 0.5));
    let dp = 0;
    for (let it = 0; it < 100; it++) {
      let p0 = 1;
      let p1 = x;
      for (let k = 2; k <= GL_N; k++) {
        const p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      dp = (GL_N * (x * p1 - p0)) / (x * x - 1);
      const dx = p1 / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-16) break;
    }
    GL_X[i] = x;
    GL_W[i] = 2 / ((1 - x * x) * dp * dp);
  }
})();

/**
 * log I(e) with I(e) = ∫ Q(x) r(x)^e dx, Q = Laplace(0, 1), r = 1 − q + q·e^{|x| − |x − ε0|}: the Rényi moment of the
 * remove pair (e = α) and of the add pair (e = 1 − α) of the subsampled Laplace. The flat parts are exact; the ramp
 * 0 < u < ε0 is integrated with Gauss–Legendre on panels graded geometrically towards both ends, where r^e peaks.
 */
function logRenyiMoment(q: number, eps0: number, e: number): number {
  const logR = (u: number) => log1pQExpm1(q, 2 * u - eps0); // log r on the ramp
  const flatLow = Math.log(0.5) + e * log1pQExpm1(q, -eps0);
  const flatHigh = Math.log(0.5) - eps0 + e * log1pQExpm1(q, eps0);
  const logTerms: number[] = [];
  const panels: Array<[number, number]> = [];
  const half = eps0 / 2;
  const levels = 50;
  for (let k = 0; k < levels; k++) {
    const lo = half * 2 ** -(k + 1);
    const hi = half * 2 ** -k;
    panels.push([lo, hi]); // graded towards 0
    panels.push([eps0 - hi, eps0 - lo]); // graded towards ε0
  }
  panels.push([0, half * 2 ** -levels], [eps0 - half * 2 ** -levels, eps0]);
  for (const [a, b] of panels) {
    const mid = (a + b) / 2;
    const rad = (b - a) / 2;
    for (let i = 0; i < GL_N; i++) {
      const u = mid + rad * GL_X[i];
      logTerms.push(Math.log(GL_W[i] * rad * 0.5) - u + e * logR(u));
    }
  }
  let m = Math.max(flatLow, flatHigh);
  for (const t of logTerms) if (t > m) m = t;
  let s = Math.exp(flatLow - m) + Math.exp(flatHigh - m);
  for (const t of logTerms) s += Math.exp(t - m);
  return m + Math.log(s);
}

/**
 * log I(α) for integer α by the binomial expansion of r^α: every term is positive and integrates in closed form,
 * ∫_0^{ε0} ½ e^{−u} e^{k(2u−ε0)} du = ½ e^{−kε0} (e^{(2k−1)ε0} − 1)/(2k−1). Exact up to rounding.
 */
export function logRenyiMomentInteger(q: number, eps0: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = q === 1 ? -Infinity : Math.log1p(-q);
  let acc = logAddExp(Math.log(0.5) + alpha * log1pQExpm1(q, -eps0), Math.log(0.5) - eps0 + alpha * log1pQExpm1(q, eps0));
  let logBinom = 0;
  for (let k = 0; k <= alpha; k++) {
    if (k > 0) logBinom += Math.log((alpha - k + 1) / k);
    const m = 2 * k - 1;
    // log((e^{mε0} − 1)/m), positive for every k (m = −1 gives 1 − e^{−ε0})
    const logRamp =
      m === 0 ? Math.log(eps0) : m > 0 ? m * eps0 + Math.log(-Math.expm1(-m * eps0)) - Math.log(m) : Math.log(-Math.expm1(m * eps0)) - Math.log(-m);
    const coef = logBinom + (k === 0 ? 0 : k * logQ) + (alpha - k === 0 ? 0 : (alpha - k) * log1mQ);
    acc = logAddExp(acc, coef + Math.log(0.5) - k * eps0 + logRamp);
  }
  return acc;
}

// Relative slack added to the quadrature result so that it stays an upper bound (its error is below 1e-12).
const QUADRATURE_SLACK = 1e-10;

/**
 * RDP of one step of the Poisson-subsampled Laplace mechanism (L1 sensitivity C, scale b, ε0 = C/b), add/remove
 * adjacency: max over the remove pair (q·Lap(−C) + (1−q)·Lap(0), Lap(0)) and the add pair (Lap(0), q·Lap(C) + (1−q)·Lap(0)),
 * the dominating pairs of Poisson subsampling (Zhu, Dong, Wang 2022, Thm. 11). Rényi divergence is monotone under
 * post-processing, so these pairs bound the RDP of every neighbouring pair.
 */
export function rdpSubsampledLaplace(sampleRate: number, epsilon0: number, alpha: number): number {
  const q = checkSampleRate(sampleRate, true);
  const eps0 = checkPositive('epsilon0', epsilon0);
  const a = checkOrder(alpha, false);
  if (q === 0) return 0;
  if (q === 1) return rdpLaplace(eps0, a);
  if (a === Infinity) return log1pQExpm1(q, eps0); // amplified pure DP (Balle, Barthe, Gaboardi 2018)
  const remove = Number.isInteger(a) && a <= 4096 ? logRenyiMomentInteger(q, eps0, a) : logRenyiMoment(q, eps0, a) + QUADRATURE_SLACK;
  const add = logRenyiMoment(q, eps0, 1 - a) + QUADRATURE_SLACK;
  // D_α never exceeds the amplified pure ε (the α = ∞ value); at a huge ε0 the moments overflow to ∞ − ∞ = NaN,
  // which reached the RDP conversion as "rdp[i] must be a number >= 0, got NaN" naming no flag
  const v = Math.max(0, Math.max(remove, add) / (a - 1));
  const pure = log1pQExpm1(q, eps0);
  return v <= pure ? v : pure;
}

/** Exposed for tests: the quadrature value of log I(e). */
export const _logRenyiMomentQuadrature = logRenyiMoment;
