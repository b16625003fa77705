// defines: the one-run ε lower bound of Steinke, Nasr & Jagielski 2023 ("Privacy
// auditing with one (1) training run", Theorem 5.2 and their Algorithm for the
// p-value): m canaries, each included with probability 1/2; the auditor guesses r
// of them (in or out) and v guesses are right. Under (ε, δ)-DP,
//   P[V ≥ v] ≤ f(v) + 2mδ · max_{1≤i≤v} (f(v − i) − f(v)) / i,
// f(u) = P[Binomial(r, e^ε/(1 + e^ε)) ≥ u]. The bound is the largest ε whose
// p-value is still at most 1 − confidence. Also guessAudit: the guesses from the
// canaries' scores (the top k "in", the bottom k "out").
import { binomialPmf, binomialSf } from './binomial.js';

/** The p-value of v or more right guesses out of r (m canaries) under (ε, δ)-DP. */
export function oneRunPValue(m: number, r: number, v: number, epsilon: number, delta: number): number {
  if (!(Number.isInteger(m) && Number.isInteger(r) && Number.isInteger(v) && 0 <= v && v <= r && r <= m))
    throw new RangeError(`one-run bound: needs integers 0 ≤ v ≤ r ≤ m (got m = ${m}, r = ${r}, v = ${v})`);
  if (!(epsilon >= 0) || !(delta >= 0 && delta <= 1)) throw new RangeError(`one-run bound: needs ε ≥ 0 and δ in [0, 1] (got ${epsilon}, ${delta})`);
  // accuracy of ε-DP randomized response, 1/(1 + e^-ε), written to stay exact for large ε
  const p = 1 / (1 + Math.exp(-epsilon));
  const tail = binomialSf(v, r, p);
  let worst = 0;
  let between = 0; // P[v − i ≤ Binomial(r, p) < v]
  for (let i = 1; i <= v; i++) {
    between += binomialPmf(v - i, r, p);
    worst = Math.max(worst, between / i);
  }
  return Math.min(1, tail + 2 * m * delta * worst);
}

/** The largest ε (to 1e-6) whose p-value for (m, r, v) is at most 1 − confidence; 0 when none. */
export function oneRunEpsilon(m: number, r: number, v: number, delta: number, confidence = 0.95): number {
  const beta = 1 - confidence;
  const ok = (e: number) => oneRunPValue(m, r, v, e, delta) <= beta;
  if (r === 0 || !ok(0)) return 0;
  let hi = 1;
  // p falls as ε grows; it stops falling once the δ term dominates
  while (ok(hi) && hi < 1e3) hi *= 2;
  let lo = 0;
  while (hi - lo > 1e-6) {
    const mid = (lo + hi) / 2;
    if (ok(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** The one-run bound and the guesses that reached it. */
export interface GuessBound {
  /** The ε lower bound (0 when the guesses prove nothing). */
  epsilon: number;
  /** Guesses made (half "in", half "out") and how many were right. */
  guesses: number;
  /** Right guesses. */
  correct: number;
  /** Canaries in the run. */
  canaries: number;
  /** How many guess counts were tried (each at confidence 1 − (1 − confidence)/tries: a union bound). */
  tries: number;
}

/**
 * The best bound over guess counts r ∈ {2, 4, 8, …, m} (r/2 highest scores guessed in, r/2 lowest out), each
 * computed at the Bonferroni share of the confidence so that the best of them still holds at `confidence`.
 */
export function guessAudit(canaries: readonly { score: number; member: boolean }[], delta: number, confidence = 0.95): GuessBound {
  const m = canaries.length;
  const order = [...canaries].sort((a, b) => b.score - a.score);
  const counts: number[] = [];
  for (let r = 2; r <= m; r *= 2) counts.push(r);
  if (m >= 2 && counts[counts.length - 1] !== m - (m % 2)) counts.push(m - (m % 2));
  const share = 1 - (1 - confidence) / Math.max(1, counts.length);
  let best: GuessBound = { epsilon: 0, guesses: 0, correct: 0, canaries: m, tries: counts.length };
  for (const r of counts) {
    const k = r / 2;
    let v = 0;
    for (let i = 0; i < k; i++) if (order[i]!.member) v++;
    for (let i = m - k; i < m; i++) if (!order[i]!.member) v++;
    const e = oneRunEpsilon(m, r, v, delta, share);
    if (e > best.epsilon) best = { epsilon: e, guesses: r, correct: v, canaries: m, tries: counts.length };
  }
  return best;
}
