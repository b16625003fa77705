// defines: calibrateNoise, maxSteps — the noise (σ or b) that reaches a target (ε, δ), and the steps a noise affords,
// by bisection on an accountant (ε falls with the noise and grows with the steps).

import { accountantNamed } from './accountant-name.js';
import { argumentError, checkDelta, checkEpsilon, checkPositive, checkSampleRate, checkSteps, PrivacyError } from './errors.js';
import { unknownKey } from '../unknown-key.js';
import { PldAccountant, RdpAccountant, type PldBound } from './accountant.js';
import type { Mechanism } from './mechanism.js';
import { OPACUS_ORDERS } from './orders.js';
import { pureEpsilon } from './pure.js';
import type { PldOptions } from './pld.js';
import type { RdpConversion } from './rdp.js';

/** The accountant a calibration or step search uses: RDP, PLD (the default), or pure ε (Laplace only: basic composition of the amplified ε'). */
export type CalibrationAccountant = 'rdp' | 'pld' | 'pure';

/** The accountant names {@link calibrateNoise} and {@link maxSteps} take: 'prv' is Opacus' name for the same PLD accounting (reported as 'pld'). */
export type CalibrationAccountantName = CalibrationAccountant | 'prv';

const CALIBRATION_ACCOUNTANTS: readonly CalibrationAccountant[] = ['pld', 'rdp', 'pure'];

/**
 * The accountant a calibration name stands for ('prv' is 'pld'), as calibrateNoise and maxSteps take it and `dpzo calibrate
 * --accountant` does (`field` names the flag there).
 * @throws {@link PrivacyError} `ERR_ARGUMENT` naming `field` for another name.
 */
export function calibrationAccountant(name: unknown, field = 'accountant'): CalibrationAccountant {
  return accountantNamed(name, CALIBRATION_ACCOUNTANTS, field);
}

/** Options of {@link calibrateNoise}: the target (ε, δ), the sampling and the number of releases. */
export interface CalibrateOptions {
  /** Target ε (> 0). */
  epsilon: number;
  /** Target δ (ignored by the 'pure' accountant, which is Laplace only). */
  delta: number;
  /** Poisson sampling rate q in (0, 1]. */
  sampleRate: number;
  /** Number of releases T (a positive integer). */
  steps: number;
  /** Noise mechanism (default `'gaussian'`). */
  mechanism?: 'gaussian' | 'laplace';
  /**
   * Default 'pld' (the tight accountant; 'prv', Opacus' name for it, is the same); 'pure' is the basic composition of amplified
   * pure DP (Laplace).
   */
  accountant?: CalibrationAccountantName;
  /** L1 sensitivity C of the Laplace release (default 1); the Gaussian's σ is relative to C. */
  clip?: number;
  /** Relative bracket width at which bisection stops, in [2^-52, 1) (default 1e-3). */
  tolerance?: number;
  /** RDP orders (default: dp_accounting's; with opacusCompat, Opacus'). */
  orders?: readonly number[];
  /** RDP → (ε, δ) conversion (default `'improved'`). */
  conversion?: RdpConversion;
  /** PLD accountant options (see {@link PldOptions}). */
  pld?: PldOptions;
  /** Opacus get_noise_multiplier semantics (RDP, Opacus orders, σ_high from 20, stop when target − ε <= 0.01). */
  opacusCompat?: boolean;
}

/** What {@link calibrateNoise} returns. */
export interface CalibrateResult {
  /** Gaussian: the noise multiplier σ (noise std / L2 sensitivity C). */
  noiseMultiplier?: number;
  /** Laplace: the scale b (in the units of C). */
  laplaceScale?: number;
  /** ε reached by the returned noise (<= the target). */
  epsilon: number;
  /** The accountant that measured ε ('pld' for 'prv'). */
  accountant: CalibrationAccountant;
  /** Relative precision of the noise: noise·(1 − tolerance) would exceed the target. */
  tolerance: number;
}

type NoiseToEpsilon = (noise: number) => number;

function epsilonFunction(
  kind: 'gaussian' | 'laplace',
  acc: CalibrationAccountant,
  o: { delta: number; sampleRate: number; steps: number; clip: number; orders?: readonly number[]; conversion?: RdpConversion; pld?: PldOptions },
): (noise: number, steps?: number) => number {
  const g = boundFunction(kind, acc, o);
  return (noise, steps) => g(noise, steps).epsilon;
}

