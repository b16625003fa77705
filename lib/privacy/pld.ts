// defines: PldOptions, mechanismPlds, composeHistory, pldEpsilon, pldDelta — the tight accountant's analysis
// (pure functions; the stateful PldAccountant lives in accountant.ts).

import { checkDelta, checkEpsilon, checkPositive, argumentError, GridTooLargeError, PrivacyError } from './errors.js';
import type { HistoryEntry, Mechanism } from './mechanism.js';
import { gaussianPair, laplacePair, type Adjacency, type LossPair } from './pld-pairs.js';
import { discretizePair, type DiscretePld, type Discretization } from './pld-discretize.js';
import { composePlds } from './pld-compose.js';
import { deltaForEpsilon, epsilonForDelta } from './pld-query.js';

/** Options of the PLD accountant (grid, discretisation, truncation), with dp_accounting's defaults. */
export interface PldOptions {
  /** Grid spacing of the privacy loss (default 1e-4, dp_accounting's value_discretization_interval). */
  interval?: number;
  /** Pessimistic discretisation (default 'connect-dots'). */
  discretization?: Discretization;
  /** Truncated tail mass per step and per composition tail (default 1e-15), counted pessimistically. */
  tailMass?: number;
  /** Largest FFT length (default 2^22); the interval is doubled until the composition fits. */
  maxFftSize?: number;
}

/** {@link PldOptions} with every default filled in (as a PLD accountant uses them). */
export interface ResolvedPldOptions {
  /** Grid spacing of the privacy loss (nats; default 1e-4). */
  interval: number;
  /** Pessimistic discretisation (default `'connect-dots'`). */
  discretization: Discretization;
  /** Loss mass truncated per tail, counted pessimistically (default 1e-15). */
  tailMass: number;
  /** Largest FFT length (default 2^22). */
  maxFftSize: number;
}

export function resolvePldOptions(o: PldOptions = {}): ResolvedPldOptions {
  const interval = checkPositive('interval', o.interval ?? 1e-4);
  const discretization = o.discretization ?? 'connect-dots';
  if (discretization !== 'connect-dots' && discretization !== 'round-up') {
    throw argumentError('discretization', discretization, "'connect-dots' or 'round-up'");
  }
  const tailMass = checkPositive('tailMass', o.tailMass ?? 1e-15);
  if (tailMass >= 1e-3) throw argumentError('tailMass', tailMass, '< 1e-3');
  const maxFftSize = o.maxFftSize ?? 2 ** 22;
  if (!Number.isInteger(Math.log2(maxFftSize)) || maxFftSize < 2) throw argumentError('maxFftSize', maxFftSize, 'a power of two');
  return { interval, discretization, tailMass, maxFftSize };
}

/** The dominating pair(s) of one release: [remove, add] for q < 1; one pair (both directions alike) for q = 1. */
export function mechanismPairs(m: Mechanism): { remove: LossPair; add: LossPair | null } {
  if (m.kind === 'none') throw new PrivacyError('ERR_ARGUMENT', 'a release without noise has no privacy loss distribution (ε = ∞)');
  const pair = (adj: Adjacency): LossPair =>
    m.kind === 'gaussian' ? gaussianPair(m.sampleRate, 1 / m.noiseMultiplier, adj) : laplacePair(m.sampleRate, m.clip / m.scale, adj);
  return { remove: pair('remove'), add: m.sampleRate === 1 ? null : pair('add') };
}

/** The composed privacy loss distributions of a history of releases (both adjacency directions), from which ε(δ) and δ(ε) are read. */
export interface ComposedPld {
  /** Composed remove-direction PLD (and add-direction when any step has q < 1). */
  remove: DiscretePld;
  /** Composed add-direction PLD (null when every step has q = 1: the two directions then coincide). */
  add: DiscretePld | null;
  /** The interval actually used (larger than requested when the composition needed coarsening). */
  interval: number;
}

