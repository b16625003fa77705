// Published PLD / hockey-stick values and properties of the tight accountant.
import { describe, expect, it } from 'vitest';
import {
  composeHistory,
  gaussianPair,
  hockeyStick,
  laplacePair,
  pldDelta,
  pldEpsilon,
  PldAccountant,
  RdpAccountant,
  laplacePureDp,
  normCdfForTests,
} from './helpers.js';

const gauss = (q: number, s: number) => ({ kind: 'gaussian' as const, sampleRate: q, noiseMultiplier: s });
const lap = (q: number, c: number, b: number) => ({ kind: 'laplace' as const, sampleRate: q, clip: c, scale: b });

/** Analytic δ(ε) of the Gaussian mechanism with μ = Δ/sd (Balle & Wang 2018). */
const gaussianDelta = (mu: number, eps: number) => normCdfForTests(-eps / mu + mu / 2) - Math.exp(eps) * normCdfForTests(-eps / mu - mu / 2);

describe('exact hockey-stick of one step (vectors file)', () => {
  it.each([
    [1, 1, 1, 'remove', 1, 0.12693674, 1e-8],
    [1, 3, 1, 'remove', 1, 0.78760074, 1e-8],
    [1, 1, 1, 'remove', 2, 0.02092364, 1e-8],
    [1, 1, 0.8, 'add', 1, 0.0231362104090899, 1e-14],
    [1, 1, 0.8, 'remove', 1, 0.0816951786585355, 1e-14],
    [2, 6, 0.4, 'remove', 1, 0.2888308005139968, 1e-14],
  ] as const)('Gaussian sd=%f Δ=%f q=%f %s ε=%f -> %f', (sd, d, q, adj, eps, want, tol) => {
    expect(Math.abs(hockeyStick(gaussianPair(q, d / sd, adj), eps) - want)).toBeLessThan(tol);
  });
  it.each([
    [1, 1, 1, 'remove', 0, 0.39346934, 1e-8],
    [2, 4, 1, 'add', 0.5, 0.52763345, 1e-8],
    [2, 4, 0.8, 'add', 0.5, 0.3243606497234246, 1e-14],
    [2, 4, 0.8, 'remove', 0.5, 0.4039564635032081, 1e-14],
    [1, 1, 0.6, 'remove', 0.2, 0.1741992102060086, 1e-14],
  ] as const)('Laplace b=%f Δ=%f q=%f %s ε=%f -> %f', (b, d, q, adj, eps, want, tol) => {
    expect(Math.abs(hockeyStick(laplacePair(q, d / b, adj), eps) - want)).toBeLessThan(tol);
  });
  it('Laplace q=1 closed form δ = 1 − e^{(ε−ε0)/2} on |ε| <= ε0', () => {
    for (const e of [-0.5, 0, 0.3, 0.9]) expect(hockeyStick(laplacePair(1, 1, 'remove'), e)).toBeCloseTo(1 - Math.exp((e - 1) / 2), 14);
    expect(hockeyStick(laplacePair(1, 1, 'remove'), 1.01)).toBe(0);
  });
});

describe('PLD accountant (published values)', () => {
  it('q=0.04, σ=1.5, T=2249, δ=1e-5: ε = 6.76705 (dp_accounting PLD, PRV estimate), inside the PRV bounds', () => {
    const e = new PldAccountant().step(gauss(0.04, 1.5), 2249).getEpsilon(1e-5).epsilon;
    expect(Math.abs(e - 6.76705)).toBeLessThan(1e-3);
    expect(e).toBeGreaterThan(6.7567);
    expect(e).toBeLessThan(6.7774);
  });
  it('Gaussian σ=√3 composed 3 times (μ = 1), ε=1: δ = 0.12693673750664392 (1e-6), and never below it', () => {
    const d = new PldAccountant().step(gauss(1, Math.sqrt(3)), 3).getDelta(1).delta;
    expect(Math.abs(d - 0.12693673750664392)).toBeLessThan(1e-6);
    expect(d).toBeGreaterThanOrEqual(0.12693673750664392);
  });
  it('q=0.2, σ=0.5, T=3, ε=1: δ = 0.15594 (±1e-3)', () => {
    expect(Math.abs(new PldAccountant().step(gauss(0.2, 0.5), 3).getDelta(1).delta - 0.15594)).toBeLessThan(1e-3);
  });
  it('Laplace q=0.2, b=0.5 (ε0=2), T=3: pure 2.4696449716730733; PLD at δ=1e-14: 2.46964 (±1e-3)', () => {
    expect(laplacePureDp({ sampleRate: 0.2, clip: 1, scale: 0.5, steps: 3 })).toBeCloseTo(2.4696449716730733, 13);
    const e = new PldAccountant().step(lap(0.2, 1, 0.5), 3).getEpsilon(1e-14).epsilon;
    expect(Math.abs(e - 2.46964)).toBeLessThan(1e-3);
  });
  it('Opacus test_gdp_accountant: μ = sqrt(e^{1/σ²} − 1)·sqrt(T)·q -> 6.59 < ε < 6.6 (GDP approximation via the exact Gaussian curve)', () => {
    const mu = Math.sqrt(Math.exp(1 / 1.5 ** 2) - 1) * Math.sqrt(2249) * 0.04;
    let lo = 0,
      hi = 50;
    for (let i = 0; i < 100; i++) {
      const m = (lo + hi) / 2;
      if (hockeyStick(gaussianPair(1, mu, 'remove'), m) > 1e-5) lo = m;
      else hi = m;
    }
    expect(hi).toBeGreaterThan(6.59);
    expect(hi).toBeLessThan(6.6);
  });
});

