// Noise calibration: Opacus' published σ, the bisection guarantee, and the affordable number of steps.
import { describe, expect, it } from 'vitest';
import { calibrateNoise, epsilonOfSteps, maxSteps, PldAccountant, RdpAccountant, laplacePureDp } from '../../../lib/privacy/index.js';

describe('Opacus get_noise_multiplier (ε=8, δ=1e-5, q=0.04, RDP)', () => {
  it.each([
    [2250, 1.416],
    [2000, 1.3562],
  ])('T=%i -> σ = %f (4 decimals)', (steps, sigma) => {
    const r = calibrateNoise({ epsilon: 8, delta: 1e-5, sampleRate: 0.04, steps, opacusCompat: true });
    expect(Math.abs(r.noiseMultiplier! - sigma)).toBeLessThan(5e-5);
    expect(r.epsilon).toBeLessThanOrEqual(8);
    expect(8 - r.epsilon).toBeLessThanOrEqual(0.01); // Opacus stops once within epsilon_tolerance
  });
});

describe('calibration round trip: σ gives ε <= target, σ·(1 − tol) gives more', () => {
  it('Gaussian, RDP, tolerance 1e-4', () => {
    const o = { epsilon: 3, delta: 1e-6, sampleRate: 0.01, steps: 5000, accountant: 'rdp' as const, tolerance: 1e-4 };
    const r = calibrateNoise(o);
    const eps = (s: number) => new RdpAccountant().step({ kind: 'gaussian', sampleRate: 0.01, noiseMultiplier: s }, 5000).getEpsilon(1e-6).epsilon;
    expect(eps(r.noiseMultiplier!)).toBeLessThanOrEqual(3);
    expect(eps(r.noiseMultiplier!)).toBe(r.epsilon);
    expect(eps(r.noiseMultiplier! * (1 - 1e-4))).toBeGreaterThan(3);
  });
  it('Gaussian, PLD, tolerance 1e-2 (and below the RDP σ)', () => {
    const o = { epsilon: 2, delta: 1e-5, sampleRate: 0.05, steps: 100, tolerance: 1e-2 };
    const r = calibrateNoise({ ...o, accountant: 'pld' });
    const eps = (s: number) => new PldAccountant().step({ kind: 'gaussian', sampleRate: 0.05, noiseMultiplier: s }, 100).getEpsilon(1e-5).epsilon;
    expect(eps(r.noiseMultiplier!)).toBeLessThanOrEqual(2);
    expect(eps(r.noiseMultiplier! * (1 - 1e-2))).toBeGreaterThan(2);
    expect(r.noiseMultiplier!).toBeLessThan(calibrateNoise({ ...o, accountant: 'rdp' }).noiseMultiplier!);
  });
  it('Laplace, pure DP, closed form', () => {
    const r = calibrateNoise({ epsilon: 2, delta: 1e-5, sampleRate: 0.01, steps: 1000, mechanism: 'laplace', accountant: 'pure', clip: 0.5 });
    const e = laplacePureDp({ sampleRate: 0.01, clip: 0.5, scale: r.laplaceScale!, steps: 1000 });
    expect(e).toBeLessThanOrEqual(2);
    expect(e).toBeGreaterThan(2 - 1e-9);
  });
  it('Laplace, RDP, tolerance 1e-2', () => {
    const r = calibrateNoise({ epsilon: 1, delta: 1e-5, sampleRate: 0.02, steps: 200, mechanism: 'laplace', accountant: 'rdp', tolerance: 1e-2 });
    const eps = (b: number) => new RdpAccountant().step({ kind: 'laplace', sampleRate: 0.02, clip: 1, scale: b }, 200).getEpsilon(1e-5).epsilon;
    expect(eps(r.laplaceScale!)).toBeLessThanOrEqual(1);
    expect(eps(r.laplaceScale! * 0.99)).toBeGreaterThan(1);
  });
  it('rejects bad input naming the parameter', () => {
    expect(() => calibrateNoise({ epsilon: 1, delta: 2, sampleRate: 0.1, steps: 10 })).toThrow(/delta/);
    expect(() => calibrateNoise({ epsilon: 1, delta: 1e-5, sampleRate: 0.1, steps: 1.5 })).toThrow(/steps/);
    expect(() => calibrateNoise({ epsilon: NaN, delta: 1e-5, sampleRate: 0.1, steps: 10 })).toThrow(/epsilon/);
    expect(() => calibrateNoise({ epsilon: 1, delta: 1e-5, sampleRate: 0.1, steps: 10, mechanism: 'gaussian', accountant: 'pure' })).toThrow(/accountant/);
  });
});

