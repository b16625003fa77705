// Mutation-found gap: the noise tests checked each coordinate's marginal only, so a Box–Muller that wrote cos θ into
// both coordinates of a pair (ξ_{2k} = ξ_{2k+1}: ĝ_{2k} − ĝ_{2k+1} released without noise) passed them. Here the
// coordinates of one draw are checked pairwise: uncorrelated, their squares uncorrelated, their difference of
// variance 2σ² (Gaussian) or 4b² (Laplace).
import { describe, expect, it } from 'vitest';

import { gaussianNoise, laplaceNoise } from '../../../lib/privacy/index.js';

/** Sample correlation of (x[i], y[i]). */
function corr(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i]! - mx;
    const b = y[i]! - my;
    sxy += a * b;
    sxx += a * a;
    syy += b * b;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/** Pairs of neighbouring coordinates (2k, 2k + 1) and (2k + 1, 2k + 2) of one draw, their squares, and the differences. */
function neighbours(xi: Float64Array) {
  const m = Math.floor((xi.length - 1) / 2);
  const even = Float64Array.from({ length: m }, (_, k) => xi[2 * k]!);
  const odd = Float64Array.from({ length: m }, (_, k) => xi[2 * k + 1]!);
  const next = Float64Array.from({ length: m }, (_, k) => xi[2 * k + 2]!);
  const sq = (a: Float64Array) => a.map((v) => v * v);
  let d2 = 0;
  for (let k = 0; k < m; k++) d2 += (even[k]! - odd[k]!) ** 2;
  return { m, r: [corr(even, odd), corr(odd, next)], rSquares: [corr(sq(even), sq(odd)), corr(sq(odd), sq(next))], diffVariance: d2 / m };
}

// m = 100,000 pairs: a sample correlation of independent coordinates has sd 1/√m = 0.0032, so the bound 0.03 is
// 9.5 sd. The mean of (x − y)² over m pairs has relative sd √(2/m) = 0.0045 (Gaussian) and √(3.5/m) = 0.0059
// (Laplace: E d⁴/(E d²)² = 4.5), so ±10 % is over 16 sd. The sums are of terms with exponential tails (x·y, (x − y)²,
// and x²y² for the Gaussian only; for Laplace x²y² has a stretched-exponential tail, so it is not tested), so a
// correct draw fails with P far below 1e-6. A copied coordinate gives r = 1 and a difference of variance 0.
const M = 100_000;

/**
 * Bounded statistics of the pairs (x, y) = (ξ_2k, ξ_2k+1): the fraction with both |x| and |y| above the median of |ξ|
 * (1/4 for independent coordinates) and the fraction with equal signs (1/2). Each is a mean of m independent
 * indicators, so by Hoeffding P(off by ≥ 0.01) ≤ 2·exp(−2m·10⁻⁴) = 4e-9 at m = 100,000.
 */
function quadrants(xi: Float64Array, medianAbs: number): { bothLarge: number; sameSign: number } {
  const m = Math.floor(xi.length / 2);
  let bothLarge = 0;
  let sameSign = 0;
  for (let k = 0; k < m; k++) {
    const x = xi[2 * k]!;
    const y = xi[2 * k + 1]!;
    if (Math.abs(x) > medianAbs && Math.abs(y) > medianAbs) bothLarge++;
    if (x > 0 === y > 0) sameSign++;
  }
  return { bothLarge: bothLarge / m, sameSign: sameSign / m };
}

describe('secure noise: the coordinates of one draw are independent (mutants)', () => {
  it('Gaussian: neighbouring coordinates are uncorrelated, their magnitudes and signs independent, their difference of variance 2σ²', () => {
    const sigma = 1.7;
    const s = neighbours(gaussianNoise(2 * M + 1, sigma));
    expect(s.m).toBe(M);
    for (const r of [...s.r, ...s.rSquares]) expect(Math.abs(r)).toBeLessThan(0.03);
    expect(s.diffVariance / (2 * sigma * sigma)).toBeGreaterThan(0.9);
    expect(s.diffVariance / (2 * sigma * sigma)).toBeLessThan(1.1);
    // the median of |N(0, σ²)| is σ·Φ⁻¹(3/4)
    const q = quadrants(gaussianNoise(2 * M, sigma), 0.6744897501960817 * sigma);
    expect(Math.abs(q.bothLarge - 0.25)).toBeLessThan(0.01);
    expect(Math.abs(q.sameSign - 0.5)).toBeLessThan(0.01);
  });
  it('Laplace: neighbouring coordinates are uncorrelated, their magnitudes and signs independent, their difference of variance 4b²', () => {
    const b = 0.6;
    const s = neighbours(laplaceNoise(2 * M + 1, b));
    for (const r of s.r) expect(Math.abs(r)).toBeLessThan(0.03);
    expect(s.diffVariance / (4 * b * b)).toBeGreaterThan(0.9);
    expect(s.diffVariance / (4 * b * b)).toBeLessThan(1.1);
    // the median of |Laplace(b)| is b·ln 2 (a pair sharing its magnitude, with independent signs, fails here)
    const q = quadrants(laplaceNoise(2 * M, b), b * Math.LN2);
    expect(Math.abs(q.bothLarge - 0.25)).toBeLessThan(0.01);
    expect(Math.abs(q.sameSign - 0.5)).toBeLessThan(0.01);
  });
});
