// calibrateNoise (PLD) at the two slow edges: δ just below 1 − (1 − q)^T (ε jumps from 0 to ~10 over σ ∈ [0.11, 0.14],
// where every PLD composition spans millions of grid points) and T = 1e12 steps (each PLD composition, ~1.5 s, lost to the
// accountant's own RDP bound, twelve times). The answer is checked with a fresh accountant: the returned σ meets the target
// and σ·(1 − tolerance) does not. The PLD evaluations are counted (not timed): the T = 1e12 search took 12, it now takes 3.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { calibrateNoise, PldAccountant } from './helpers.js';

const gauss = (q: number, s: number) => ({ kind: 'gaussian' as const, sampleRate: q, noiseMultiplier: s });
const pldEpsilon = (q: number, s: number, T: number, delta: number) => new PldAccountant().step(gauss(q, s), T).getEpsilon(delta).epsilon;

/** calibrateNoise with the PLD accountant's evaluations counted. */
function calibrateCounted(o: { epsilon: number; delta: number; sampleRate: number; steps: number }) {
  const spy = vi.spyOn(PldAccountant.prototype, 'getEpsilon');
  const r = calibrateNoise(o);
  const evaluations = spy.mock.calls.length;
  spy.mockRestore();
  return { sigma: r.noiseMultiplier!, epsilon: r.epsilon, tolerance: r.tolerance, evaluations };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('calibrateNoise at its slow edges: the answer checked independently', () => {
  it('T = 1e12, q = 0.01, ε = 3, δ = 1e-5 (the RDP bound answers): σ meets ε, σ·(1 − tol) does not; 3 PLD evaluations (were 12)', () => {
    const o = { epsilon: 3, delta: 1e-5, sampleRate: 0.01, steps: 1e12 };
    const r = calibrateCounted(o);
    expect(r.evaluations).toBeLessThanOrEqual(3);
    const at = pldEpsilon(o.sampleRate, r.sigma, o.steps, o.delta);
    expect(at).toBe(r.epsilon);
    expect(at).toBeLessThanOrEqual(o.epsilon);
    expect(pldEpsilon(o.sampleRate, r.sigma * (1 - r.tolerance), o.steps, o.delta)).toBeGreaterThan(o.epsilon);
  });

  it('δ = 0.999·(1 − (1 − q)^T), q = 0.1, T = 2, ε = 1: σ meets ε, σ·(1 − tol) does not; one PLD evaluation fewer than before (13)', () => {
    const q = 0.1;
    const T = 2;
    const o = { epsilon: 1, delta: 0.999 * -Math.expm1(T * Math.log1p(-q)), sampleRate: q, steps: T };
    const r = calibrateCounted(o);
    expect(r.evaluations).toBeLessThanOrEqual(12);
    const at = pldEpsilon(q, r.sigma, T, o.delta);
    expect(at).toBe(r.epsilon);
    expect(at).toBeLessThanOrEqual(o.epsilon);
    expect(pldEpsilon(q, r.sigma * (1 - r.tolerance), T, o.delta)).toBeGreaterThan(o.epsilon);
  });
});

describe('calibrateNoise (PLD): σ does not move where the PLD bound is the tight one', () => {
  // the σ the plain bisection on the PLD accountant returned before RDP took the decisions it can take: the search now
  // evaluates the PLD less often but must take exactly the same decisions
  it.each([
    [{ epsilon: 8, delta: 1e-5, sampleRate: 0.04, steps: 2250 }, 1.34625244140625, 7.996661296974598],
    [{ epsilon: 3, delta: 1e-5, sampleRate: 0.01, steps: 1000 }, 0.81390380859375, 2.996820505219875],
    [{ epsilon: 0.5, delta: 1e-5, sampleRate: 0.02, steps: 500 }, 3.2957763671875, 0.49970238109628756],
  ])('%o: σ = %d, ε = %d', (o, sigma, epsilon) => {
    const r = calibrateCounted(o);
    expect(r.sigma).toBe(sigma);
    expect(r.epsilon).toBe(epsilon);
    expect(r.sigma).toBeLessThan(calibrateNoise({ ...o, accountant: 'rdp' }).noiseMultiplier!);
  });
});
