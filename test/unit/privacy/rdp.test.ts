// Published RDP values (../shared/reference/privacy-vectors.md) at their tolerances, and RDP properties.
import { describe, expect, it } from 'vitest';
import {
  computeRdpGaussian,
  deltaFromRdp,
  epsilonFromRdp,
  rdpSubsampledGaussian,
  rdpLaplace,
  rdpSubsampledLaplace,
  OPACUS_ORDERS,
  DP_ACCOUNTING_ORDERS,
  TF_PRIVACY_ORDERS,
  RdpAccountant,
} from '../../../lib/privacy/index.js';
import { logRenyiMomentInteger, _logRenyiMomentQuadrature } from '../../../lib/privacy/rdp-laplace.js';

const orders2to32 = Array.from({ length: 31 }, (_, i) => i + 2);
const sum = (a: Float64Array, b: Float64Array) => a.map((v, i) => v + b[i]);

describe('default orders', () => {
  it('match Opacus and dp_accounting', () => {
    expect(OPACUS_ORDERS.length).toBe(99 + 52);
    expect(OPACUS_ORDERS[0]).toBe(1.1);
    expect(OPACUS_ORDERS[98]).toBe(10.9);
    expect(OPACUS_ORDERS).not.toContain(11);
    expect(OPACUS_ORDERS.at(-1)).toBe(63);
    expect(DP_ACCOUNTING_ORDERS.length).toBe(99 + 53 + 4);
    expect(DP_ACCOUNTING_ORDERS).toContain(11);
    expect(DP_ACCOUNTING_ORDERS.slice(-4)).toEqual([128, 256, 512, 1024]);
  });
});

describe('RDP of the Poisson-subsampled Gaussian (published values)', () => {
  it('Opacus test_rdp_accountant: q=0.04, σ=1.5, T=2250, δ=1e-5 -> ε = 7.32911117143 at α = 3.9 (1e-7)', () => {
    const r = epsilonFromRdp(OPACUS_ORDERS, computeRdpGaussian(0.04, 1.5, 2250, OPACUS_ORDERS), 1e-5, 'improved');
    expect(Math.abs(r.epsilon - 7.32911117143)).toBeLessThan(1e-7);
    expect(r.order).toBe(3.9);
  });

  it('single step at α = 3.9 matches the mpmath integral to 1e-9 relative', () => {
    const v = rdpSubsampledGaussian(0.04, 1.5, 3.9);
    expect(Math.abs(v / 1.833202199583812e-3 - 1)).toBeLessThan(1e-9);
  });

  it('TF Privacy test_compute_rdp_sequence (exact signed series), rtol 1e-4', () => {
    const got = computeRdpGaussian(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100, Infinity]);
    const want = [6.5007e-4, 1.0854e-3, 2.1808e-3, 2.3846e-2, 1.6742e2];
    want.forEach((w, i) => expect(Math.abs(got[i] / w - 1)).toBeLessThan(1e-4));
    expect(got[5]).toBe(Infinity);
    // the absolute-value series (dp_accounting since 2024) would give 6.7058e-4 at α = 1.5: ours is the signed one
    expect(Math.abs(got[0] - 6.7058e-4)).toBeGreaterThan(1e-5);
  });

  it('TF Privacy test_compute_rdp_scalar: q=0.1, σ=2, T=10, α=5 -> 0.07737 (5 decimals)', () => {
    expect(computeRdpGaussian(0.1, 2, 10, [5])[0]).toBeCloseTo(0.07737, 5);
  });

  it('TF Privacy test_compute_rdp_no_sampling: q=1, σ=10, α=20 -> α/(2σ²) = 0.1', () => {
    expect(rdpSubsampledGaussian(1, 10, 20)).toBe(0.1);
  });

  it('q = 0 gives 0 at every order; σ = 0 gives ∞', () => {
    expect(Array.from(computeRdpGaussian(0, 1, 100, DP_ACCOUNTING_ORDERS)).every((v) => v === 0)).toBe(true);
    expect(rdpSubsampledGaussian(0, 1, Infinity)).toBe(0);
    expect(rdpSubsampledGaussian(0.1, 0, 2)).toBe(Infinity);
  });

  it('Opacus rdp.py docstring: heterogeneous composition -> ε = 0.336 at α = 23', () => {
    const r = sum(computeRdpGaussian(1e-5, 1, 10, orders2to32), computeRdpGaussian(1e-4, 3, 4, orders2to32));
    const e = epsilonFromRdp(orders2to32, r, 1e-5);
    expect(e.epsilon).toBeCloseTo(0.336, 3);
    expect(e.order).toBe(23);
    const acc = new RdpAccountant({ orders: orders2to32 })
      .step({ kind: 'gaussian', sampleRate: 1e-5, noiseMultiplier: 1 }, 10)
      .step({ kind: 'gaussian', sampleRate: 1e-4, noiseMultiplier: 3 }, 4);
    expect(acc.getEpsilon(1e-5).epsilon).toBeCloseTo(0.336, 3);
  });

  it('TF Privacy test_check_composition (classic conversion) -> 8.509656 at α = 2.5', () => {
    const o = [1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 64, 256];
    const r = sum(computeRdpGaussian(1e-4, 0.4, 40000, o), computeRdpGaussian(0.1, 2, 100, o));
    const e = epsilonFromRdp(o, r, 1e-5, 'classic');
    expect(e.epsilon).toBeCloseTo(8.509656, 6);
    expect(e.order).toBe(2.5);
  });

  it('dp_accounting test_compute_epsilon_delta_pure_dp: rdp = 1.1 at orders 2..32 -> 1.32783806176 at α = 32', () => {
    // the vectors file labels this "classic", but the published number is the improved (Balle et al.) conversion:
    // classic would give 1.1 + log(1e5)/31 = 1.4714
    const e = epsilonFromRdp(
      orders2to32,
      orders2to32.map(() => 1.1),
      1e-5,
      'improved',
    );
    expect(e.epsilon).toBeCloseTo(1.32783806176, 10);
    expect(e.order).toBe(32);
    expect(
      epsilonFromRdp(
        orders2to32,
        orders2to32.map(() => 1.1),
        1e-5,
        'classic',
      ).epsilon,
    ).toBeCloseTo(1.1 + Math.log(1e5) / 31, 12);
  });

  it.each([
    [60000, 150, 1.3, 15, 1e-5, 0.7242234026109595, 19],
    [100000, 100, 1.0, 30, 1e-7, 1.4154988495444842, 13],
  ])('TF Privacy compute_dp_sgd_privacy n=%i batch=%i σ=%f epochs=%i', (n, batch, sigma, epochs, delta, eps, order) => {
    const q = batch / n;
    const steps = Math.ceil((epochs * n) / batch);
    const e = epsilonFromRdp(TF_PRIVACY_ORDERS, computeRdpGaussian(q, sigma, steps, TF_PRIVACY_ORDERS), delta);
    expect(Math.abs(e.epsilon - eps)).toBeLessThan(1e-9);
    expect(e.order).toBe(order);
  });
});

