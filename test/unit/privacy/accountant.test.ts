// The stateful accountants: history compression, save/load, δ for ε, errors.
import { describe, expect, it } from 'vitest';
import { PldAccountant, RdpAccountant, OPACUS_ORDERS, createAccountant } from '../../../lib/privacy/index.js';

const g = { kind: 'gaussian' as const, sampleRate: 0.04, noiseMultiplier: 1.5 };
const l = { kind: 'laplace' as const, sampleRate: 0.1, clip: 1, scale: 2 };

describe('RdpAccountant', () => {
  it('step(m, times) equals times single steps; identical steps are merged', () => {
    const a = new RdpAccountant({ orders: OPACUS_ORDERS }).step(g, 2250);
    const b = new RdpAccountant({ orders: OPACUS_ORDERS });
    for (let i = 0; i < 2250; i++) b.step(g);
    expect(b.history).toEqual([{ mechanism: g, times: 2250 }]);
    expect(b.getEpsilon(1e-5)).toEqual(a.getEpsilon(1e-5));
    expect(Math.abs(a.getEpsilon(1e-5).epsilon - 7.32911117143)).toBeLessThan(1e-7);
    expect(a.getEpsilon(1e-5).order).toBe(3.9);
  });
  it('toJSON / fromJSON round trip (through a JSON string)', () => {
    const a = new RdpAccountant().step(g, 10).step(l, 5).step(g, 3);
    const b = RdpAccountant.fromJSON(JSON.parse(JSON.stringify(a)));
    expect(b.history).toEqual(a.history);
    expect(b.getEpsilon(1e-6)).toEqual(a.getEpsilon(1e-6));
    expect(b.steps).toBe(18);
  });
  it('getDelta is consistent with getEpsilon', () => {
    const a = new RdpAccountant().step(g, 1000);
    const e = a.getEpsilon(1e-5).epsilon;
    expect(a.getDelta(e).delta).toBeLessThanOrEqual(1e-5 * (1 + 1e-9));
    expect(a.getDelta(e - 0.1).delta).toBeGreaterThan(1e-5);
  });
  it('an empty history spends nothing', () => {
    expect(new RdpAccountant().getEpsilon(1e-5).epsilon).toBe(0);
    expect(new PldAccountant().getDelta(1).delta).toBe(0);
  });
  it('rejects a malformed JSON history', () => {
    expect(() => RdpAccountant.fromJSON({ type: 'pld', history: [] })).toThrow(/type/);
    expect(() => RdpAccountant.fromJSON({ type: 'rdp', history: [{ mechanism: { kind: 'gaussian', sampleRate: 2, noiseMultiplier: 1 }, times: 1 }] })).toThrow(
      /sampleRate/,
    );
  });
});

describe('PldAccountant', () => {
  it('toJSON / fromJSON round trip keeps options and history', () => {
    const a = new PldAccountant({ interval: 2e-4 }).step(g, 100).step(l, 10);
    const b = PldAccountant.fromJSON(JSON.parse(JSON.stringify(a)));
    expect(b.options.interval).toBe(2e-4);
    expect(b.getEpsilon(1e-5).epsilon).toBe(a.getEpsilon(1e-5).epsilon);
  });
  it('caches the composition until the next step', () => {
    const a = new PldAccountant().step(g, 100);
    const p = a.pld();
    expect(a.pld()).toBe(p);
    a.step(g);
    expect(a.pld()).not.toBe(p);
    expect(a.getEpsilon(1e-5).epsilon).toBeGreaterThan(new PldAccountant().step(g, 100).getEpsilon(1e-5).epsilon);
  });
  it('createAccountant rejects unknown kinds', () => {
    expect(() => createAccountant('gdp' as never)).toThrow(/accountant/);
  });
  it('option errors name the option', () => {
    expect(() => new PldAccountant({ interval: 0 })).toThrow(/interval/);
    expect(() => new PldAccountant({ discretization: 'nearest' as never })).toThrow(/discretization/);
  });
});