/** As epsilonFunction, with the PLD accountant's `bound`: which of its valid bounds answered (see {@link PldBound}). */
function boundFunction(
  kind: 'gaussian' | 'laplace',
  acc: CalibrationAccountant,
  o: { delta: number; sampleRate: number; steps: number; clip: number; orders?: readonly number[]; conversion?: RdpConversion; pld?: PldOptions },
): (noise: number, steps?: number) => { epsilon: number; bound?: PldBound } {
  const mech = (noise: number): Mechanism =>
    kind === 'gaussian' ? { kind, sampleRate: o.sampleRate, noiseMultiplier: noise } : { kind, sampleRate: o.sampleRate, clip: o.clip, scale: noise };
  return (noise, steps = o.steps) => {
    if (steps === 0) return { epsilon: 0 };
    if (acc === 'pure') return { epsilon: pureEpsilon([{ mechanism: mech(noise), times: steps }]) };
    if (acc === 'rdp')
      return { epsilon: new RdpAccountant({ orders: o.orders, conversion: o.conversion }).step(mech(noise), steps).getEpsilon(o.delta).epsilon };
    return new PldAccountant(o.pld).step(mech(noise), steps).getEpsilon(o.delta);
  };
}

/**
 * Bisection for the smallest noise with ε(noise) <= target, to a relative bracket `tol`; `start` is a first guess.
 * `upper`, when given, is a cheap bound with f <= upper everywhere: where upper(noise) <= target, f(noise) <= target too, so
 * the decision is taken without evaluating f (its value is computed only if that noise is returned). The decisions, and so
 * the returned noise, are exactly those of the bisection on f alone.
 */
function bisectNoise(f: NoiseToEpsilon, target: number, tol: number, start: number, upper?: NoiseToEpsilon): { noise: number; epsilon: number } {
  // NaN stands for "not evaluated, known to be <= target"
  const within = (noise: number): number => (upper !== undefined && upper(noise) <= target ? NaN : f(noise));
  const fits = (e: number) => Number.isNaN(e) || e <= target;
  let hi = start;
  let epsHi = within(hi);
  let lo: number;
  if (fits(epsHi)) {
    // walk down until the target is exceeded, halving as the walk up doubles: steps of 0.9 took ~8 PLD evaluations
    // (seconds each at a small noise) where the RDP first guess was twice the PLD answer (δ near 1)
    for (;;) {
      lo = hi / 2;
      const e = within(lo);
      if (!fits(e)) break;
      hi = lo;
      epsHi = e;
      if (hi < 1e-8) throw new PrivacyError('ERR_ARGUMENT', 'the target ε is reached with almost no noise; check epsilon and delta');
    }
  } else {
    for (;;) {
      lo = hi;
      hi *= 2;
      epsHi = within(hi);
      if (fits(epsHi)) break;
      if (hi > 1e7)
        throw new PrivacyError(
          'ERR_BUDGET_IMPOSSIBLE',
          `no noise up to 1e7 reaches epsilon=${target}: the budget is too small for these steps and sampling rate`,
        );
    }
  }
  while (hi - lo > tol * hi) {
    const mid = (lo + hi) / 2;
    const e = within(mid);
    if (fits(e)) {
      hi = mid;
      epsHi = e;
    } else {
      lo = mid;
    }
  }
  return { noise: hi, epsilon: Number.isNaN(epsHi) ? f(hi) : epsHi };
}

/**
 * The PLD calibration. The PLD accountant reports the smaller of its PLD and RDP bounds (dp_accounting's orders, improved
 * conversion), so ε_PLD <= ε_RDP at every noise, and RDP decides cheaply wherever it already meets the target (the same
 * decisions, so the same σ, one PLD evaluation fewer).
 *
 * Where the PLD bound does not beat RDP (T = 1e12 at q = 0.01: each noise cost a ~1.5 s composition that RDP then won,
 * twelve times over), the RDP-calibrated noise σ_R is the answer: ε_PLD(σ_R) <= ε_RDP(σ_R) <= target, and one PLD
 * evaluation at σ_R·(1 − tol) confirms that a smaller noise exceeds the target. That is tried when the first PLD
 * evaluation of the bisection is answered by the RDP bound; if the probe fails the bisection resumes (its first
 * evaluation remembered).
 */
