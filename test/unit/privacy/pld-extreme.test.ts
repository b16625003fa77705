// The PLD accountant at extreme privacy losses (tiny σ or Laplace scale: losses far beyond e^709), against references
// computed independently in test/privacy/reference.ts: exact one-step hockey-stick divergences by quadrature, and
// rigorous T-step lower bounds on δ(ε) by post-processing. A pessimistic accountant is never below either.
import { describe, expect, it } from 'vitest';
import {
  composeHistory,
  deltaForEpsilon,
  epsilonForDelta,
  gaussianPair,
  hockeyStick,
  laplacePair,
  laplacePureDp,
  normCdfForTests,
  PldAccountant,
  pldEpsilon,
  RdpAccountant,
  type ComposedPld,
  type DiscretePld,
} from './helpers.js';
import {
  epsilonWhereAbove,
  gaussianCountBound,
  gaussianHockeyStick,
  gaussianSumBound,
  laplaceCountBound,
  laplaceHockeyStick,
  logPhi,
  type Adj,
} from './reference.js';

const gauss = (q: number, s: number) => ({ kind: 'gaussian' as const, sampleRate: q, noiseMultiplier: s });
const lap = (q: number, c: number, b: number) => ({ kind: 'laplace' as const, sampleRate: q, clip: c, scale: b });
const direction = (c: ComposedPld, adj: Adj): DiscretePld => (adj === 'add' && c.add ? c.add : c.remove);
const ADJ: Adj[] = ['remove', 'add'];
/** Slack for floating-point rounding only (the discretisation itself must never go below the truth). */
const ROUND = 1e-12;

describe('reference numerics (self-check)', () => {
  it('log Φ matches a Simpson integral of the density and the asymptotic tail series', () => {
    for (const x of [-8, -3, -1, -0.2, 0, 0.7, 2.5]) expect(Math.abs(Math.exp(logPhi(x)) / normCdfForTests(x) - 1)).toBeLessThan(1e-9);
    for (const x of [20, 50, 200]) {
      const series = -(x * x) / 2 - Math.log(x * Math.sqrt(2 * Math.PI)) + Math.log(1 - 1 / x ** 2 + 3 / x ** 4 - 15 / x ** 6);
      expect(Math.abs(logPhi(-x) - series)).toBeLessThan((2 * 105) / x ** 8 + 1e-12); // the first omitted term
    }
  });
  it('the quadrature hockey-stick reproduces the analytic Gaussian δ(ε) at q = 1', () => {
    for (const [mu, eps] of [
      [1, 1],
      [3, 2],
      [0.5, 0.1],
      [10, 30],
    ]) {
      const exact = normCdfForTests(-eps / mu + mu / 2) - Math.exp(eps) * normCdfForTests(-eps / mu - mu / 2);
      expect(Math.abs(gaussianHockeyStick(1, mu, 'remove', eps) - exact)).toBeLessThan(1e-12);
    }
  });
});

