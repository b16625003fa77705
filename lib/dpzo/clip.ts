// defines: clipScalars — per-example clipping of the n directional derivatives
// g_i ∈ R^n (ARCHITECTURE §3.3): L2 norm ≤ C for Gaussian noise, L1 norm ≤ C
// for Laplace; a g_i with any non-finite entry counts as 0.
export type ClipNorm = 'l2' | 'l1';

export interface ClipResult {
  /** Σ_i clip(g_i), length n. */
  sum: Float64Array;
  /** Examples whose g_i was scaled down. */
  clipped: number;
  /** Examples whose g_i was non-finite and zeroed. */
  nonFinite: number;
}

/** `g` is row-major |S| × n: g[i·n + k] = g_ik. */
export function clipScalars(g: Float64Array, n: number, clip: number, norm: ClipNorm): ClipResult {
  const sum = new Float64Array(n);
  const m = n === 0 ? 0 : g.length / n;
  let clipped = 0;
  let nonFinite = 0;
  for (let i = 0; i < m; i++) {
    // scale by the largest |g_ik| first so a huge but finite g_i is clipped, not overflowed to ∞
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
    let size = 0;
    for (let k = 0; k < n; k++) {
      const v = maxAbs > 0 ? g[i * n + k]! / maxAbs : 0;
      size += norm === 'l2' ? v * v : Math.abs(v);
    }
    size = maxAbs * (norm === 'l2' ? Math.sqrt(size) : size);
    // the margin keeps the clipped norm ≤ C despite the rounding of size and of g·factor
    const factor = size > clip ? (clip / size) * (1 - 8 * Number.EPSILON) : 1;
    if (factor < 1) clipped++;
    for (let k = 0; k < n; k++) sum[k]! += g[i * n + k]! * factor;
  }
  return { sum, clipped, nonFinite };
}