function calibratePld(
  f: (noise: number) => { epsilon: number; bound?: PldBound },
  rdp: NoiseToEpsilon,
  target: number,
  tol: number,
  unit: number,
): { noise: number; epsilon: number } {
  // RDP is cheap and close: its answer is a good first guess for the PLD bisection
  const start = bisectNoise(rdp, target, 0.05, unit).noise;
  const seen = new Map<number, number>();
  const rdpAnswered = new Error('the RDP bound answered the first PLD evaluation');
  const pld = (noise: number): number => {
    let e = seen.get(noise);
    if (e === undefined) {
      const r = f(noise);
      e = r.epsilon;
      const first = seen.size === 0;
      seen.set(noise, e);
      if (first && r.bound === 'rdp') throw rdpAnswered;
    }
    return e;
  };
  try {
    return bisectNoise(pld, target, tol, start, rdp);
  } catch (e) {
    if (e !== rdpAnswered) throw e;
  }
  const rdpNoise = bisectNoise(rdp, target, tol, start).noise;
  if (pld(rdpNoise * (1 - tol)) > target) return { noise: rdpNoise, epsilon: pld(rdpNoise) };
  return bisectNoise(pld, target, tol, start, rdp);
}

/** Opacus get_noise_multiplier, step for step (for reproducing its published values). */
function opacusNoiseMultiplier(f: NoiseToEpsilon, target: number, epsilonTolerance = 0.01): { noise: number; epsilon: number } {
  let epsHigh = Infinity;
  let sigmaLow = 0;
  let sigmaHigh = 10;
  while (epsHigh > target) {
    sigmaHigh *= 2;
    epsHigh = f(sigmaHigh);
    if (sigmaHigh > 2000) throw new PrivacyError('ERR_BUDGET_IMPOSSIBLE', 'The privacy budget is too low.');
  }
  while (target - epsHigh > epsilonTolerance) {
    const sigma = (sigmaLow + sigmaHigh) / 2;
    const e = f(sigma);
    if (e < target) {
      sigmaHigh = sigma;
      epsHigh = e;
    } else {
      sigmaLow = sigma;
    }
  }
  return { noise: sigmaHigh, epsilon: epsHigh };
}

const CALIBRATE_KEYS: Record<keyof CalibrateOptions, true> = {
  epsilon: true,
  delta: true,
  sampleRate: true,
  steps: true,
  mechanism: true,
  accountant: true,
  clip: true,
  tolerance: true,
  orders: true,
  conversion: true,
  pld: true,
  opacusCompat: true,
};
const MAX_STEPS_KEYS: Record<keyof MaxStepsOptions, true> = {
  epsilon: true,
  delta: true,
  sampleRate: true,
  mechanism: true,
  noiseMultiplier: true,
  laplaceScale: true,
  clip: true,
  accountant: true,
  orders: true,
  conversion: true,
  pld: true,
  limit: true,
};

/** A misspelt option was ignored: { Clip: 2 } calibrated the Laplace scale for C = 1, half the noise needed. */
function checkKeys(options: object, known: object, what: string): void {
  if (typeof options !== 'object' || options === null) throw argumentError(what, options, 'an object of options');
  const unknown = unknownKey(options, known);
  if (unknown !== undefined) throw new PrivacyError('ERR_ARGUMENT', `${unknown} is not an option of ${what} (misspelt?)`);
}

/**
 * δ at or above 1 − (1 − q)^T, the probability that Poisson sampling picks a given example in any of the T steps: the
 * outputs then differ by at most that much in total variation whatever is released, so (0, δ) holds with no noise at all
 * and there is no smallest noise to find. calibrateNoise({ epsilon: 100, delta: 1e-5, sampleRate: 1e-9, steps: 1 }) walked
 * the PLD down from σ = 0.06 for ~100 s (blocking the event loop) and returned σ ≈ 1.2e-5 with ε = 0.
 */
