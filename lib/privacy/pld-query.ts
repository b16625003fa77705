// defines: deltaForEpsilon, epsilonForDelta — hockey-stick queries on a discretised PLD (exact for the discrete PLD)

import type { DiscretePld } from './pld-discretize.js';

/** δ(ε) = p∞ + Σ_{l_j > ε} p_j (1 − e^{ε − l_j}). */
export function deltaForEpsilon(pld: DiscretePld, epsilon: number): number {
  let delta = pld.infinityMass;
  const { probs, offset, interval } = pld;
  for (let j = probs.length - 1; j >= 0; j--) {
    const l = (offset + j) * interval;
    if (l <= epsilon) break;
    delta += probs[j] * -Math.expm1(epsilon - l);
  }
  return delta >= 0 ? Math.min(1, delta) : 1; // a NaN never passes for a small δ
}

/**
 * The smallest ε >= 0 with δ(ε) <= δ. On [l_{j−1}, l_j), δ(ε) = A_j − e^{ε − l_j}·B_j with A_j = p∞ + Σ_{i>=j} p_i and
 * B_j = Σ_{i>=j} p_i e^{l_j − l_i} (scaled to l_j, so nothing overflows or underflows at losses beyond ±709), so the
 * crossing is solved in closed form while scanning down from the top.
 */
export function epsilonForDelta(pld: DiscretePld, delta: number): number {
  const { probs, offset, interval } = pld;
  if (!(pld.infinityMass <= delta)) return Infinity; // also when the mass is NaN: never report a finite ε from it
  const decay = Math.exp(-interval);
  let a = pld.infinityMass;
  let b = 0;
  for (let j = probs.length - 1; j >= 0; j--) {
    const lj = (offset + j) * interval;
    a += probs[j];
    b += probs[j];
    if (!(a >= 0 && b >= 0)) return Infinity;
    const lower = j > 0 ? lj - interval : -Infinity;
    // δ at the bottom of the cell; the crossing is in this cell once it exceeds δ
    const atLower = j > 0 ? a - decay * b : a;
    if (atLower <= delta) {
      if (lower <= 0) return 0;
    } else {
      const eps = b > 0 ? lj + Math.log((a - delta) / b) : lj;
      return Math.max(0, Math.min(lj, Math.max(lower, eps)));
    }
    b *= decay;
  }
  return 0;
}
