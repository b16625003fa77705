// defines: thresholdAudit — the multi-run ε lower bound of a membership test
// (Jagielski et al. 2020; Nasr et al. 2021): scores of trials with the canary
// (in) and without (out), a threshold τ, Clopper–Pearson upper bounds on the
// false positive rate (out scored ≥ τ) and false negative rate (in scored < τ),
// and ε ≥ ln((1 − δ − FNR_hi) / FPR_hi), or the same with the roles swapped
// (the test "out when ≥ τ"). Any (ε, δ)-DP mechanism has FPR + e^ε·FNR ≥ 1 − δ
// and FNR + e^ε·FPR ≥ 1 − δ (Kairouz et al. 2015), so either ratio bounds ε.
//
// The confidence is honest for the whole statement: τ and the side are chosen
// on a pilot share of the trials, the bound is computed on the others (one τ,
// so no maximum over thresholds inflates it), and the two intervals are each
// taken at (1 − confidence)/2 (a union bound).
import { clopperPearsonUpper } from './clopper-pearson.js';

/** The multi-run bound and the test that reached it. */
export interface ThresholdBound {
  /** The ε lower bound (0 when the test does no better than chance). */
  epsilon: number;
  /** 'in-above': guess "canary in" when score ≥ τ; 'in-below': when score < τ. */
  side: 'in-above' | 'in-below';
  /** τ, chosen on the pilot trials. */
  threshold: number;
  /** Trials with the canary in, in the evaluation share. */
  inTrials: number;
  /** Trials with the canary out, in the evaluation share. */
  outTrials: number;
  /** Out-trials the test called in. */
  falsePositives: number;
  /** In-trials the test called out. */
  falseNegatives: number;
  /** Clopper–Pearson upper bound on the false positive rate. */
  fprUpper: number;
  /** Clopper–Pearson upper bound on the false negative rate. */
  fnrUpper: number;
  /** Trials of the pilot share (used only to choose τ and the side). */
  pilotTrials: number;
}

/** ε from upper bounds on the two error rates: ln((1 − δ − FNR) / FPR), 0 when not positive. */
export function epsilonFromRates(fpr: number, fnr: number, delta: number): number {
  const num = 1 - delta - fnr;
  if (!(num > 0) || !(fpr > 0)) return !(num > 0) ? 0 : Infinity;
  return Math.max(0, Math.log(num / fpr));
}

/** The bound at threshold τ on the given trials (errors counted on the `side` the test takes). */
export function boundAt(
  inScores: readonly number[],
  outScores: readonly number[],
  threshold: number,
  side: ThresholdBound['side'],
  delta: number,
  alpha: number,
): Omit<ThresholdBound, 'pilotTrials'> {
  const above = (s: number) => (side === 'in-above' ? s >= threshold : s < threshold);
  const fp = outScores.filter(above).length;
  const fn = inScores.length - inScores.filter(above).length;
  const fprUpper = clopperPearsonUpper(fp, outScores.length, alpha / 2);
  const fnrUpper = clopperPearsonUpper(fn, inScores.length, alpha / 2);
  return {
    epsilon: epsilonFromRates(fprUpper, fnrUpper, delta),
    side,
    threshold,
    inTrials: inScores.length,
    outTrials: outScores.length,
    falsePositives: fp,
    falseNegatives: fn,
    fprUpper,
    fnrUpper,
  };
}

/**
 * The threshold and side that, on the pilot trials, predict the largest bound for an evaluation share of
 * nIn/nOut trials: the pilot's error fractions scaled to those counts, bounded as the evaluation will be.
 */
function choose(
  pilotIn: number[],
  pilotOut: number[],
  nIn: number,
  nOut: number,
  delta: number,
  alpha: number,
): { threshold: number; side: ThresholdBound['side'] } {
  let best = { threshold: Infinity, side: 'in-above' as ThresholdBound['side'], epsilon: -1 };
  if (pilotIn.length === 0 || pilotOut.length === 0) return best;
  const sorted = [...new Set([...pilotIn, ...pilotOut])].sort((a, b) => a - b);
  // the index of the first pooled score ≥ v
  const rank = (v: number) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  // thresholds midway in the gap beside a score (rounding in a score cannot move it across)
  const below = (v: number) => {
    const i = rank(v);
    return i === 0 ? v - 1 : (sorted[i - 1]! + v) / 2;
  };
  const above = (v: number) => {
    const i = rank(v);
    return i + 1 >= sorted.length ? v + 1 : (v + sorted[i + 1]!) / 2;
  };
  // the bound lives in the tails: thresholds beside the k-th most extreme score of either group, for k on a
  // geometric grid (0, 1, 2, …, ×1.05): a few hundred candidates whatever the number of trials
  const inSorted = [...pilotIn].sort((a, b) => a - b);
  const outSorted = [...pilotOut].sort((a, b) => a - b);
  const set = new Set<number>();
  for (const xs of [inSorted, outSorted]) {
    for (let k = 0; k < xs.length; k = Math.max(k + 1, Math.floor(k * 1.05))) {
      const low = xs[k]!;
      const high = xs[xs.length - 1 - k]!;
      set.add(below(low)).add(above(low)).add(below(high)).add(above(high));
    }
  }
  const candidates = [...set];
  for (let c = 0; c < candidates.length; c++) {
    const t = candidates[c]!;
    for (const side of ['in-above', 'in-below'] as const) {
      const guessIn = (s: number) => (side === 'in-above' ? s >= t : s < t);
      const fpFrac = pilotOut.filter(guessIn).length / pilotOut.length;
      const fnFrac = 1 - pilotIn.filter(guessIn).length / pilotIn.length;
      const fpr = clopperPearsonUpper(Math.round(fpFrac * nOut), nOut, alpha / 2);
      const fnr = clopperPearsonUpper(Math.round(fnFrac * nIn), nIn, alpha / 2);
      const e = epsilonFromRates(fpr, fnr, delta);
      if (e > best.epsilon) best = { threshold: t, side, epsilon: e };
    }
  }
  return best;
}

/**
 * The ε lower bound at `confidence` from trials in random order (a trial's place must not depend on its
 * score): the first `pilot` share chooses τ and the side, the rest bound ε.
 */
export function thresholdAudit(trials: readonly { score: number; member: boolean }[], delta: number, confidence = 0.95, pilot = 0.2): ThresholdBound {
  const alpha = 1 - confidence;
  const cut = Math.floor(trials.length * pilot);
  const split = (xs: readonly { score: number; member: boolean }[]) => ({
    in: xs.filter((x) => x.member).map((x) => x.score),
    out: xs.filter((x) => !x.member).map((x) => x.score),
  });
  const p = split(trials.slice(0, cut));
  const e = split(trials.slice(cut));
  const none: ThresholdBound = {
    epsilon: 0,
    side: 'in-above',
    threshold: Infinity,
    inTrials: e.in.length,
    outTrials: e.out.length,
    falsePositives: 0,
    falseNegatives: e.in.length,
    fprUpper: 1,
    fnrUpper: 1,
    pilotTrials: cut,
  };
  if (e.in.length === 0 || e.out.length === 0) return none;
  const c = choose(p.in, p.out, e.in.length, e.out.length, delta, alpha);
  if (!Number.isFinite(c.threshold)) return none;
  return { ...boundAt(e.in, e.out, c.threshold, c.side, delta, alpha), pilotTrials: cut };
}