function refuseTrivialDelta(delta: number, sampleRate: number, steps: number): void {
  const reach = -Math.expm1(steps * Math.log1p(-sampleRate)); // 1 − (1 − q)^T (1 when q = 1)
  if (delta >= reach) {
    throw new PrivacyError(
      'ERR_ARGUMENT',
      `delta ${delta} is at least 1 − (1 − q)^T = ${reach.toPrecision(6)}, the chance that a given example is sampled at all in ${steps} steps at ` +
        `sampling rate ${sampleRate}: such a (ε, δ) holds with no noise at all, so no noise is calibrated (δ must be far smaller, below 1/N)`,
    );
  }
}

/**
 * The noise multiplier σ (Gaussian) or Laplace scale b that reaches (ε, δ) after `steps` releases at rate q.
 * Guarantee: the returned noise gives ε <= target, and noise·(1 − tolerance) gives ε > target.
 *
 * @throws {@link PrivacyError} `ERR_ARGUMENT` naming a bad option, or when the target is met with almost no noise (σ below 1e-8),
 * or with none at all (δ ≥ 1 − (1 − q)^T: every release is then (0, δ)-DP); `ERR_BUDGET_IMPOSSIBLE` when no noise reaches the
 * target (none up to 1e7; with opacusCompat, none up to 2000), as planNoise codes it.
 * @example
 * ```ts
 * import { calibrateNoise } from 'dpzo';
 *
 * const { noiseMultiplier, epsilon } = calibrateNoise({ epsilon: 3, delta: 1e-5, sampleRate: 0.01, steps: 1000 });
 * // noiseMultiplier: the smallest σ (±0.1 %) whose 1000 releases spend at most ε = 3 at δ = 1e-5 (PLD)
 * ```
 */
export function calibrateNoise(options: CalibrateOptions): CalibrateResult {
  checkKeys(options, CALIBRATE_KEYS, 'calibrateNoise');
  const target = checkPositive('epsilon', options.epsilon);
  const kind = options.mechanism ?? 'gaussian';
  if (kind !== 'gaussian' && kind !== 'laplace') throw argumentError('mechanism', kind, "'gaussian' or 'laplace'");
  const acc = options.opacusCompat ? 'rdp' : calibrationAccountant(options.accountant ?? 'pld');
  if (acc === 'pure' && kind !== 'laplace') throw argumentError('accountant', acc, "'rdp' or 'pld' for the Gaussian mechanism");
  const delta = acc === 'pure' ? 0.5 : checkDelta(options.delta);
  const sampleRate = checkSampleRate(options.sampleRate);
  const steps = checkSteps(options.steps, 'steps', false);
  const clip = checkPositive('clip', options.clip ?? 1);
  const tolerance = checkPositive('tolerance', options.tolerance ?? 1e-3);
  // below one ulp the bracket cannot narrow: the bisection looped forever (mid rounds to lo or hi)
  if (tolerance >= 1 || tolerance < Number.EPSILON)
    throw argumentError('tolerance', tolerance, `in [${Number.EPSILON}, 1) (a float64 bracket narrows no further)`);
  if (acc !== 'pure') refuseTrivialDelta(delta, sampleRate, steps);
  const orders = options.opacusCompat ? OPACUS_ORDERS : options.orders;
  const f = epsilonFunction(kind, acc, { delta, sampleRate, steps, clip, orders, conversion: options.conversion, pld: options.pld });
  let r: { noise: number; epsilon: number };
  if (options.opacusCompat) {
    if (kind !== 'gaussian') throw argumentError('mechanism', kind, "'gaussian' with opacusCompat");
    r = opacusNoiseMultiplier((s) => f(s), target);
  } else if (kind === 'laplace' && acc === 'pure') {
    // closed form: T·log(1 + q(e^{ε0} − 1)) = ε  =>  ε0 = log(1 + (e^{ε/T} − 1)/q), b = C/ε0; nudged up until ε <= target
    let b = clip / Math.log1p(Math.expm1(target / steps) / sampleRate);
    while (f(b) > target) b *= 1 + 1e-12;
    r = { noise: b, epsilon: f(b) };
  } else {
    const unit = kind === 'gaussian' ? 1 : clip;
    if (acc === 'pld') {
      // the RDP bound inside the PLD accountant: default orders and conversion, whatever options.orders says
      const g = epsilonFunction(kind, 'rdp', { delta, sampleRate, steps, clip });
      const fb = boundFunction(kind, 'pld', { delta, sampleRate, steps, clip, pld: options.pld });
      r = calibratePld(
        (s) => fb(s),
        (s) => g(s),
        target,
        tolerance,
        unit,
      );
    } else {
      r = bisectNoise((s) => f(s), target, tolerance, unit);
    }
  }
  const out: CalibrateResult = { epsilon: r.epsilon, accountant: acc, tolerance: options.opacusCompat ? 0.01 : tolerance };
  if (kind === 'gaussian') out.noiseMultiplier = r.noise;
  else out.laplaceScale = r.noise;
  return out;
}

