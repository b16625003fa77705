// defines: perturbationWalk and fusedUpdate — the exact sequence of native
// weight operations of one DP-ZO step (ARCHITECTURE §3.2 and §3.6). The trainer
// and the trajectory replay both run this one function, so replay repeats the
// same float32 roundings and reproduces the trained weights bit for bit.
import type { Model, SeedCoeff } from '../model/types.js';

/** Called with θ at θ + sign·ε·z(s_k) for the forward pass that measures ℓ^sign. */
export type Measure = (k: number, sign: 1 | -1) => Promise<void>;

/**
 * For each direction k: θ += ε z_k; measure(+); θ -= 2ε z_k; measure(−); θ += ε z_k,
 * except that the last restore is left to fusedUpdate (θ ends at θ − ε z_n).
 */
export async function perturbationWalk(model: Model, seeds: bigint[], zoEps: number, measure?: Measure): Promise<void> {
  for (let k = 0; k < seeds.length; k++) {
    await model.perturb(seeds[k]!, zoEps);
    if (measure) await measure(k, 1);
    await model.perturb(seeds[k]!, -2 * zoEps);
    if (measure) await measure(k, -1);
    if (k < seeds.length - 1) await model.perturb(seeds[k]!, zoEps);
  }
}

/** θ −= η Σ_k ĝ_k z_k / n, with the restore +ε z_n of the last direction in the same pass. */
export function fusedUpdatePairs(seeds: bigint[], gHat: ArrayLike<number>, lr: number, zoEps: number): SeedCoeff[] {
  const n = seeds.length;
  return seeds.map((seed, k) => ({ seed, coeff: (k === n - 1 ? zoEps : 0) - (lr * gHat[k]!) / n }));
}

/**
 * The update of a step: the fused restore + ZO update and decoupled weight decay θ ← (1 − ηλ)θ on
 * matrices (never biases or norms) when λ > 0, in one pass over the weights: (1 − ηλ)(θ + Σ c_k z_k).
 * For float32 weights that is bit for bit the update followed by a separate decay pass.
 */
export async function applyUpdate(model: Model, seeds: bigint[], gHat: ArrayLike<number>, lr: number, zoEps: number, weightDecay = 0): Promise<void> {
  const decay = weightDecay > 0 && lr > 0 ? 1 - lr * weightDecay : 1;
  await model.update(fusedUpdatePairs(seeds, gHat, lr, zoEps), { decay });
}

/** Replays one recorded step onto θ_t, giving θ_{t+1}. */
export async function replayStep(model: Model, seeds: bigint[], gHat: ArrayLike<number>, lr: number, zoEps: number, weightDecay = 0): Promise<void> {
  await perturbationWalk(model, seeds, zoEps);
  await applyUpdate(model, seeds, gHat, lr, zoEps, weightDecay);
}
