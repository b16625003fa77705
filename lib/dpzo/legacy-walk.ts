// defines: legacyWalkStep — the step of runs made before the exact step (run.json format dpzo-run/1):
// θ += ε z_k, −2ε z_k, +ε z_k in place around the forwards, the last restore fused into the update.
// Kept only so those runs still replay and export; float32 runs replay bit for bit (their update rounded
// to nearest, as the F32 update still does). Nothing trains this way any more: the walk drifts in
// low precision (issue 9).
import type { Model } from '../model/types.js';

export async function legacyWalkStep(model: Model, seeds: bigint[], gHat: ArrayLike<number>, lr: number, zoEps: number, decay: number): Promise<void> {
  const n = seeds.length;
  for (let k = 0; k < n; k++) {
    await model.perturb(seeds[k]!, zoEps);
    await model.perturb(seeds[k]!, -2 * zoEps);
    if (k < n - 1) await model.perturb(seeds[k]!, zoEps);
  }
  await model.update(
    seeds.map((seed, k) => ({ seed, coeff: (k === n - 1 ? zoEps : 0) - (lr * gHat[k]!) / n })),
    { decay },
  );
}
