// defines: clipScalars — per-example clipping of the n directional derivatives
// g_i ∈ R^n (ARCHITECTURE §3.3): L2 norm ≤ C for Gaussian noise, L1 norm ≤ C
// for Laplace; a g_i with any non-finite entry counts as 0.
import { DpzoError } from '../errors.js';

/** Norm of per-example clipping: L2 for Gaussian noise, L1 for Laplace (the norm each mechanism's sensitivity is measured in). */
export type ClipNorm = 'l2' | 'l1';

/** What {@link clipScalars} returns. */
export interface ClipResult {
  /** Σ_i clip(g_i), length n. */
  sum: Float64Array;
  /** Examples whose g_i was scaled down. */
  clipped: number;
  /** Examples whose g_i was non-finite and zeroed. */
  nonFinite: number;
}

/**
 * Relative shrink applied to a clipped g_i so that its exact norm stays ≤ C despite rounding.
 * Rounding errors: u = ε/2 per division by max|g|, (n − 1)·u for the recursive sum of n
 * non-negative terms, one u for the square root, one for C/s and one per product with it; in
 * all at most (n + 4)·u, so (n + 4)·ε is twice the worst case. At n = 10^5 that is 2.2e-11
 * of the update, far below the noise. (A fixed margin of 8ε failed at n ≥ 1000.)
 */
export function clipMargin(n: number): number {
  return (n + 4) * Number.EPSILON;
}

/** `g` is row-major |S| × n: g[i·n + k] = g_ik. */
export function clipScalars(g: Float64Array, n: number, clip: number, norm: ClipNorm): ClipResult {
  // (a negative clip flipped the clipped sum; a ragged g was read past its end, as non-finite rows)
  if (!(clip > 0)) throw new DpzoError('ERR_ARGUMENT', `clip must be a positive number (got ${clip})`);
  if (!(Number.isInteger(n) && n >= 0 && (n === 0 ? g.length === 0 : g.length % n === 0)))
    throw new DpzoError('ERR_ARGUMENT', `g must hold whole rows of n = ${n} scalars (got ${g.length} values)`);
  if (norm !== 'l2' && norm !== 'l1') throw new DpzoError('ERR_ARGUMENT', `norm must be 'l2' or 'l1' (got ${String(norm)})`);
  const sum = new Float64Array(n);
  const m = n === 0 ? 0 : g.length / n;
  const shrink = 1 - clipMargin(n);
  let clipped = 0;
  let nonFinite = 0;
  for (let i = 0; i < m; i++) {
    let maxAbs = 0;
    let finite = true;
    for (let k = 0; k < n; k++) {
      const v = g[i * n + k]!;
      if (!Number.isFinite(v)) finite = false;
      else maxAbs = Math.max(maxAbs, Math.abs(v));
    }
    if (!finite) {
      nonFinite++;
      continue;
    }
    if (maxAbs === 0) continue;
    // the norm of v = g_i / max|g_i| (in [1, n]), so a huge but finite g_i neither overflows
    // its norm to ∞ nor is scaled by a factor that underflows: it is scaled to C, as documented
    let s = 0;
    for (let k = 0; k < n; k++) {
      const v = g[i * n + k]! / maxAbs;
      s += norm === 'l2' ? v * v : Math.abs(v);
    }
    if (norm === 'l2') s = Math.sqrt(s);
    // g_i passes unscaled only when ‖g_i‖ = maxAbs·s ≤ C (written so that neither side overflows) with the same margin:
    // s and C/maxAbs are rounded, and a g_i of exact norm C·(1 + 1e-16) passed the bare s ≤ C/maxAbs, above C
    if (s <= (clip / maxAbs) * shrink) {
      for (let k = 0; k < n; k++) sum[k]! += g[i * n + k]!;
      continue;
    }
    clipped++;
    const scale = (clip / s) * shrink;
    for (let k = 0; k < n; k++) sum[k]! += (g[i * n + k]! / maxAbs) * scale;
  }
  return { sum, clipped, nonFinite };
}
