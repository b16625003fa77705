// defines: one-sided Clopper–Pearson bounds (Clopper & Pearson 1934) on a
// binomial proportion: the exact interval the audit puts on the false positive and
// false negative rates of its hypothesis test (Jagielski et al. 2020; Nasr et al. 2021).
import { binomialCdf, binomialSf } from './binomial.js';

/** [lo, hi] with f(lo) true and f(hi) false, narrowed to the spacing of doubles. */
function bisect(f: (p: number) => boolean, lo: number, hi: number): [number, number] {
  for (let i = 0; i < 200 && hi - lo > 1e-16 * Math.max(hi, 1e-300); i++) {
    const mid = (lo + hi) / 2;
    if (f(mid)) lo = mid;
    else hi = mid;
  }
  return [lo, hi];
}

/** The p with P[Binomial(n, p) ≤ k] = α: true proportions above it make k or fewer successes rarer than α. */
export function clopperPearsonUpper(k: number, n: number, alpha: number): number {
  check(k, n, alpha);
  if (k >= n) return 1;
  // closed form at k = 0: (1 − p)^n = α
  if (k === 0) return -Math.expm1(Math.log(alpha) / n);
  // the end of the bracket on the safe side: an upper bound never below the root. P[X ≤ k] at p = k/n is at least
  // about 1/2 (k is a median there), so for α below that the root lies above k/n; for a larger α it lies below
  // (the bracket [k/n, 1] returned k/n, not the root, for α = 0.9)
  const f = (p: number) => binomialCdf(k, n, p) > alpha;
  return (f(k / n) ? bisect(f, k / n, 1) : bisect(f, 0, k / n))[1];
}

/** The p with P[Binomial(n, p) ≥ k] = α. */
export function clopperPearsonLower(k: number, n: number, alpha: number): number {
  check(k, n, alpha);
  if (k <= 0) return 0;
  if (k === n) return Math.exp(Math.log(alpha) / n);
  // as above: for α beyond P[X ≥ k] at p = k/n (about 1/2) the root lies above k/n
  const f = (p: number) => binomialSf(k, n, p) <= alpha;
  return (f(k / n) ? bisect(f, k / n, 1) : bisect(f, 0, k / n))[0];
}

function check(k: number, n: number, alpha: number): void {
  if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(k) && k >= 0 && k <= n && alpha > 0 && alpha < 1))
    throw new RangeError(`Clopper–Pearson needs integers 0 ≤ k ≤ n, n ≥ 1 and α in (0, 1) (got k = ${k}, n = ${n}, α = ${alpha})`);
}
