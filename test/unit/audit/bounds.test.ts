// The audit's statistics against values computed independently: Clopper–Pearson
// intervals against R's binom.test and a brute-force binomial sum written here,
// the one-run bound of Steinke, Nasr & Jagielski 2023 against its closed form at
// v = r and a brute-force transcription of their Theorem 5.2 in exact rationals,
// and the threshold audit on scores whose errors are known by construction.
import { describe, expect, it } from 'vitest';

import { binomialCdf, binomialSf } from '../../../lib/audit/binomial.js';
import { clopperPearsonLower, clopperPearsonUpper } from '../../../lib/audit/clopper-pearson.js';
import { epsilonFromRates, thresholdAudit } from '../../../lib/audit/hypothesis.js';
import { guessAudit, oneRunEpsilon, oneRunPValue } from '../../../lib/audit/one-run.js';

/** P[Binomial(n, p) ≤ k] by the textbook sum, the coefficients built multiplicatively (small n only). */
function naiveCdf(k: number, n: number, p: number): number {
  let s = 0;
  let c = 1; // C(n, i)
  for (let i = 0; i <= k; i++) {
    s += c * p ** i * (1 - p) ** (n - i);
    c = (c * (n - i)) / (i + 1);
  }
  return s;
}

describe('binomial tails', () => {
  it('match the textbook sums', () => {
    for (const [n, p] of [
      [10, 0.3],
      [40, 0.05],
      [60, 0.77],
    ] as const) {
      for (let k = 0; k <= n; k++) {
        expect(binomialCdf(k, n, p)).toBeCloseTo(naiveCdf(k, n, p), 13);
        expect(binomialSf(k, n, p)).toBeCloseTo(1 - naiveCdf(k - 1, n, p), 13);
      }
    }
  });
  it('stay accurate deep in the tail and at large n', () => {
    // P[Bin(1000, 0.5) ≤ 400] = 1.364232e-10 (R: pbinom(400, 1000, 0.5))
    expect(binomialCdf(400, 1000, 0.5) / 1.364232e-10).toBeCloseTo(1, 5);
    // symmetric: P[X ≤ k] = P[X ≥ n − k] at p = 1/2
    expect(binomialSf(600, 1000, 0.5)).toBeCloseTo(binomialCdf(400, 1000, 0.5), 20);
  });
});

describe('Clopper–Pearson', () => {
  it("matches R's binom.test intervals (two-sided 95%: each side at 0.025)", () => {
    // binom.test(5, 10)$conf.int = 0.1870860 0.8129140; binom.test(7, 20)$conf.int = 0.1539092 0.5921885
    expect(clopperPearsonLower(5, 10, 0.025)).toBeCloseTo(0.187086, 6);
    expect(clopperPearsonUpper(5, 10, 0.025)).toBeCloseTo(0.812914, 6);
    expect(clopperPearsonLower(7, 20, 0.025)).toBeCloseTo(0.1539092, 6);
    expect(clopperPearsonUpper(7, 20, 0.025)).toBeCloseTo(0.5921885, 6);
  });
  it('solves P[Bin(n, p_hi) ≤ k] = α by the brute-force sum, and the closed forms at k = 0 and k = n', () => {
    for (const [k, n, a] of [
      [3, 50, 0.05],
      [0, 30, 0.01],
      [12, 40, 0.001],
    ] as const) {
      const hi = clopperPearsonUpper(k, n, a);
      expect(naiveCdf(k, n, hi)).toBeCloseTo(a, 9);
      expect(hi).toBeGreaterThanOrEqual(k / n);
    }
    expect(clopperPearsonUpper(0, 100, 0.05)).toBeCloseTo(1 - 0.05 ** (1 / 100), 14);
    expect(clopperPearsonLower(100, 100, 0.05)).toBeCloseTo(0.05 ** (1 / 100), 14);
    expect(clopperPearsonUpper(100, 100, 0.05)).toBe(1);
  });
  it('refuses what is not a count', () => {
    expect(() => clopperPearsonUpper(5, 4, 0.05)).toThrow(RangeError);
    expect(() => clopperPearsonUpper(1.5, 4, 0.05)).toThrow(RangeError);
    expect(() => clopperPearsonUpper(1, 4, 0)).toThrow(RangeError);
  });
});

