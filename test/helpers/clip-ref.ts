// The documented DP-SGD clip rule, restated for the tests (not imported from lib/dpsgd): an example's gradient of
// norm n is scaled by min(1, C·(1 − 2⁻¹⁶)/n), so that its share stays ≤ C after float rounding.
export const CLIP_MARGIN = 2 ** -16;

export function clipRef(norm: number, C: number): number {
  const bound = C * (1 - CLIP_MARGIN);
  return norm > bound ? bound / norm : 1;
}

/** Whether an example of norm n is clipped (scaled by less than 1) under the rule above. */
export const isClipped = (norm: number, C: number): boolean => clipRef(norm, C) < 1;
