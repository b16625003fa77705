// CSPRNG noise: distribution checks (moments and a Kolmogorov–Smirnov bound) and that Math.random is never used.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fillGaussian, fillLaplace, gaussianNoise, laplaceNoise, secureUniform } from '../../../lib/privacy/index.js';
import { standardExponential } from '../../../lib/privacy/secure-noise.js';
import { normCdfForTests } from './helpers.js';

afterEach(() => vi.restoreAllMocks());

/**
 * √n·D above which a correct sampler fails: P(√n·D > 3.0) ≈ 2·e^(−2·3.0²) ≈ 3e-8 (Kolmogorov), for each of the three
 * KS checks below. At p ≈ 0.001 (1.95) a correct CSPRNG failed a CI run by chance (√n·D = 2.10); at 2.6 (P ≈ 2.7e-6
 * each, 8e-6 for the three) the suite still failed about one run in 120,000. With 100,000 draws D > 0.0095 fails:
 * a Gaussian or Laplace scale off by 10 % (D ≈ 0.023) fails every run.
 */
const KS_LIMIT = 3.0;
const KS_N = 100_000;

/** KS statistic of a sample against a CDF. */
function ks(x: Float64Array, cdf: (v: number) => number): number {
  const s = Float64Array.from(x).sort();
  let d = 0;
  for (let i = 0; i < s.length; i++) {
    const f = cdf(s[i]);
    d = Math.max(d, Math.abs(f - i / s.length), Math.abs(f - (i + 1) / s.length));
  }
  return d;
}

describe('secure noise', () => {
  it('never calls Math.random', () => {
    const spy = vi.spyOn(Math, 'random');
    gaussianNoise(1001, 1);
    laplaceNoise(1001, 1);
    secureUniform();
    expect(spy).not.toHaveBeenCalled();
  });
  it('uniforms lie in [0, 1) and are not repeated', () => {
    const u = Array.from({ length: 10000 }, secureUniform);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(new Set(u).size).toBe(u.length);
  });
  it('Gaussian: mean, variance and KS distance match N(0, σ²)', () => {
    const n = KS_N;
    const x = gaussianNoise(n, 2);
    const mean = x.reduce((a, b) => a + b, 0) / n;
    const v = x.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    expect(Math.abs(mean)).toBeLessThan((6 * 2) / Math.sqrt(n));
    expect(Math.abs(v / 4 - 1)).toBeLessThan(6 * Math.sqrt(2 / n));
    expect(ks(x, (t) => normCdfForTests(t / 2, 800))).toBeLessThan(KS_LIMIT / Math.sqrt(n));
  });
  it('Laplace: variance 2b² and KS distance match Laplace(0, b)', () => {
    const n = KS_N;
    const b = 0.7;
    const x = laplaceNoise(n, b);
    const v = x.reduce((a, t) => a + t * t, 0) / n;
    expect(Math.abs(v / (2 * b * b) - 1)).toBeLessThan(0.15);
    expect(ks(x, (t) => (t < 0 ? 0.5 * Math.exp(t / b) : 1 - 0.5 * Math.exp(-t / b)))).toBeLessThan(KS_LIMIT / Math.sqrt(n));
  });
  it('fills Float32Array in place, odd lengths included', () => {
    const a = new Float32Array(7);
    expect(fillGaussian(a, 1)).toBe(a);
    expect(a.every((v) => v !== 0 && Number.isFinite(v))).toBe(true);
    const c = fillLaplace(new Float32Array(5), 1);
    expect(c.every((v) => Number.isFinite(v))).toBe(true);
    expect(() => gaussianNoise(3, -1)).toThrow(/std/);
  });
});

describe('noise without a cut-off (issue 11.4)', () => {
  const stream = (words: number[]) => {
    let i = 0;
    return () => words[i++] ?? 0xffffffff;
  };
  it('E = −ln U is exact where U is dyadic: the first 1 bit at position k+1 with f = 0 gives (k+1)·ln 2', () => {
    expect(standardExponential(stream([0x80000000, 0, 0]))).toBe(Math.LN2);
    expect(standardExponential(stream([0, 0x00000001, 0, 0]))).toBe(64 * Math.LN2);
  });
  it('reaches past the old 53-bit bounds (8.57σ Gaussian, 36.7b Laplace): the tail is not truncated', () => {
    // 3 zero words = 96 zero bits, a U below 2^-96: an outcome a 53-bit uniform can never produce
    const e = standardExponential(stream([0, 0, 0, 0x40000000, 0, 0]));
    expect(e).toBeCloseTo(98 * Math.LN2, 12);
    expect(e).toBeGreaterThan(53 * Math.LN2);
    expect(Math.sqrt(2 * e)).toBeGreaterThan(Math.sqrt(2 * 53 * Math.LN2));
  });
  it('from the CSPRNG, E is standard exponential (mean, KS)', () => {
    const n = KS_N;
    const x = Float64Array.from({ length: n }, () => standardExponential());
    const mean = x.reduce((a, b) => a + b, 0) / n;
    expect(Math.abs(mean - 1)).toBeLessThan(6 / Math.sqrt(n));
    expect(ks(x, (t) => 1 - Math.exp(-t))).toBeLessThan(KS_LIMIT / Math.sqrt(n));
  });
});
