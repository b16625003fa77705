// defines: Mechanism, checkMechanism (and its σ and b checks), mechanismKey — one release of the DP-ZO step as the accountants see it.
// n directions per step are one mechanism: the Gaussian on R^n with L2 sensitivity C (std σC per coordinate) and the
// Laplace on R^n with L1 sensitivity C (scale b per coordinate) have the privacy of their one-dimensional versions.

import { argumentError, checkPositive, checkSampleRate } from './errors.js';
import { rdpSubsampledGaussian } from './rdp.js';
import { rdpSubsampledLaplace } from './rdp-laplace.js';
import { log1pQExpm1 } from './special.js';

/** One release of the Poisson-subsampled Gaussian mechanism: Gaussian noise of std σ·C on a sum of per-example vectors clipped to L2 norm C. */
export interface GaussianMechanism {
  /** Mechanism kind. */
  kind: 'gaussian';
  /** Poisson sampling rate q in (0, 1]. */
  sampleRate: number;
  /** σ: noise std divided by the L2 sensitivity (the clip C). */
  noiseMultiplier: number;
}

/** One release of the Poisson-subsampled Laplace mechanism: Laplace noise of scale b per coordinate on a sum of per-example vectors clipped to L1 norm C. */
export interface LaplaceMechanism {
  /** Mechanism kind. */
  kind: 'laplace';
  /** Poisson sampling rate q in (0, 1]. */
  sampleRate: number;
  /** L1 sensitivity C. */
  clip: number;
  /** Laplace scale b of the noise per coordinate (ε0 = C/b). */
  scale: number;
}

/**
 * No noise: the exact clipped (or unclipped) sum is released. What a non-private baseline run
 * (`--epsilon inf`) records, so its ledgers say what happened: ε = ∞ under every accountant.
 */
export interface NoNoiseMechanism {
  /** Mechanism kind. */
  kind: 'none';
  /** Poisson sampling rate q in (0, 1]. */
  sampleRate: number;
}

/**
 * One release as the accountants see it (n directions per step are one mechanism on ℝⁿ with the privacy of the one-dimensional
 * one); `'none'` marks a non-private baseline's release.
 */
export type Mechanism = GaussianMechanism | LaplaceMechanism | NoNoiseMechanism;

/** Validates a mechanism and returns a normalised copy (only its own fields). */
export function checkMechanism(m: unknown): Mechanism {
  if (typeof m !== 'object' || m === null) throw argumentError('mechanism', m, 'an object');
  const o = m as Record<string, unknown>;
  if (o.kind === 'gaussian') return { kind: 'gaussian', sampleRate: checkSampleRate(o.sampleRate), noiseMultiplier: checkNoiseMultiplier(o.noiseMultiplier) };
  if (o.kind === 'laplace') {
    const clip = checkPositive('clip', o.clip);
    return { kind: 'laplace', sampleRate: checkSampleRate(o.sampleRate), clip, scale: checkLaplaceScale(o.scale, clip) };
  }
  if (o.kind === 'none') return { kind: 'none', sampleRate: checkSampleRate(o.sampleRate) };
  throw argumentError('mechanism.kind', o.kind, "'gaussian', 'laplace' or 'none'");
}

/**
 * A Gaussian σ the accountants can represent: positive, and 1/σ² finite (the privacy loss scales with it; where it
 * overflows the release is noiseless for every purpose). `name` is what an error names: the field, or the CLI's flag.
 */
export function checkNoiseMultiplier(sigma: unknown, name = 'noiseMultiplier'): number {
  const v = checkPositive(name, sigma);
  if (!Number.isFinite(1 / (v * v))) throw argumentError(name, v, 'at least 1e-150 (below, 1/σ² overflows: no noise, no privacy to account)');
  return v;
}

/** A Laplace scale b the accountants can represent with clip C: positive, and C/b finite. `name` as {@link checkNoiseMultiplier}. */
export function checkLaplaceScale(scale: unknown, clip: number, name = 'scale'): number {
  const v = checkPositive(name, scale);
  if (!Number.isFinite(clip / v)) throw argumentError(name, v, `large enough that C/b is finite (C = ${clip}: no noise, no privacy to account)`);
  return v;
}

export function mechanismKey(m: Mechanism): string {
  if (m.kind === 'none') return `n:${m.sampleRate}`;
  return m.kind === 'gaussian' ? `g:${m.sampleRate}:${m.noiseMultiplier}` : `l:${m.sampleRate}:${m.clip}:${m.scale}`;
}

/** The RDP of one release at order α (Infinity without noise): the one per-step RDP the accountants and trackers use. */
export function stepRdpAt(m: Mechanism, order: number): number {
  if (m.kind === 'none') return Infinity;
  return m.kind === 'gaussian' ? rdpSubsampledGaussian(m.sampleRate, m.noiseMultiplier, order) : rdpSubsampledLaplace(m.sampleRate, m.clip / m.scale, order);
}

/** Pure per-step ε of a Laplace release: ε0 = C/b amplified by Poisson sampling, log(1 + q(e^{ε0} − 1)) (Balle et al. 2018, Thm. 8). */
export function laplacePureEpsilon(m: LaplaceMechanism): number {
  return log1pQExpm1(m.sampleRate, m.clip / m.scale);
}

/** `times` consecutive releases of the same mechanism (an accountant's compressed history). */
export interface HistoryEntry {
  /** The mechanism released. */
  mechanism: Mechanism;
  /** How many times in a row (a non-negative integer). */
  times: number;
}

/** Adds `times` releases of `m` to a compressed history (merged with the last entry when identical). */
export function pushHistory(history: HistoryEntry[], m: Mechanism, times: number): void {
  const last = history[history.length - 1];
  if (last && mechanismKey(last.mechanism) === mechanismKey(m)) last.times += times;
  else history.push({ mechanism: m, times });
}