describe('RDP -> δ', () => {
  it('inverts the ε conversion at the optimal order', () => {
    const r = computeRdpGaussian(0.04, 1.5, 2250, OPACUS_ORDERS);
    for (const conv of ['improved', 'classic'] as const) {
      const e = epsilonFromRdp(OPACUS_ORDERS, r, 1e-5, conv);
      const d = deltaFromRdp(OPACUS_ORDERS, r, e.epsilon, conv);
      expect(d.delta).toBeLessThanOrEqual(1e-5 * (1 + 1e-9));
      expect(d.delta).toBeGreaterThan(0.5e-5);
      expect(deltaFromRdp(OPACUS_ORDERS, r, e.epsilon * 0.9, conv).delta).toBeGreaterThan(1e-5);
    }
  });
});

describe('RDP properties', () => {
  const eps = (q: number, s: number, t: number) => epsilonFromRdp(DP_ACCOUNTING_ORDERS, computeRdpGaussian(q, s, t, DP_ACCOUNTING_ORDERS), 1e-5).epsilon;
  it('ε grows with T and q and falls with σ', () => {
    expect(eps(0.01, 1, 200)).toBeLessThan(eps(0.01, 1, 400));
    expect(eps(0.01, 1, 200)).toBeLessThan(eps(0.02, 1, 200));
    expect(eps(0.01, 1.2, 200)).toBeLessThan(eps(0.01, 1, 200));
  });
  it('per-order RDP is at most the unsampled Gaussian and increasing in α', () => {
    const o = DP_ACCOUNTING_ORDERS;
    const r = computeRdpGaussian(0.3, 0.8, 1, o);
    for (let k = 0; k < o.length; k++) {
      expect(r[k]).toBeLessThanOrEqual(o[k] / (2 * 0.8 * 0.8) + 1e-12);
      if (k > 0) expect(r[k]).toBeGreaterThanOrEqual(r[k - 1] - 1e-12);
    }
  });
  it('fractional orders interpolate between the neighbouring integer orders (series vs exact sums)', () => {
    for (const [q, s] of [
      [0.01, 0.7],
      [0.2, 1.1],
      [0.6, 3],
    ]) {
      const a = rdpSubsampledGaussian(q, s, 4),
        b = rdpSubsampledGaussian(q, s, 4.0000001),
        c = rdpSubsampledGaussian(q, s, 5);
      expect(Math.abs(b - a) / a).toBeLessThan(1e-5);
      expect(rdpSubsampledGaussian(q, s, 4.5)).toBeGreaterThan(a);
      expect(rdpSubsampledGaussian(q, s, 4.5)).toBeLessThan(c);
    }
  });
});