/** Their Theorem 5.2 transcribed in exact rationals: p-value for (m, r, v) at ε with e^ε = a/b, δ = d/e. */
function exactPValue(m: number, r: number, v: number, a: bigint, b: bigint, dNum: bigint, dDen: bigint): number {
  // randomized response's accuracy e^ε/(1 + e^ε) = a/(a + b)
  const den = (a + b) ** BigInt(r);
  const choose = (n: number, k: number) => {
    let c = 1n;
    for (let i = 0; i < k; i++) c = (c * BigInt(n - i)) / BigInt(i + 1);
    return c;
  };
  const pmf = (i: number) => choose(r, i) * a ** BigInt(i) * b ** BigInt(r - i); // over den
  let tail = 0n;
  for (let i = v; i <= r; i++) tail += pmf(i);
  // max_i (Σ_{u=v−i}^{v−1} pmf(u)) / i, compared as fractions
  let bestNum = 0n;
  let bestDen = 1n;
  let between = 0n;
  for (let i = 1; i <= v; i++) {
    between += pmf(v - i);
    if (between * bestDen > bestNum * BigInt(i)) {
      bestNum = between;
      bestDen = BigInt(i);
    }
  }
  const scale = 10n ** 30n;
  const p = (tail * scale) / den + (2n * BigInt(m) * dNum * bestNum * scale) / (dDen * bestDen * den);
  return Math.min(1, Number(p) / 1e30);
}

describe('one-run bound (Steinke, Nasr, Jagielski 2023)', () => {
  it('at δ = 0 and every guess right, is the ε of randomized response with accuracy 0.05^(1/r)', () => {
    for (const r of [10, 100, 1000]) {
      const acc = 0.05 ** (1 / r);
      expect(oneRunEpsilon(r, r, r, 0, 0.95)).toBeCloseTo(Math.log(acc / (1 - acc)), 5);
    }
  });
  it('p-values equal the exact rational transcription of the theorem', () => {
    // e^ε = 3 (a = 3, b = 1) and e^ε = 7/2; δ = 1e-3 and 1e-5
    const cases: [number, number, number, bigint, bigint, bigint, bigint][] = [
      [100, 20, 16, 3n, 1n, 1n, 1000n],
      [1000, 50, 40, 7n, 2n, 1n, 100000n],
      [64, 64, 60, 3n, 1n, 1n, 1000n],
      [30, 10, 3, 3n, 1n, 1n, 1000n],
    ];
    for (const [m, r, v, a, b, dn, dd] of cases) {
      const eps = Math.log(Number(a) / Number(b));
      expect(oneRunPValue(m, r, v, eps, Number(dn) / Number(dd))).toBeCloseTo(exactPValue(m, r, v, a, b, dn, dd), 12);
    }
  });
  it('the ε found is the largest whose p-value is at most 5%', () => {
    const e = oneRunEpsilon(1000, 200, 170, 1e-5);
    expect(e).toBeGreaterThan(0.5);
    expect(oneRunPValue(1000, 200, 170, e, 1e-5)).toBeLessThanOrEqual(0.05);
    expect(oneRunPValue(1000, 200, 170, e + 1e-5, 1e-5)).toBeGreaterThan(0.05);
    // a coin's worth of right guesses proves nothing
    expect(oneRunEpsilon(1000, 200, 100, 1e-5)).toBe(0);
  });
  it('guessAudit counts the top half in and the bottom half out', () => {
    // 20 canaries ranked perfectly: every guess right at r = 20
    const canaries = Array.from({ length: 20 }, (_, i) => ({ score: i, member: i >= 10 }));
    const g = guessAudit(canaries, 0);
    expect(g.correct).toBe(g.guesses);
    expect(g.epsilon).toBeCloseTo(oneRunEpsilon(20, g.guesses, g.guesses, 0, 1 - 0.05 / g.tries), 9);
    // ranked backwards: nothing
    expect(
      guessAudit(
        canaries.map((c) => ({ ...c, member: !c.member })),
        0,
      ).epsilon,
    ).toBe(0);
  });
});