describe('maxSteps', () => {
  it('is the last T with ε(T) <= target (RDP)', () => {
    const r = maxSteps({ epsilon: 8, delta: 1e-5, sampleRate: 0.04, noiseMultiplier: 1.5, accountant: 'rdp' });
    const eps = (t: number) => new RdpAccountant().step({ kind: 'gaussian', sampleRate: 0.04, noiseMultiplier: 1.5 }, t).getEpsilon(1e-5).epsilon;
    expect(eps(r.steps)).toBeLessThanOrEqual(8);
    expect(eps(r.steps + 1)).toBeGreaterThan(8);
    expect(r.steps).toBeGreaterThan(2250); // σ=1.5 > 1.416 affords more than Opacus' 2250 steps
  });
  it("Laplace pure: T·ε' <= ε", () => {
    const r = maxSteps({ epsilon: 1, delta: 1e-5, sampleRate: 0.1, mechanism: 'laplace', laplaceScale: 10, clip: 1, accountant: 'pure' });
    const per = Math.log1p(0.1 * Math.expm1(0.1));
    expect(r.steps).toBe(Math.floor(1 / per));
  });
  it('refuses the pure accountant for the Gaussian, as calibrateNoise does (it answered 0 steps at ε 0 for any σ)', () => {
    expect(() => maxSteps({ epsilon: 1, delta: 1e-5, sampleRate: 0.1, noiseMultiplier: 2, accountant: 'pure' })).toThrow(
      expect.objectContaining({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/^accountant must be 'rdp' or 'pld' for the Gaussian mechanism/) }),
    );
    expect(maxSteps({ epsilon: 1, delta: 1e-5, sampleRate: 0.1, laplaceScale: 20, accountant: 'pure' }).steps).toBeGreaterThan(0);
  });
  it('returns 0 when one step already exceeds the target', () => {
    expect(maxSteps({ epsilon: 0.01, delta: 1e-5, sampleRate: 1, noiseMultiplier: 1, accountant: 'rdp' }).steps).toBe(0);
  });
});

describe('planNoise with a δ below what PLD resolves', () => {
  it('is an argument error naming the way out (it used to calibrate a useless σ in silence)', async () => {
    const { planNoise } = await import('../../../lib/privacy/plan.js');
    const req = { budget: { epsilon: 8, delta: 1e-300 }, mechanism: 'gaussian' as const, sampleRate: 0.01, steps: 100, clip: 1 };
    expect(() => planNoise({ ...req, accountant: 'pld' })).toThrow(
      expect.objectContaining({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/accountant rdp/) }),
    );
    expect(planNoise({ ...req, accountant: 'rdp' }).epsilon).toBeLessThanOrEqual(8);
    expect(planNoise({ ...req, budget: { epsilon: 8, delta: 1e-12 }, accountant: 'pld' }).epsilon).toBeLessThanOrEqual(8);
  });
});

describe('option names', () => {
  it('a name that is not an option is ERR_ARGUMENT naming it: a misspelt clip calibrated the Laplace scale for C = 1', () => {
    const o = { epsilon: 2, delta: 1e-5, sampleRate: 0.01, steps: 100, mechanism: 'laplace' as const, accountant: 'rdp' as const };
    expect(() => calibrateNoise({ ...o, Clip: 2 } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_ARGUMENT', message: expect.stringContaining('Clip') }),
    );
    expect(() => calibrateNoise({ ...o, acountant: 'pld' } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_ARGUMENT', message: expect.stringContaining('acountant') }),
    );
    expect(() => maxSteps({ epsilon: 2, delta: 1e-5, sampleRate: 0.01, laplaceScale: 4, clp: 2 } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_ARGUMENT', message: expect.stringContaining('clp') }),
    );
    expect(calibrateNoise({ ...o, clip: 2 }).laplaceScale).toBeGreaterThan(0);
  });
});

describe('epsilonOfSteps', () => {
  it('refuses a step count that is not a non-negative integer (-5 answered ε = 0)', () => {
    const m = { kind: 'gaussian' as const, sampleRate: 0.01, noiseMultiplier: 1 };
    expect(() => epsilonOfSteps(m, -5, 1e-5, 'pld')).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT', message: expect.stringContaining('steps') }));
    expect(() => epsilonOfSteps(m, Number.NaN, 1e-5, 'rdp')).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }));
    expect(epsilonOfSteps(m, 0, 1e-5, 'pld')).toBe(0);
  });
});