describe('regression: σ = 0.01, q = 0.1, T = 30 (losses near μ²/2 = 5000, far beyond e^709)', () => {
  const m = gauss(0.1, 0.01);
  const acc = new PldAccountant().step(m, 30);
  const mu = 100;

  it('δ(ε) >= 1 − (1 − q)^T-type lower bound (>= 0.9) at ε = 1, 5, 10 (was NaN, treated as nothing)', () => {
    for (const eps of [1, 5, 10]) {
      const d = acc.getDelta(eps).delta;
      expect(d).toBeGreaterThanOrEqual(0.9);
      expect(d).toBeGreaterThanOrEqual(gaussianCountBound(0.1, mu, 30, 'remove', eps) - ROUND);
    }
  });
  it('ε(1e-5) is at least the rigorous lower bound (was 3.16) and at most the RDP ε', () => {
    const eps = acc.getEpsilon(1e-5).epsilon;
    const lower = epsilonWhereAbove((e) => Math.max(gaussianCountBound(0.1, mu, 30, 'remove', e), gaussianSumBound(0.1, mu, 30, 'remove', e)), 1e-5);
    expect(lower).toBeGreaterThan(40000);
    expect(eps).toBeGreaterThanOrEqual(lower);
    expect(eps).toBeLessThanOrEqual(new RdpAccountant().step(m, 30).getEpsilon(1e-5).epsilon);
  });
  it('each adjacency separately is above its own lower bound, and nothing is NaN', () => {
    const c = acc.pld();
    for (const adj of ADJ) {
      const p = direction(c, adj);
      expect(Number.isFinite(p.infinityMass)).toBe(true);
      expect(p.probs.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
      for (const eps of [0.5, 1, 2, 3, 10, 1000, 30000]) {
        const lb = Math.max(gaussianCountBound(0.1, mu, 30, adj, eps), gaussianSumBound(0.1, mu, 30, adj, eps));
        expect(deltaForEpsilon(p, eps)).toBeGreaterThanOrEqual(lb - ROUND);
      }
    }
  });
});

describe('queries and pairs at losses beyond ±709', () => {
  it('ε(δ) on a PLD with an atom at loss 2000 (e^{−l} underflows) and at −2000 (e^{−l} overflows)', () => {
    const at = (interval: number, losses: number[], masses: number[]): DiscretePld => {
      const lo = Math.min(...losses);
      const probs = new Float64Array(Math.max(...losses) - lo + 1);
      losses.forEach((l, i) => {
        probs[l - lo] = masses[i];
      });
      return { interval, offset: lo, probs, infinityMass: 0 };
    };
    // δ(ε) = 0.5·(1 − e^{ε − 2000}) for ε < 2000
    expect(epsilonForDelta(at(1, [0, 2000], [0.5, 0.5]), 0.1)).toBeCloseTo(2000 + Math.log(0.8), 9);
    // δ(ε) = 0.5·(1 − e^{ε − 1}) on [0, 1): the mass at −2000 contributes nothing
    expect(epsilonForDelta(at(1, [-2000, 1], [0.5, 0.5]), 0.1)).toBeCloseTo(1 + Math.log(0.8), 12);
    expect(deltaForEpsilon(at(1, [0, 2000], [0.5, 0.5]), 1999)).toBeCloseTo(0.5 * -Math.expm1(-1), 14);
  });
  it('one-step hockey-stick of the σ = 0.01 pairs at ε up to 5300 matches the quadrature (was NaN above 709)', () => {
    for (const q of [0.1, 1]) {
      for (const eps of [0, 1, 300, 800, 5000, 5300]) {
        const want = gaussianHockeyStick(q, 100, 'remove', eps);
        const got = hockeyStick(gaussianPair(q, 100, 'remove'), eps);
        // where Q(L > ε) < 1e-308 it underflows to 0 and the value is rounded up (P(L > ε)): never below the truth
        expect(got).toBeGreaterThanOrEqual(want * (1 - 1e-9) - 1e-12);
        if (eps < 700) expect(got).toBeLessThanOrEqual(want * (1 + 1e-9) + 1e-12);
        else expect(got).toBeLessThanOrEqual(want * 1.05);
      }
    }
    expect(hockeyStick(laplacePair(0.1, 1000, 'remove'), 900)).toBeCloseTo(laplaceHockeyStick(0.1, 1000, 'remove', 900), 12);
  });
});

// δ at which the one-step comparison is made: the PLD's own ε at these δ, so the probe covers body and tail
const PROBE_DELTAS = [1e-2, 1e-5, 1e-8];
const SIGMAS = [0.01, 0.05, 0.1, 0.3, 0.5, 1, 2, 5];
const RATES = [0.001, 0.01, 0.1, 0.5, 1];
// a smaller FFT limit keeps the sweep fast; the grid is coarsened (still pessimistic), which the sweep also exercises
const SWEEP = { maxFftSize: 2 ** 18 };

describe('one step, exact: quadrature δ <= PLD δ (pessimistic) and close to it, both adjacencies', () => {
  it.each(SIGMAS)('Gaussian σ = %f, all q', (s) => {
    for (const q of RATES) {
      const c = composeHistory([{ mechanism: gauss(q, s), times: 1 }], SWEEP);
      for (const adj of ADJ) {
        const p = direction(c, adj);
        const probes = new Set([0, 0.5, ...PROBE_DELTAS.map((d) => epsilonForDelta(p, d))]);
        for (const eps of probes) {
          const exact = gaussianHockeyStick(q, 1 / s, adj, eps);
          const pld = deltaForEpsilon(p, eps);
          expect(pld, `σ=${s} q=${q} ${adj} ε=${eps}`).toBeGreaterThanOrEqual(exact - ROUND);
          // connect-the-dots is below round-up, which moves every loss up by < Δ: δ_PLD(ε) <= δ(ε − Δ) + truncated tails
          if (eps >= c.interval)
            expect(pld, `σ=${s} q=${q} ${adj} ε=${eps}`).toBeLessThanOrEqual(gaussianHockeyStick(q, 1 / s, adj, eps - c.interval) * (1 + 1e-9) + 1e-12);
        }
      }
    }
  });
  it('Laplace, ε0 = C/b in {0.5, 2, 100, 1000}, q in {0.01, 0.1, 1}', () => {
    for (const eps0 of [0.5, 2, 100, 1000]) {
      for (const q of [0.01, 0.1, 1]) {
        const c = composeHistory([{ mechanism: lap(q, 1, 1 / eps0), times: 1 }], SWEEP);
        for (const adj of ADJ) {
          const p = direction(c, adj);
          const probes = new Set([0, 0.3, ...PROBE_DELTAS.map((d) => epsilonForDelta(p, d))]);
          for (const eps of probes) {
            const exact = laplaceHockeyStick(q, eps0, adj, eps);
            const pld = deltaForEpsilon(p, eps);
            expect(pld, `ε0=${eps0} q=${q} ${adj} ε=${eps}`).toBeGreaterThanOrEqual(exact - ROUND);
            if (eps >= c.interval)
              expect(pld, `ε0=${eps0} q=${q} ${adj} ε=${eps}`).toBeLessThanOrEqual(laplaceHockeyStick(q, eps0, adj, eps - c.interval) * (1 + 1e-9) + 1e-12);
          }
        }
      }
    }
  });
});

describe('T steps: PLD ε <= RDP ε, PLD δ >= rigorous lower bounds, monotone in T', () => {
  it.each(SIGMAS)('Gaussian σ = %f, q in {0.001 … 1}, T in {1, 10, 1000}', (s) => {
    const mu = 1 / s;
    for (const q of RATES) {
      let previous = 0;
      for (const T of [1, 10, 1000]) {
        const c = composeHistory([{ mechanism: gauss(q, s), times: T }], SWEEP);
        const eps = pldEpsilon(c, 1e-5);
        const rdp = new RdpAccountant().step(gauss(q, s), T).getEpsilon(1e-5).epsilon;
        const tag = `σ=${s} q=${q} T=${T}`;
        expect(eps, tag).toBeLessThanOrEqual(rdp * (1 + 1e-9));
        expect(eps, tag).toBeGreaterThanOrEqual(previous);
        previous = eps;
        if (T === 1) continue; // exact comparison above
        for (const adj of ADJ) {
          for (const e of [0.5 * eps, 0.9 * eps, 1]) {
            const sum = gaussianSumBound(q, mu, T, adj, e);
            const lb = Math.max(gaussianCountBound(q, mu, T, adj, e), sum);
            const pld = deltaForEpsilon(direction(c, adj), e);
            expect(pld, `${tag} ${adj} ε=${e}`).toBeGreaterThanOrEqual(lb - ROUND);
            // q = 1: the sum is sufficient, so the bound is the exact δ; the PLD is within the error bound of docs/privacy.md
            if (q === 1 && e >= T * c.interval) {
              expect(pld, `${tag} ε=${e}`).toBeLessThanOrEqual(gaussianSumBound(q, mu, T, adj, e - T * c.interval) * (1 + 1e-9) + 1e-9);
            }
          }
        }
      }
    }
  });
});

describe('Laplace with a tiny scale: b = 0.01, C = 1 (ε0 = 100), q = 0.1, T = 30', () => {
  const m = lap(0.1, 1, 0.01);
  const acc = new PldAccountant().step(m, 30);
  it('δ(ε) >= 0.9 and >= the count lower bound at ε = 1, 5, 10, both adjacencies', () => {
    for (const eps of [1, 5, 10]) expect(acc.getDelta(eps).delta).toBeGreaterThanOrEqual(0.9);
    const c = acc.pld();
    for (const adj of ADJ) {
      for (const eps of [0.5, 1, 5, 10, 500, 1000]) {
        expect(deltaForEpsilon(direction(c, adj), eps)).toBeGreaterThanOrEqual(laplaceCountBound(0.1, 100, 30, adj, eps) - ROUND);
      }
    }
  });
  it('ε(1e-5) lies between the rigorous lower bound and min(pure ε, RDP ε)', () => {
    const eps = acc.getEpsilon(1e-5).epsilon;
    const lower = epsilonWhereAbove((e) => laplaceCountBound(0.1, 100, 30, 'remove', e), 1e-5);
    expect(lower).toBeGreaterThan(500);
    expect(eps).toBeGreaterThanOrEqual(lower);
    expect(eps).toBeLessThanOrEqual(laplacePureDp({ sampleRate: 0.1, clip: 1, scale: 0.01, steps: 30 }));
    expect(eps).toBeLessThanOrEqual(new RdpAccountant().step(m, 30).getEpsilon(1e-5).epsilon);
  });
  it('ε0 = 1000 (e^{ε0} overflows) stays finite and sound: pure ε, RDP and PLD all defined', () => {
    const big = lap(0.1, 1, 0.001);
    const pure = laplacePureDp({ sampleRate: 0.1, clip: 1, scale: 0.001, steps: 3 });
    expect(pure).toBeCloseTo(3 * (1000 + Math.log(0.1)), 6);
    const e = new PldAccountant().step(big, 3).getEpsilon(1e-5).epsilon;
    expect(e).toBeLessThanOrEqual(pure);
    expect(e).toBeGreaterThanOrEqual(epsilonWhereAbove((x) => laplaceCountBound(0.1, 1000, 3, 'remove', x), 1e-5));
    expect(Number.isFinite(new RdpAccountant().step(big, 3).getEpsilon(1e-5).epsilon)).toBe(true);
  });
});