describe('threshold audit', () => {
  it('perfectly separated scores: the bound of zero errors in the evaluation share', () => {
    // every score distinct (as rounding makes them in y = ĝ·B − Σ_others): the threshold used to be
    // taken at pooled ranks on a grid, which could fall inside a group and count errors
    const jitter = (i: number) => ((i * 7919) % 4001) * 1e-6;
    const trials = Array.from({ length: 4000 }, (_, i) => ({ score: (i % 2 === 0 ? 1 : 0) + jitter(i), member: i % 2 === 0 }));
    const b = thresholdAudit(trials, 1e-5, 0.95, 0.25);
    expect(b.pilotTrials).toBe(1000);
    expect(b.inTrials).toBe(1500);
    expect(b.falsePositives + b.falseNegatives).toBe(0);
    const hi = 1 - 0.025 ** (1 / 1500);
    expect(b.epsilon).toBeCloseTo(Math.log((1 - 1e-5 - hi) / hi), 9);
  });
  it('scores that ignore membership prove (almost) nothing', () => {
    let s = 12345;
    const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
    const trials = Array.from({ length: 4000 }, () => ({ score: rnd(), member: rnd() < 0.5 }));
    expect(thresholdAudit(trials, 1e-5).epsilon).toBeLessThan(0.3);
  });
  it('ε from rates is ln((1 − δ − FNR)/FPR), never negative', () => {
    expect(epsilonFromRates(0.01, 0.5, 0)).toBeCloseTo(Math.log(50), 12);
    expect(epsilonFromRates(0.6, 0.5, 0)).toBe(0);
  });
});

describe('Clopper–Pearson at α above one half (a one-sided bound at low confidence)', () => {
  /** The root of a decreasing g(p) − α on [0, 1] by bisection: independent of the bracket the library picks. */
  const root = (g: (p: number) => number, a: number) => {
    let lo = 0;
    let hi = 1;
    for (let i = 0; i < 200; i++) {
      const mid = (lo + hi) / 2;
      if (g(mid) > a) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  };
  it('is the root of P[Bin(n, p) ≤ k] = α (the bracket [k/n, 1] returned k/n: 0.5 for k = 5, n = 10, α = 0.9)', () => {
    for (const [k, n, a] of [
      [5, 10, 0.9],
      [3, 50, 0.6],
      [12, 40, 0.99],
      [1, 2, 0.8],
    ] as const) {
      const hi = clopperPearsonUpper(k, n, a);
      expect(hi).toBeCloseTo(
        root((p) => naiveCdf(k, n, p), a),
        9,
      );
      expect(naiveCdf(k, n, hi)).toBeCloseTo(a, 9);
      // P[X ≥ k] increases in p: the lower bound is the root of −P[X ≥ k] = −α
      const lo = clopperPearsonLower(k, n, a);
      expect(lo).toBeCloseTo(
        root((p) => -(1 - naiveCdf(k - 1, n, p)), -a),
        9,
      );
      expect(1 - naiveCdf(k - 1, n, lo)).toBeCloseTo(a, 9);
    }
    // P[Bin(10, p) ≤ 5] = 0.9 at p = 0.354216 (the bisection above), below k/n = 0.5
    expect(clopperPearsonUpper(5, 10, 0.9)).toBeCloseTo(0.354216, 6);
  });
});

describe('one-run p-value at large counts, against an independent float64 transcription', () => {
  /** Their Theorem 5.2 from a table of log pmfs built by incremental log-binomials (no lgamma, no tail tricks). */
  const reference = (m: number, r: number, v: number, eps: number, delta: number) => {
    const q = 1 / (1 + Math.exp(-eps));
    const logPmf = new Float64Array(r + 1);
    let logC = 0;
    for (let i = 0; i <= r; i++) {
      logPmf[i] = logC + i * Math.log(q) + (r - i) * Math.log1p(-q);
      logC += Math.log((r - i) / (i + 1));
    }
    let tail = 0;
    for (let i = v; i <= r; i++) tail += Math.exp(logPmf[i]!);
    let worst = 0;
    let between = 0;
    for (let i = 1; i <= v; i++) {
      between += Math.exp(logPmf[v - i]!);
      worst = Math.max(worst, between / i);
    }
    return Math.min(1, tail + 2 * m * delta * worst);
  };
  it('agrees to 1e-8 relative: 10^5 guesses, every guess right, none right, m far above r', () => {
    for (const [m, r, v, eps, delta] of [
      [1e5, 2e4, 1.2e4, 0.4, 1e-6],
      [1e5, 1e5, 5.2e4, 0.05, 1e-8],
      [2000, 2000, 2000, 5, 1e-5],
      [2000, 2000, 0, 1, 1e-5],
      [1e6, 1000, 900, 2, 1e-9],
    ] as const) {
      const want = reference(m, r, v, eps, delta);
      expect(Math.abs(oneRunPValue(m, r, v, eps, delta) - want) / want, `${m} ${r} ${v}`).toBeLessThan(1e-8);
    }
  });
});
