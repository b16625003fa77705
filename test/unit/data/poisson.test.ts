import { describe, expect, it } from 'vitest';

import { PoissonSampler } from '../../../lib/data/poisson.js';

function binomialPmf(n: number, q: number, k: number): number {
  let logC = 0;
  for (let i = 1; i <= k; i++) logC += Math.log(n - k + i) - Math.log(i);
  return Math.exp(logC + k * Math.log(q) + (n - k) * Math.log1p(-q));
}

describe('PoissonSampler', () => {
  it('batch sizes follow Binomial(N, q) (χ² goodness of fit)', () => {
    const N = 200;
    const q = 0.05;
    const trials = 20000;
    const s = new PoissonSampler(N, q);
    const counts = new Map<number, number>();
    for (let t = 0; t < trials; t++) {
      const b = s.sample().length;
      counts.set(b, (counts.get(b) ?? 0) + 1);
    }
    // bins: 0..3, 4, ..., 17, ≥18 (expected counts all ≥ 20)
    const lo = 3;
    const hi = 18;
    const bins: { obs: number; exp: number }[] = [];
    let pLo = 0;
    let oLo = 0;
    for (let k = 0; k <= lo; k++) {
      pLo += binomialPmf(N, q, k);
      oLo += counts.get(k) ?? 0;
    }
    bins.push({ obs: oLo, exp: pLo * trials });
    let pMid = pLo;
    for (let k = lo + 1; k < hi; k++) {
      const p = binomialPmf(N, q, k);
      pMid += p;
      bins.push({ obs: counts.get(k) ?? 0, exp: p * trials });
    }
    let oHi = 0;
    for (const [k, c] of counts) if (k >= hi) oHi += c;
    bins.push({ obs: oHi, exp: (1 - pMid) * trials });
    const chi2 = bins.reduce((s2, b) => s2 + (b.obs - b.exp) ** 2 / b.exp, 0);
    // df = 16 bins - 1 = 15; P(χ²_15 > 62.3) = 1e-7, the chance a correct sampler fails (37.7, P = 0.001, failed
    // one CI run in 1,000). Still sharp: q off by 5 % (0.0525) gives a noncentral χ² with λ ≈ 530, P(χ² < 62.3) < 1e-50.
    expect(bins.every((b) => b.exp > 5)).toBe(true);
    expect(chi2).toBeLessThan(62.3);
  });
  it('each example joins with probability q, independently of its index', () => {
    const N = 50;
    const q = 0.3;
    const trials = 100_000;
    const s = new PoissonSampler(N, q);
    const hits = new Float64Array(N);
    for (let t = 0; t < trials; t++) for (const i of s.sample()) hits[i]!++;
    // each hit count ~ Binomial(trials, q): z-scores; the sum of squares ~ χ²_N
    const sd = Math.sqrt(trials * q * (1 - q));
    const chi2 = Array.from(hits).reduce((a, h) => a + ((h - trials * q) / sd) ** 2, 0);
    // χ²_50 at p = 1e-7 (86.7, p = 0.001, failed a correct sampler one run in 1,000); with 100,000 trials one index
    // joining with q ± 0.02 gives λ ≈ 190 and fails with P > 0.9999 (it passed half the time at 20,000 trials and 86.7)
    expect(chi2).toBeLessThan(120.3);
  });
  it('indices are sorted, distinct, in range; q = 1 takes everyone; an empty batch happens', () => {
    const s = new PoissonSampler(10, 0.01);
    let empty = 0;
    for (let t = 0; t < 200; t++) {
      const b = s.sample();
      if (b.length === 0) empty++;
      b.forEach((x, i) => {
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThan(10);
        if (i > 0) expect(x).toBeGreaterThan(b[i - 1]!);
      });
    }
    expect(empty).toBeGreaterThan(100);
    expect(new PoissonSampler(7, 1).sample()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(() => new PoissonSampler(10, 0)).toThrow(/sampleRate/);
    expect(() => new PoissonSampler(0, 0.5)).toThrow(/size/);
  });
});