/** Options of {@link maxSteps}: the target (ε, δ) and a fixed noise. */
export interface MaxStepsOptions {
  /** Target ε. */
  epsilon: number;
  /** Target δ in (0, 1) (ignored by the `'pure'` accountant). */
  delta: number;
  /** Poisson sampling rate q in (0, 1]. */
  sampleRate: number;
  /** Noise mechanism (default: `'laplace'` when laplaceScale is given, else `'gaussian'`). */
  mechanism?: 'gaussian' | 'laplace';
  /** Gaussian σ (required for the Gaussian mechanism). */
  noiseMultiplier?: number;
  /** Laplace scale b (required for the Laplace mechanism). */
  laplaceScale?: number;
  /** L1 sensitivity C of the Laplace release (default 1). */
  clip?: number;
  /** Accountant (default `'pld'`; `'prv'`, Opacus' name for it, is the same). */
  accountant?: CalibrationAccountantName;
  /** RDP orders (default: dp_accounting's). */
  orders?: readonly number[];
  /** RDP → (ε, δ) conversion (default `'improved'`). */
  conversion?: RdpConversion;
  /** PLD accountant options. */
  pld?: PldOptions;
  /** Upper limit of the search (default 1e8). */
  limit?: number;
}

/**
 * The largest number of steps T with ε(T) <= target (0 when even one step exceeds it), searched up to `limit`; `epsilon` is ε(T).
 *
 * @throws {@link PrivacyError} `ERR_ARGUMENT` naming a bad option (a missing noise included).
 */
export function maxSteps(options: MaxStepsOptions): { steps: number; epsilon: number } {
  checkKeys(options, MAX_STEPS_KEYS, 'maxSteps');
  const target = checkEpsilon(options.epsilon);
  const kind = options.mechanism ?? (options.laplaceScale !== undefined ? 'laplace' : 'gaussian');
  const acc = calibrationAccountant(options.accountant ?? 'pld');
  // as calibrateNoise: the Gaussian has no pure ε (it answered 'steps 0, epsilon 0' for any σ)
  if (acc === 'pure' && kind !== 'laplace') throw argumentError('accountant', acc, "'rdp' or 'pld' for the Gaussian mechanism");
  const delta = acc === 'pure' ? 0.5 : checkDelta(options.delta);
  const sampleRate = checkSampleRate(options.sampleRate);
  const clip = checkPositive('clip', options.clip ?? 1);
  const noise = kind === 'gaussian' ? checkPositive('noiseMultiplier', options.noiseMultiplier) : checkPositive('laplaceScale', options.laplaceScale);
  const limit = checkSteps(options.limit ?? 1e8, 'limit', false);
  const f = epsilonFunction(kind, acc, { delta, sampleRate, steps: 1, clip, orders: options.orders, conversion: options.conversion, pld: options.pld });
  const eps = (t: number) => f(noise, t);
  if (eps(1) > target) return { steps: 0, epsilon: 0 };
  let lo = 1;
  let epsLo = eps(1);
  let hi = 2;
  for (;;) {
    if (hi > limit) {
      hi = limit;
      const e = eps(hi);
      if (e <= target) return { steps: hi, epsilon: e };
      break;
    }
    const e = eps(hi);
    if (e > target) break;
    lo = hi;
    epsLo = e;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const e = eps(mid);
    if (e <= target) {
      lo = mid;
      epsLo = e;
    } else {
      hi = mid;
    }
  }
  return { steps: lo, epsilon: epsLo };
}
