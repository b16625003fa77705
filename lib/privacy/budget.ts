// defines: BudgetCheck — the one budget rule of dpzo: may one more release of a mechanism follow the releases
// so far without ε(δ) exceeding the budget? Used by every PrivacyLedger (file or memory), so the trainer,
// `dpzo account` and API users meet the same algorithm and the same refusal (PrivacyBudgetExceededError).
import type { Budget } from './ledger-format.js';
import { mechanismKey, type Mechanism } from './mechanism.js';

/** ε(δ) of the history so far plus `extra` more releases of `m`. */
export type EpsilonWithExtra = (m: Mechanism, extra: number, delta: number) => number;

export interface BudgetVerdict {
  exceeds: boolean;
  /** ε after the release, when the check computed it (else null: compute it for the message). */
  epsilon: number | null;
}

/**
 * Cheap in the common case. For the current run of identical releases of `m` (after a fixed base history)
 * it keeps okRun, a run length whose ε is within the budget, and badRun, one whose ε is not. Sound: the true
 * ε grows with the run (composition only adds loss) and the accountant's ε bounds it from above, so every
 * run up to okRun is within the budget. okRun grows by doubling (one composition each time), and once a
 * badRun is known the boundary is bisected, so the refusal comes at the first run length the accountant
 * rejects (for an accountant whose ε is monotone in the run, as both are): O(log T) compositions over a
 * whole training run.
 */
export class BudgetCheck {
  private headroom: { key: string; baseLength: number; okRun: number; badRun: number; badEpsilon: number } | null = null;
  /** The trailing run of identical releases: its mechanism key and length. */
  private runKey = '';
  private runLength = 0;
  private length = 0;

  constructor(
    readonly budget: Budget,
    private readonly epsilonWithExtra: EpsilonWithExtra,
  ) {}

  /** Follows the history: call once per release recorded, in order. */
  record(m: Mechanism): void {
    const key = mechanismKey(m);
    this.runLength = key === this.runKey ? this.runLength + 1 : 1;
    this.runKey = key;
    this.length++;
  }

  /** Whether one more release of `m` would bring ε(δ_budget) above ε_budget. */
  check(m: Mechanism): BudgetVerdict {
    const budget = this.budget;
    const key = mechanismKey(m);
    const run = this.runKey === key ? this.runLength : 0;
    const baseLength = this.length - run;
    let h = this.headroom;
    if (!h || h.key !== key || h.baseLength !== baseLength) {
      h = { key, baseLength, okRun: run, badRun: Infinity, badEpsilon: NaN };
      this.headroom = h;
    }
    const want = run + 1;
    const epsilonAtRun = (k: number) => this.epsilonWithExtra(m, k - run, budget.delta);
    if (want > h.okRun && want < h.badRun && h.badRun === Infinity) {
      const k = 2 * want; // gallop: doubling keeps the count of compositions logarithmic in the run
      const e = epsilonAtRun(k);
      if (e <= budget.epsilon) h.okRun = k;
      else Object.assign(h, { badRun: k, badEpsilon: e });
    }
    while (want > h.okRun && want < h.badRun) {
      const mid = Math.floor((h.okRun + h.badRun) / 2);
      const e = epsilonAtRun(mid);
      if (e <= budget.epsilon) h.okRun = mid;
      else Object.assign(h, { badRun: mid, badEpsilon: e });
    }
    if (want <= h.okRun) return { exceeds: false, epsilon: null };
    return { exceeds: true, epsilon: want === h.badRun ? h.badEpsilon : null };
  }
}
