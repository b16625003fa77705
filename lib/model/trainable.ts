// defines: what a trainable selection is, for the API (loadModel) and the run config / CLI alike: patterns
// split at commas and trimmed, and the refusal of an empty selection (which selects nothing, yet natively an
// empty list means "every tensor", so it would silently train them all).

/** Why an empty trainable selection ('' or []) is refused: it selected nothing, and used to mean every tensor. */
export const EMPTY_TRAINABLE = 'must name at least one tensor pattern (an empty selection trains nothing; leave it out to train every tensor)';

/** The patterns of a trainable selection: a comma-separated string or an array, each trimmed, empty ones dropped. */
export function splitPatterns(t: string | string[]): string[] {
  const list = Array.isArray(t) ? t : t.split(',');
  return list.map((s) => s.trim()).filter(Boolean);
}
