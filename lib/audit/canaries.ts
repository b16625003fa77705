// defines: the audit's gradient canaries and the adversary that scores them.
// Canary j is a training example whose per-example scalars are forced, where the
// trainer computes them (the test hook `scalars`, before clipping), to twice C along
// direction j (a Dirac canary: Nasr et al. 2023): the trainer's own clipping brings
// it to norm C, the largest contribution a single example can make. The other
// examples' clipped scalars are recorded as they are: the adversary of the DP
// definition knows every example but the canaries, the public seeds and θ_t (the
// trajectory), so it can recompute their clipped sum; the hook hands it over rather
// than recomputing the same forwards. Conditioning on the other examples' Poisson
// draws leaves each canary's privacy loss that of the accountant's subsampled
// mechanism (those draws are independent of the canary's). The adversary then sees,
// per step and direction, y = ĝ·B − Σ_others = (canary j in the batch)·C + ξ.
import { clipMargin, clipScalars } from '../dpzo/clip.js';
import type { TrainerTestHooks } from '../dpzo/hooks.js';
import { logAddExp } from '../privacy/special.js';

/** Which dataset indices are canaries: index `base + i` is canary `ids[i]` (its direction). */
export interface CanaryLayout {
  base: number;
  ids: readonly number[];
}

/** The noise the adversary knows from the public plan: N(0, sd²) or Laplace(b) per direction. */
export type NoiseLaw = { kind: 'gaussian'; sd: number } | { kind: 'laplace'; scale: number };

/**
 * The `scalars` hook of one run: forces each sampled canary's row to 2C·e_j and records, per step, the
 * clipped sum of the other sampled rows (into `others`).
 */
export function canaryHook(layout: CanaryLayout, clip: number, norm: 'l2' | 'l1', others: Map<number, Float64Array>): NonNullable<TrainerTestHooks['scalars']> {
  return (step, batch, g, n) => {
    const rest: number[] = [];
    for (let i = 0; i < batch.length; i++) {
      const at = batch[i]! - layout.base;
      if (at < 0) {
        rest.push(i);
        continue;
      }
      const j = layout.ids[at]!;
      g.fill(0, i * n, (i + 1) * n);
      g[i * n + j] = 2 * clip;
    }
    const rows = new Float64Array(rest.length * n);
    rest.forEach((i, r) => rows.set(g.subarray(i * n, (i + 1) * n), r * n));
    others.set(step, clipScalars(rows, n, clip, norm).sum);
  };
}

/** What a canary adds to the released sum once clipped (C less the clipper's rounding margin). */
export function canaryContribution(clip: number, directions: number): number {
  return clip * (1 - clipMargin(directions));
}

/** ln of the likelihood ratio of y under "canary in the batch" (mean c) against "not" (mean 0). */
export function stepLogRatio(y: number, c: number, noise: NoiseLaw): number {
  if (noise.kind === 'gaussian') return (c * y - (c * c) / 2) / (noise.sd * noise.sd);
  return (Math.abs(y) - Math.abs(y - c)) / noise.scale;
}

/**
 * A canary's score: the log-likelihood ratio of its observations y_1..y_T under "in the dataset" against
 * "absent" (Neyman–Pearson: the most powerful test). In the dataset, each step includes it with probability q,
 * so a step's ratio is 1 − q + q·e^ℓ.
 */
export function canaryScore(ys: readonly number[], c: number, q: number, noise: NoiseLaw): number {
  let s = 0;
  const logMiss = Math.log1p(-q);
  for (const y of ys) {
    const l = stepLogRatio(y, c, noise);
    s += q === 1 ? l : logAddExp(logMiss, Math.log(q) + l);
  }
  return s;
}
