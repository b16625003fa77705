// defines: planNoise — the noise of a training run before any release: σ (or b) calibrated to reach the
// budget after the planned steps, or an explicitly given noise checked against it. Either way the result is
// the Mechanism each step releases, so plan, ledger and report carry one description of the release.
import type { AccountantKind } from './accountant.js';
import { calibrateNoise } from './calibrate.js';
import { PrivacyError } from './errors.js';
import type { Budget } from './ledger-format.js';
import type { Mechanism } from './mechanism.js';
import { epsilonOfSteps } from './spent.js';

/** What {@link planNoise} calibrates (or checks): the budget, the mechanism, the sampling, the number of releases. */
export interface NoiseRequest {
  /** The (ε, δ) the planned releases may spend. */
  budget: Budget;
  /** The noise mechanism. */
  mechanism: 'gaussian' | 'laplace';
  /** Poisson sampling rate q in (0, 1]. */
  sampleRate: number;
  /** Number of releases T. */
  steps: number;
  /** Clip C: the L1 sensitivity of a Laplace release (a Gaussian σ is relative to it). */
  clip: number;
  /** The accountant that measures ε (PLD needs δ ≥ 1e-12). */
  accountant: AccountantKind;
  /** Explicit noise instead of calibration (must still fit the budget for the planned steps). */
  noiseMultiplier?: number;
  /** Explicit Laplace scale b instead of calibration (must fit the budget). */
  laplaceScale?: number;
}

/** What {@link planNoise} returns: the mechanism every step releases, the ε it predicts, and whether the noise was calibrated. */
export interface NoisePlan {
  /** What every step releases. */
  mechanism: Mechanism;
  /** ε the accountant predicts after all planned steps. */
  epsilon: number;
  /** Whether the noise came from calibration (else it was given). */
  calibrated: boolean;
}

function gaussianOrLaplace(kind: 'gaussian' | 'laplace', sampleRate: number, clip: number, noise: number): Mechanism {
  return kind === 'gaussian' ? { kind, sampleRate, noiseMultiplier: noise } : { kind, sampleRate, clip, scale: noise };
}

/** The smallest δ a PLD-planned run takes: the accountant's truncated tails carry 1e-15 of mass per step. */
export const PLD_MIN_DELTA = 1e-12;

/**
 * The noise of a run before any release: σ (or b) calibrated to reach the budget after `steps` releases, or the explicit noise checked against it.
 * @throws {@link PrivacyError} `ERR_BUDGET_IMPOSSIBLE` when no noise (or not the given one) fits the budget; `ERR_ARGUMENT` for δ below 1e-12 with the PLD
 * accountant, a budget met with (almost) no noise (calibrateNoise), or another bad argument.
 */
export function planNoise(r: NoiseRequest): NoisePlan {
  const { budget, steps } = r;
  // below this the PLD's own truncation dominates δ: ε comes out infinite, or calibration drifts to a
  // noise level far above what the budget needs, with nothing said
  if (r.accountant === 'pld' && budget.delta < PLD_MIN_DELTA) {
    throw new PrivacyError(
      'ERR_ARGUMENT',
      `delta ${budget.delta} is below ${PLD_MIN_DELTA}, the smallest the PLD accountant resolves: use accountant rdp, or a larger delta`,
    );
  }
  const explicit = r.mechanism === 'gaussian' ? r.noiseMultiplier : r.laplaceScale;
  if (explicit !== undefined) {
    const m = gaussianOrLaplace(r.mechanism, r.sampleRate, r.clip, explicit);
    const eps = epsilonOfSteps(m, steps, budget.delta, r.accountant);
    if (!(eps <= budget.epsilon)) {
      throw new PrivacyError(
        'ERR_BUDGET_IMPOSSIBLE',
        `${steps} steps at ${r.mechanism === 'gaussian' ? 'σ' : 'b'} = ${explicit} spend ε = ${eps.toPrecision(4)} > the budget ${budget.epsilon} (δ = ${budget.delta})`,
      );
    }
    return { mechanism: m, epsilon: eps, calibrated: false };
  }
  const impossible = `no noise level reaches ε = ${budget.epsilon}, δ = ${budget.delta} in ${steps} steps at sampling rate ${r.sampleRate.toPrecision(3)}`;
  let c: { noiseMultiplier?: number; laplaceScale?: number; epsilon: number };
  try {
    c = calibrateNoise({
      epsilon: budget.epsilon,
      delta: budget.delta,
      sampleRate: r.sampleRate,
      steps,
      mechanism: r.mechanism,
      accountant: r.accountant,
      clip: r.clip,
    });
  } catch (e) {
    // a budget met with (almost) no noise is not one no noise meets: it read "no noise level reaches ε = …: … holds with no noise"
    if (e instanceof PrivacyError && e.code === 'ERR_ARGUMENT') throw e;
    throw new PrivacyError('ERR_BUDGET_IMPOSSIBLE', `${impossible}: ${(e as Error).message}`);
  }
  const noise = r.mechanism === 'gaussian' ? c.noiseMultiplier : c.laplaceScale;
  if (noise === undefined || !Number.isFinite(noise) || noise <= 0) throw new PrivacyError('ERR_BUDGET_IMPOSSIBLE', impossible);
  return { mechanism: gaussianOrLaplace(r.mechanism, r.sampleRate, r.clip, noise), epsilon: c.epsilon, calibrated: true };
}