/**
 * The coarsest PLD grid (nats) the accountant will use. Tiny σ over many steps legitimately needs a grid of a few nats
 * (ε is then in the hundreds); beyond 1000 nats nothing is resolved, and ~1e15 releases coarsened the grid until the
 * discretisation produced NaN (an ERR_INTERNAL).
 */
const MAX_INTERVAL = 1000;

/** The history is too long for any PLD grid up to 1000 nats (MAX_INTERVAL; an `ERR_ARGUMENT`; the accountant then reports its RDP bound). */
export class PldGridError extends PrivacyError {
  /**
   * A refusal with code `ERR_ARGUMENT`.
   *
   * @param message Why no grid fits.
   */
  constructor(message: string) {
    super('ERR_ARGUMENT', message);
  }
}

const pairCache = new Map<string, { remove: DiscretePld; add: DiscretePld | null }>();
let cachedPoints = 0;

function discretizeMechanism(m: Mechanism, o: ResolvedPldOptions, interval: number, capPoints?: number): { remove: DiscretePld; add: DiscretePld | null } {
  const key = `${JSON.stringify(m)}|${interval}|${o.discretization}|${o.tailMass}|${capPoints}`;
  let hit = pairCache.get(key);
  if (!hit) {
    const pairs = mechanismPairs(m);
    const opts = { interval, discretization: o.discretization, tailMass: o.tailMass, maxPoints: o.maxFftSize, capPoints };
    hit = { remove: discretizePair(pairs.remove, opts), add: pairs.add ? discretizePair(pairs.add, opts) : null };
    const points = hit.remove.probs.length + (hit.add?.probs.length ?? 0);
    // bounded by size, not count: one step of a tiny-σ mechanism can take millions of points
    if (pairCache.size >= 64 || cachedPoints + points > 2 ** 24) {
      pairCache.clear();
      cachedPoints = 0;
    }
    pairCache.set(key, hit);
    cachedPoints += points;
  }
  return hit;
}

/** Composes a history of (mechanism, times) for both adjacency directions. */
export function composeHistory(history: readonly HistoryEntry[], options: PldOptions = {}): ComposedPld {
  const o = resolvePldOptions(options);
  const steps = history.filter((h) => h.times > 0);
  if (steps.length === 0) throw new PrivacyError('ERR_ARGUMENT', 'the history is empty: nothing has been released');
  // A step whose losses span only a few points of the grid is discretised on a finer one where the composition still fits
  // (see refinedInterval); every grid gives a pessimistic PLD, so either result is an upper bound.
  const fine = refinedInterval(steps, o);
  if (fine < o.interval) {
    const refined = composeAt(steps, o, fine, Math.min(o.maxFftSize, REFINED_FFT_SIZE), o.interval);
    if (refined) return refined;
  }
  try {
    return composeAt(steps, o, o.interval, o.maxFftSize, Infinity)!;
  } catch (e) {
    if (!(e instanceof PldGridError)) throw e;
    // Last resort: no grid holds the whole loss range (σ = 1e-5 puts a sampled step's losses near μ²/2 = 5e9 nats while
    // the unsampled mass sits at log(1 − q) ≈ 0; the accountant then reported RDP's 5.5e9 at q = 1e-9, δ = 1e-5, where the
    // true ε is 0 since δ >= 1 − (1 − q)^T). Each step keeps its lowest CAPPED_POINTS grid points and counts the losses
    // above at +∞ (pessimistic: see discretizePair), which resolves every δ above the composed mass at +∞ (about the
    // chance of being sampled); below it ε is ∞ here and the accountant's RDP bound answers.
    const capped = composeAt(steps, o, o.interval, o.maxFftSize, Infinity, CAPPED_POINTS);
    if (capped) return capped;
    throw e;
  }
}

/** Grid points per step kept by the capped last resort of composeHistory (26 nats at the default interval). */
const CAPPED_POINTS = 2 ** 18;