describe('RDP of the Laplace mechanism (Mironov 2017, Prop. 6)', () => {
  it.each([
    [1, 1, 0.36787944117144233],
    [1, 1.5, 0.5128835112945086],
    [1, 2, 0.6191236299985929],
    [1, 10, 0.9286829020966803],
    [1, 100, 0.9930491450632687],
    [0.1, 2, 0.00964420784034467],
  ])('ε0=%f α=%f -> %f', (e, a, want) => {
    expect(Math.abs(rdpLaplace(e, a) - want)).toBeLessThan(1e-14);
  });
  it('α = ∞ gives ε0', () => expect(rdpLaplace(0.7, Infinity)).toBe(0.7));
  it('subsampled: q = 1 reduces to Prop. 6; α = ∞ to log(1 + q(e^ε0 − 1))', () => {
    expect(rdpSubsampledLaplace(1, 1.3, 7)).toBe(rdpLaplace(1.3, 7));
    expect(rdpSubsampledLaplace(0.2, 2, Infinity)).toBeCloseTo(Math.log(1 + 0.2 * (Math.exp(2) - 1)), 14);
  });
  it('subsampled: the quadrature matches the exact binomial sums at integer orders', () => {
    for (const [q, e, a] of [
      [0.2, 2, 2],
      [0.01, 1, 32],
      [0.5, 5, 256],
      [0.1, 0.3, 1024],
      [0.99, 10, 7],
    ]) {
      const exact = logRenyiMomentInteger(q, e, a);
      expect(Math.abs(_logRenyiMomentQuadrature(q, e, a) - exact)).toBeLessThan(1e-11 * Math.max(1, exact));
    }
  });
  it('subsampled: below the unsampled value, above 0, increasing in q and in α', () => {
    for (const a of [1.5, 2, 3.3, 10, 64]) {
      const v = rdpSubsampledLaplace(0.1, 1, a);
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThan(rdpLaplace(1, a));
      expect(v).toBeLessThan(rdpSubsampledLaplace(0.2, 1, a));
      expect(v).toBeLessThanOrEqual(rdpSubsampledLaplace(0.1, 1, a + 0.5));
      expect(v).toBeLessThanOrEqual(Math.log(1 + 0.1 * (Math.E - 1)) + 1e-12); // below the pure-DP bound (α = ∞)
    }
  });
});

describe('argument errors', () => {
  const bad: Array<[string, () => unknown, RegExp]> = [
    ['q > 1', () => rdpSubsampledGaussian(1.5, 1, 2), /sampleRate/],
    ['q NaN', () => rdpSubsampledGaussian(NaN, 1, 2), /sampleRate/],
    ['σ < 0', () => rdpSubsampledGaussian(0.1, -1, 2), /noiseMultiplier/],
    ['α <= 1', () => rdpSubsampledGaussian(0.1, 1, 1), /order/],
    ['T non-integer', () => computeRdpGaussian(0.1, 1, 2.5, [2]), /steps/],
    ['δ = 0', () => epsilonFromRdp([2], [1], 0), /delta/],
    ['δ = 1', () => epsilonFromRdp([2], [1], 1), /delta/],
    ['mechanism σ = 0', () => new RdpAccountant().step({ kind: 'gaussian', sampleRate: 0.1, noiseMultiplier: 0 }), /noiseMultiplier/],
    ['mechanism q = 0', () => new RdpAccountant().step({ kind: 'gaussian', sampleRate: 0, noiseMultiplier: 1 }), /sampleRate/],
    ['times NaN', () => new RdpAccountant().step({ kind: 'gaussian', sampleRate: 0.1, noiseMultiplier: 1 }, NaN), /times/],
  ];
  it.each(bad)('%s -> ERR_ARGUMENT naming the parameter', (_n, f, re) => {
    let err: unknown;
    try {
      f();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect((err as { code?: string }).code).toBe('ERR_ARGUMENT');
    expect((err as Error).message).toMatch(re);
  });
});