describe('PLD properties', () => {
  it('q = 1 Gaussian equals the analytic δ(ε) to 1e-6 (several σ, T, ε) and is never below it', () => {
    for (const [s, t] of [
      [1, 1],
      [2, 10],
      [5, 100],
    ] as const) {
      const c = composeHistory([{ mechanism: gauss(1, s), times: t }]);
      for (const e of [0, 0.5, 1, 2, 4]) {
        const exact = gaussianDelta(Math.sqrt(t) / s, e);
        const d = pldDelta(c, e);
        expect(Math.abs(d - exact)).toBeLessThan(1e-6);
        expect(d).toBeGreaterThanOrEqual(exact - 1e-12); // pessimistic up to rounding
      }
    }
  });
  it('both discretisations are pessimistic, and round-up is the looser one', () => {
    const h = [{ mechanism: gauss(0.1, 1), times: 100 }];
    const cd = pldEpsilon(composeHistory(h), 1e-5);
    const ru = pldEpsilon(composeHistory(h, { discretization: 'round-up' }), 1e-5);
    expect(ru).toBeGreaterThan(cd);
    expect(ru - cd).toBeLessThan(100 * 1e-4); // round-up moves each step's loss by < Δ
    // a finer grid gets closer from above
    const fine = pldEpsilon(composeHistory(h, { discretization: 'round-up', interval: 5e-5 }), 1e-5);
    expect(fine).toBeLessThan(ru);
    expect(fine).toBeGreaterThan(cd - 1e-4);
  });
  it('ε grows with T and q and falls with σ', () => {
    const e = (q: number, s: number, t: number) => new PldAccountant().step(gauss(q, s), t).getEpsilon(1e-5).epsilon;
    const base = e(0.05, 1, 100);
    expect(e(0.05, 1, 200)).toBeGreaterThan(base);
    expect(e(0.1, 1, 100)).toBeGreaterThan(base);
    expect(e(0.05, 1.3, 100)).toBeLessThan(base);
  });
  it('RDP ε >= PLD ε for the same inputs (Gaussian and Laplace)', () => {
    for (const [m, t] of [
      [gauss(0.04, 1.5), 500],
      [gauss(0.5, 2), 20],
      [gauss(1, 3), 10],
      [lap(0.1, 1, 1), 50],
      [lap(1, 1, 4), 10],
    ] as const) {
      const rdp = new RdpAccountant().step(m, t).getEpsilon(1e-6).epsilon;
      const pld = new PldAccountant().step(m, t).getEpsilon(1e-6).epsilon;
      expect(rdp).toBeGreaterThanOrEqual(pld);
    }
  });
  it('the worse adjacency is taken: remove for the subsampled Gaussian at these inputs', () => {
    const c = composeHistory([{ mechanism: gauss(0.3, 1), times: 5 }]);
    expect(c.add).not.toBeNull();
    expect(pldDelta(c, 1)).toBe(Math.max(pldDelta({ ...c, add: null }, 1), pldDelta({ ...c, remove: c.add!, add: null }, 1)));
  });
  it('heterogeneous composition equals composing the same steps in one group when identical', () => {
    const a = composeHistory([
      { mechanism: gauss(0.1, 1), times: 30 },
      { mechanism: gauss(0.1, 1), times: 20 },
    ]);
    const b = composeHistory([{ mechanism: gauss(0.1, 1), times: 50 }]);
    expect(pldEpsilon(a, 1e-6)).toBeCloseTo(pldEpsilon(b, 1e-6), 9);
    const mixed = composeHistory([
      { mechanism: gauss(0.1, 1), times: 30 },
      { mechanism: lap(0.1, 1, 2), times: 20 },
    ]);
    const onlyG = composeHistory([{ mechanism: gauss(0.1, 1), times: 30 }]);
    expect(pldEpsilon(mixed, 1e-6)).toBeGreaterThan(pldEpsilon(onlyG, 1e-6));
  });
  it('Laplace: PLD ε at tiny δ approaches the pure ε, and is below it for larger δ', () => {
    const pure = laplacePureDp({ sampleRate: 0.3, clip: 1, scale: 1, steps: 20 });
    const acc = new PldAccountant().step(lap(0.3, 1, 1), 20);
    expect(Math.abs(acc.getEpsilon(1e-15).epsilon - pure)).toBeLessThan(20 * 1e-4 + 1e-9);
    expect(acc.getEpsilon(1e-5).epsilon).toBeLessThan(pure);
  });
  it('n-dimensional Laplace: L1 sensitivity split over coordinates is dominated by the one-coordinate shift', () => {
    const one = composeHistory([{ mechanism: lap(1, 1, 1), times: 1 }]);
    for (const [a, b] of [
      [0.5, 0.5],
      [0.3, 0.7],
      [0.9, 0.1],
    ]) {
      const two = composeHistory([
        { mechanism: lap(1, a, 1), times: 1 },
        { mechanism: lap(1, b, 1), times: 1 },
      ]);
      for (const e of [0, 0.2, 0.5, 0.8, 0.95]) expect(pldDelta(two, e)).toBeLessThanOrEqual(pldDelta(one, e) + 1e-9);
    }
  });
  it('δ(ε) and ε(δ) are inverse on the discrete PLD', () => {
    const c = composeHistory([{ mechanism: gauss(0.05, 0.9), times: 300 }]);
    for (const d of [1e-3, 1e-5, 1e-8]) {
      const e = pldEpsilon(c, d);
      expect(pldDelta(c, e)).toBeLessThanOrEqual(d * (1 + 1e-9));
      expect(pldDelta(c, e * 0.999)).toBeGreaterThan(d);
    }
  });
});
