// defines: checkLedgerAgainstPlan — a run's ledger must say what its run.json planned: the budget
// and accountant in its header, and for every release the step number (0, 1, 2, …), the mechanism,
// q, σ (or b), C and the number of directions. A ledger re-sealed after its σ was rewritten, with
// renumbered steps or another header budget, is refused (ERR_LEDGER_MISMATCH) by --resume and by
// `dpzo account` on a run directory. (A run directory rewritten consistently in every file is the
// dataset ledger's to catch: dataset-ledger.ts.)
import { DpzoError } from '../errors.js';
import type { LedgerEntry, PrivacyLedger } from '../privacy/index.js';
import { PrivacyError } from '../privacy/index.js';
import { type TrainPlan, ledgerBudget, planRelease, stepRelease } from './options.js';
import { type TrajectoryKind, readTrajectory } from './trajectory.js';

function mismatch(ledger: PrivacyLedger, runFile: string, what: string): PrivacyError {
  return new PrivacyError('ERR_LEDGER_MISMATCH', `privacy ledger ${ledger.path}: ${what}, not what ${runFile} planned`);
}

/** Field of a release that the plan fixes, and its planned value. */
function plannedFields(plan: TrainPlan): [keyof LedgerEntry, unknown][] {
  const r = stepRelease(plan, 0);
  return [
    ['mechanism', r.mechanism],
    ['sampleRate', r.sampleRate],
    ['noiseMultiplier', r.noiseMultiplier],
    ['laplaceScale', r.laplaceScale],
    ['clip', r.clip],
    ['directions', r.directions],
  ];
}

export function checkLedgerAgainstPlan(ledger: PrivacyLedger, plan: TrainPlan, runFile: string): void {
  const h = ledger.header;
  const expected = ledgerBudget(plan);
  const same = expected === undefined ? h.budget === null : h.budget !== null && h.budget.epsilon === expected.epsilon && h.budget.delta === expected.delta;
  if (!same) {
    throw mismatch(ledger, runFile, `its header budget is ${h.budget ? `ε ${h.budget.epsilon}, δ ${h.budget.delta}` : 'none'}`);
  }
  if (h.accountant !== plan.accountant) throw mismatch(ledger, runFile, `its header accountant is ${h.accountant}`);
  planRelease(plan); // the plan's mechanism is well formed
  const fields = plannedFields(plan);
  ledger.entries.forEach((e, i) => {
    if (e.step !== i) throw mismatch(ledger, runFile, `release ${i + 1} is numbered step ${e.step}`);
    for (const [k, v] of fields) {
      if (e[k] !== v) throw mismatch(ledger, runFile, `release ${i + 1} (step ${e.step}) has ${k} ${String(e[k])}`);
    }
  });
}

/**
 * A run's ledger holds a line for every step of its trajectory (a step's ledger line is written first) and
 * at most one more (a crash between the two), as --resume requires: a ledger with fewer lines was cut (its
 * ε would understate what the trajectory and the weights carry), one with more has lost trajectory lines.
 */
export function checkLedgerAgainstTrajectory(ledger: PrivacyLedger, runDir: string, kind: TrajectoryKind): void {
  const T = readTrajectory(runDir, kind).lines.length;
  if (ledger.length !== T && ledger.length !== T + 1) {
    throw new DpzoError('ERR_RUN_CORRUPT', `${runDir}: the ledger has ${ledger.length} releases but the trajectory ${T} steps; they cannot be reconciled`);
  }
}
