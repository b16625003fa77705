// The PLD accountant at a tiny σ with a tiny sampling rate (σ = 1e-5: a sampled step's losses sit near μ²/2 = 5e9 nats,
// the unsampled mass at log(1 − q) ≈ 0). No grid up to 1000 nats held that range, so the accountant reported its RDP bound,
// ε ≈ 5.5e9 per step at δ = 1e-5, q = 1e-9, where the true ε is 0: δ >= 1 − (1 − q)^T, the chance of being sampled at all
// (amplification by sampling of a (0, 1)-DP release: (0, q) per step). It now composes a capped grid (losses above the cap
// counted at +∞, see discretizePair's capPoints) and reports the smaller of that and RDP: both stay upper bounds.
import { describe, expect, it } from 'vitest';
import { deltaForEpsilon, discretizePair, gaussianPair, hockeyStick, PldAccountant, RdpAccountant } from './helpers.js';
import { gaussianCountBound, gaussianHockeyStick, type Adj } from './reference.js';

const gauss = (q: number, s: number) => ({ kind: 'gaussian' as const, sampleRate: q, noiseMultiplier: s });
const ADJ: Adj[] = ['remove', 'add'];
/** ε of T steps by amplification (a release is (0, 1)-DP; sampled at rate q it is (0, q)) and basic composition of δ. */
const amplifiedEpsilon = (q: number, T: number, delta: number) => (delta >= T * q ? 0 : Infinity);

describe('capped discretisation: still a dominating pair', () => {
  it('δ(ε) of a step whose losses are cut at ~1 nat is >= the exact hockey-stick below and above the cap', () => {
    for (const adj of ADJ) {
      const pair = gaussianPair(0.1, 1 / 0.3, adj);
      const full = discretizePair(pair, { interval: 1e-3, discretization: 'connect-dots', tailMass: 1e-15, maxPoints: 2 ** 22 });
      const capped = discretizePair(pair, { interval: 1e-3, discretization: 'connect-dots', tailMass: 1e-15, maxPoints: 2 ** 22, capPoints: 1000 });
      expect(capped.probs.length).toBe(1000);
      expect(full.probs.length).toBeGreaterThan(1000); // the cap cut something
      expect(capped.infinityMass).toBeGreaterThan(full.infinityMass);
      for (const eps of [0, 0.2, 0.5, 0.9, 1.5, 3, 6]) {
        const exact = hockeyStick(pair, eps);
        expect(deltaForEpsilon(capped, eps)).toBeGreaterThanOrEqual(exact - 1e-12);
        expect(deltaForEpsilon(capped, eps)).toBeGreaterThanOrEqual(deltaForEpsilon(full, eps) - 1e-9);
      }
    }
  });
});

describe('σ = 1e-5, q = 1e-9 (losses near 5e9 nats)', () => {
  const q = 1e-9;
  const mu = 1e5;

  it('one step: ε(1e-5) is 0 (was RDP 5.5e9), δ(ε) never below the quadrature reference', () => {
    const acc = new PldAccountant().step(gauss(q, 1e-5), 1);
    const rdp = new RdpAccountant().step(gauss(q, 1e-5), 1).getEpsilon(1e-5).epsilon;
    const r = acc.getEpsilon(1e-5);
    expect(r.bound).toBe('pld');
    expect(r.epsilon).toBeLessThanOrEqual(amplifiedEpsilon(q, 1, 1e-5));
    expect(r.epsilon).toBeLessThan(rdp);
    expect(rdp).toBeGreaterThan(1e9); // RDP cannot see it
    for (const eps of [0, 1, 300]) {
      const exact = Math.max(gaussianHockeyStick(q, mu, 'remove', eps), gaussianHockeyStick(q, mu, 'add', eps));
      expect(exact).toBeGreaterThan(0.99e-9);
      const d = acc.getDelta(eps).delta;
      expect(d).toBeGreaterThanOrEqual(exact * (1 - 1e-9));
      expect(d).toBeLessThan(exact * 1.001); // sane: the chance of being sampled, not 1
    }
    // below the chance of being sampled the answer stays RDP's (the capped grid has that mass at +∞), and a valid one
    const below = acc.getEpsilon(5e-10);
    expect(below.bound).toBe('rdp');
    expect(below.epsilon).toBeGreaterThan(4e9); // the true ε there is ≈ μ²/2 + log q ≈ 5e9 (quadrature: 4999999488)
  });

  it('T = 10: ε(1e-5) is 0 (was 5.5e10), δ(0) above the count-map lower bound and near 1 − (1 − q)^T', () => {
    const T = 10;
    const acc = new PldAccountant().step(gauss(q, 1e-5), T);
    expect(acc.getEpsilon(1e-5).epsilon).toBeLessThanOrEqual(amplifiedEpsilon(q, T, 1e-5));
    const reach = -Math.expm1(T * Math.log1p(-q));
    for (const eps of [0, 2]) {
      const lower = Math.max(...ADJ.map((adj) => gaussianCountBound(q, mu, T, adj, eps)));
      const d = acc.getDelta(eps).delta;
      expect(d).toBeGreaterThanOrEqual(lower - 1e-15);
      expect(d).toBeLessThanOrEqual(reach * 1.01);
    }
  });

  it('σ = 1e-4, T = 1000: ε(1e-5) is 0 (was RDP 5.5e10), above the lower bound, RDP below the sampling chance', () => {
    const T = 1000;
    const acc = new PldAccountant().step(gauss(q, 1e-4), T);
    expect(acc.getEpsilon(1e-5).epsilon).toBeLessThanOrEqual(amplifiedEpsilon(q, T, 1e-5));
    const lower = Math.max(...ADJ.map((adj) => gaussianCountBound(q, 1e4, T, adj, 0)));
    expect(acc.getDelta(0).delta).toBeGreaterThanOrEqual(lower - 1e-15);
    const tiny = acc.getEpsilon(1e-7);
    expect(tiny.epsilon).toBe(new RdpAccountant().step(gauss(q, 1e-4), T).getEpsilon(1e-7).epsilon);
  });
});
