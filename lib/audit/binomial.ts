// defines: binomial tails in log space — logChoose, binomialPmf, binomialCdf
// P[X ≤ k] and binomialSf P[X ≥ k] for X ~ Binomial(n, p) — for the audit's
// Clopper–Pearson intervals and the one-run bound. Tails are summed from the
// term nearest the mode outwards by the pmf ratio, so n in the hundreds of
// thousands costs O(√n) terms, not O(n).

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: relative error below 1e-13). */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let a = c[0]!;
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

export function logChoose(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

function logPmf(k: number, n: number, p: number): number {
  if (p === 0) return k === 0 ? 0 : -Infinity;
  if (p === 1) return k === n ? 0 : -Infinity;
  return logChoose(n, k) + k * Math.log(p) + (n - k) * Math.log1p(-p);
}

export function binomialPmf(k: number, n: number, p: number): number {
  if (!Number.isInteger(k) || k < 0 || k > n) return 0;
  return Math.exp(logPmf(k, n, p));
}

/** Σ_{i=a..b} P[X = i] with a ≤ b, summed outwards from the term nearest the mode (the largest). */
function sumRange(a: number, b: number, n: number, p: number): number {
  if (a > b) return 0;
  if (p === 0) return a === 0 ? 1 : 0;
  if (p === 1) return b === n ? 1 : 0;
  const mode = Math.min(b, Math.max(a, Math.floor((n + 1) * p)));
  const top = logPmf(mode, n, p);
  const r = p / (1 - p);
  // relative to the mode's term: pmf(i+1)/pmf(i) = (n−i)/(i+1)·p/(1−p)
  let s = 1;
  let t = 1;
  for (let i = mode; i < b; i++) {
    t *= ((n - i) / (i + 1)) * r;
    s += t;
    if (t < 1e-17 * s) break;
  }
  t = 1;
  for (let i = mode; i > a; i--) {
    t *= i / (n - i + 1) / r;
    s += t;
    if (t < 1e-17 * s) break;
  }
  return Math.min(1, Math.exp(top + Math.log(s)));
}

/** P[X ≤ k], X ~ Binomial(n, p). */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  const kk = Math.floor(k);
  // the smaller tail directly, the other as its complement (no cancellation where it matters)
  return kk < n * p ? sumRange(0, kk, n, p) : 1 - sumRange(kk + 1, n, n, p);
}

/** P[X ≥ k], X ~ Binomial(n, p). */
export function binomialSf(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  const kk = Math.ceil(k);
  return kk > n * p ? sumRange(kk, n, n, p) : 1 - sumRange(0, kk - 1, n, p);
}