/** Fewest grid points one step's losses should span before the default grid is refined for it. */
const MIN_STEP_POINTS = 64;
/** Largest FFT a refined grid may take (4× faster than the default limit); beyond it the default grid is used. */
const REFINED_FFT_SIZE = 2 ** 20;

/**
 * The grid interval at which every step spans at least {@link MIN_STEP_POINTS} points (o.interval when it already does).
 * On a grid far coarser than one step's losses connect-dots adds ~Δ·E|L| of variance per step instead of E[L²], an
 * error that grows with T: σ = 2e4 at q = 0.01 over 1e8 steps gave ε = 0.204 on the 1e-4 grid (RDP: 0.0145) and 0.0123
 * on a 1e-7 grid.
 */
function refinedInterval(steps: readonly HistoryEntry[], o: ResolvedPldOptions): number {
  let interval = o.interval;
  for (const h of steps) {
    for (let k = 0; k < 6; k++) {
      let d;
      try {
        d = discretizeMechanism(h.mechanism, o, interval);
      } catch (e) {
        if (e instanceof GridTooLargeError) break; // a step wider than any grid: nothing to refine
        throw e;
      }
      if (Math.min(d.remove.probs.length, d.add?.probs.length ?? Infinity) >= MIN_STEP_POINTS) break;
      interval /= 16;
    }
  }
  return interval;
}

/**
 * The composition on the grid `start`, coarsened by powers of two until it fits `fftLimit`; null once the interval would
 * reach `ceiling` (the caller then composes on its own grid), PldGridError beyond {@link MAX_INTERVAL}. `capPoints`: see
 * {@link DiscretizeOptions.capPoints}.
 */
function composeAt(
  steps: readonly HistoryEntry[],
  o: ResolvedPldOptions,
  start: number,
  fftLimit: number,
  ceiling: number,
  capPoints?: number,
): ComposedPld | null {
  let interval = start;
  for (let tries = 0; ; tries++) {
    try {
      const d = steps.map((h) => ({ times: h.times, pmf: discretizeMechanism(h.mechanism, { ...o, maxFftSize: fftLimit }, interval, capPoints) }));
      const co = { tailMass: o.tailMass, maxFftSize: fftLimit };
      const remove = composePlds(
        d.map((x) => ({ pld: x.pmf.remove, times: x.times })),
        co,
      );
      const anyAdd = d.some((x) => x.pmf.add !== null);
      const add = anyAdd
        ? composePlds(
            d.map((x) => ({ pld: x.pmf.add ?? x.pmf.remove, times: x.times })),
            co,
          )
        : null;
      return { remove, add, interval };
    } catch (e) {
      if (!(e instanceof GridTooLargeError) || tries >= 40) throw e;
      // the grid length scales like 1/interval: coarsen by the power of two that should fit (at least 2)
      const next = interval * 2 ** Math.max(1, Math.ceil(Math.log2(e.needed / e.limit)));
      if (next >= ceiling) return null;
      if (!(next <= MAX_INTERVAL)) {
        const releases = steps.reduce((n, h) => n + h.times, 0);
        throw new PldGridError(
          `the PLD accountant cannot represent ${releases} releases (its loss grid would need an interval of ${next} > ${MAX_INTERVAL}); use fewer steps or the RDP accountant`,
        );
      }
      interval = next;
    }
  }
}

/** ε(δ) of a composed PLD: the worse of the two directions. */
export function pldEpsilon(c: ComposedPld, delta: number): number {
  const d = checkDelta(delta);
  const e = epsilonForDelta(c.remove, d);
  return c.add ? Math.max(e, epsilonForDelta(c.add, d)) : e;
}

/** δ(ε) of a composed PLD: the worse of the two directions. */
export function pldDelta(c: ComposedPld, epsilon: number): number {
  const e = checkEpsilon(epsilon);
  const d = deltaForEpsilon(c.remove, e);
  return c.add ? Math.max(d, deltaForEpsilon(c.add, e)) : d;
}

export type { DiscretePld, Discretization };
