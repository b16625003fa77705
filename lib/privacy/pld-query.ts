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
  return Math.min(1, delta);
}

/**
 * The smallest ε >= 0 with δ(ε) <= δ. On [l_{j−1}, l_j), δ(ε) = A_j − e^ε B_j with A_j = p∞ + Σ_{i>=j} p_i and
 * B_j = Σ_{i>=j} p_i e^{−l_i}, so the crossing is solved in closed form while scanning down from the top.
 */
export function epsilonForDelta(pld: DiscretePld, delta: number): number {
  const { probs, offset, interval } = pld;
  if (pld.infinityMass > delta) return Infinity;
  let a = pld.infinityMass;
  let b = 0;
  for (let j = probs.length - 1; j >= 0; j--) {
    const lj = (offset + j) * interval;
    if (probs[j] > 0) {
      a += probs[j];
      b += probs[j] * Math.exp(-lj);
    }
    const lower = j > 0 ? lj - interval : -Infinity;
    if (a <= delta || b === 0) {
      if (lower <= 0) return 0; // δ(ε) <= δ already on [max(0, l_{j−1}), l_j)
      continue;
    }
    const eps = Math.log((a - delta) / b);
    if (eps >= lower) return Math.max(0, Math.min(eps, lj));
    if (lower <= 0 && eps < 0) return 0;
  }
  return 0;
}
