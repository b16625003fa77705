// defines: updatePairs, applyUpdate and replayStep — the only write of θ in a DP-ZO step
// (ARCHITECTURE §3.6) and its replay. The forwards of the step read θ ± εz at virtual points and
// never write θ, so θ_{t+1} is a function of θ_t and the released (seeds, ĝ, η) alone: the trainer,
// the trajectory replay and export all run applyUpdate, and replay reproduces the trained weights
// bit for bit in every dtype (F16/BF16 round stochastically from the seeds, ARCHITECTURE §2).
import type { Model, SeedCoeff } from '../model/types.js';
import { legacyWalkStep } from './legacy-walk.js';

/** How a run's steps turn θ_t into θ_{t+1}: the exact step, or the in-place walk of runs made before it. */
export type StepForm = 'exact' | 'walk';

/** θ −= η Σ_k ĝ_k z_k / n as (seed, coefficient) pairs. */
export function updatePairs(seeds: bigint[], gHat: ArrayLike<number>, lr: number): SeedCoeff[] {
  const n = seeds.length;
  return seeds.map((seed, k) => ({ seed, coeff: -(lr * gHat[k]!) / n }));
}

/** The decay factor 1 − ηλ of decoupled weight decay, 1 without it. */
export function decayFactor(lr: number, weightDecay: number): number {
  return weightDecay > 0 && lr > 0 ? 1 - lr * weightDecay : 1;
}

/**
 * The update of a step: θ ← (1 − ηλ)(θ − η Σ_k ĝ_k z_k / n) with the decay on matrices only (never biases
 * or norms), one pass over the weights.
 */
export async function applyUpdate(model: Model, seeds: bigint[], gHat: ArrayLike<number>, lr: number, weightDecay = 0): Promise<void> {
  await model.update(updatePairs(seeds, gHat, lr), { decay: decayFactor(lr, weightDecay) });
}

/** Replays one recorded step onto θ_t, giving θ_{t+1}, in the step form the run was trained with. */
export async function replayStep(
  model: Model,
  form: StepForm,
  seeds: bigint[],
  gHat: ArrayLike<number>,
  lr: number,
  zoEps: number,
  weightDecay = 0,
): Promise<void> {
  if (form === 'walk') return legacyWalkStep(model, seeds, gHat, lr, zoEps, decayFactor(lr, weightDecay));
  await applyUpdate(model, seeds, gHat, lr, weightDecay);
}
