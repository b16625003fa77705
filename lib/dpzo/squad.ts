// defines: exactMatch and tokenF1 with SQuAD v1.1's answer normalisation
// (lower case, no punctuation, no articles a/an/the, single spaces), matching
// the official Python script also on non-ASCII text (Unicode \b, str.split()).
const PUNCT = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
// Python's re \b is Unicode-aware; JavaScript's \b is ASCII-only even with /u
const ARTICLES = /(?<![\p{L}\p{N}_])(a|an|the)(?![\p{L}\p{N}_])/gu;
// Python's str.split() whitespace: JavaScript's \s plus \x1c-\x1f and \x85, minus \ufeff
// eslint-disable-next-line no-control-regex -- \x1c-\x1f are whitespace to Python's str.split()
const PY_SPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/**
 * SQuAD v1.1's answer normalisation: lower case, punctuation and the articles a/an/the removed, whitespace collapsed (as the official Python script, also on
 * non-ASCII text).
 */
export function normalizeAnswer(s: string): string {
  return s.toLowerCase().replace(PUNCT, '').replace(ARTICLES, ' ').split(PY_SPACE).filter(Boolean).join(' ');
}

/** SQuAD exact match: 1 when the normalised prediction equals the normalised reference, else 0. */
export function exactMatch(prediction: string, reference: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(reference) ? 1 : 0;
}

/**
 * SQuAD token F1 in [0, 1]: the harmonic mean of precision and recall of the normalised prediction's tokens against the reference's (1 when both are empty).
 */
export function tokenF1(prediction: string, reference: string): number {
  const p = normalizeAnswer(prediction).split(' ').filter(Boolean);
  const r = normalizeAnswer(reference).split(' ').filter(Boolean);
  if (p.length === 0 || r.length === 0) return p.length === r.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const t of r) counts.set(t, (counts.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of p) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      common++;
      counts.set(t, c - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / p.length;
  const recall = common / r.length;
  return (2 * precision * recall) / (precision + recall);
}
