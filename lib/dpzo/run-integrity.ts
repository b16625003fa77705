// defines: checkLedgerAgainstPlan — a run's ledger must say what its run.json planned: the budget
// and accountant in its header, and for every release the step number (0, 1, 2, …), the mechanism,
// q, σ (or b), C and the number of directions. A ledger re-sealed after its σ was rewritten, with
// renumbered steps or another header budget, is refused (ERR_LEDGER_MISMATCH) by --resume and by
// `dpzo account` on a run directory. (A run directory rewritten consistently in every file is the
// dataset ledger's to catch: dataset-ledger.ts.)
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { DpzoError } from '../errors.js';
import type { LedgerEntry } from '../privacy/index.js';
import { PrivacyError, PrivacyLedger, liveLedgerWriter } from '../privacy/index.js';
import { type TrainPlan, ledgerBudget, planRelease, stepRelease } from './options.js';
import { LEDGER_FILE, RUN_FILE, type RunRecord, checkReleaseSensitivity } from './run-record.js';
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
  // a run still training writes its ledger and then its trajectory: read after the ledger, the trajectory may be ahead
  const writer = T > ledger.length ? liveLedgerWriter(ledger.path) : null;
  if (writer !== null)
    throw new DpzoError('ERR_LEDGER_LOCKED', `${runDir} is still training (process ${writer} writes its ledger): read it when the run has stopped`);
  if (ledger.length !== T && ledger.length !== T + 1) {
    throw new DpzoError('ERR_RUN_CORRUPT', `${runDir}: the ledger has ${ledger.length} releases but the trajectory ${T} steps; they cannot be reconciled`);
  }
}

/**
 * A run directory's ledger against its run.json plan and its trajectory: both checks above, as every reader of a run makes them,
 * after checkReleaseSensitivity (run-record.ts).
 */
export function checkLedgerAgainstRun(ledger: PrivacyLedger, runDir: string, run: RunRecord): void {
  // a ledger that matches its plan still understates ε when the run's noise was set for too small a Δ
  checkReleaseSensitivity(run, runDir);
  checkLedgerAgainstPlan(ledger, run.plan, join(runDir, RUN_FILE));
  checkLedgerAgainstTrajectory(ledger, runDir, run.plan.method ?? 'dpzo');
}

/**
 * A run directory's ledger, opened read-only and checked ({@link checkLedgerAgainstRun}) — for eval --run, export and report,
 * which would otherwise state, or replay to, less than was released. The caller closes it.
 */
export async function openCheckedRunLedger(runDir: string, run: RunRecord): Promise<PrivacyLedger> {
  const file = join(runDir, LEDGER_FILE);
  if (!existsSync(file)) throw new DpzoError('ERR_RUN_CORRUPT', `${runDir} has no ${LEDGER_FILE}: what the run released cannot be checked`);
  const ledger = await PrivacyLedger.open(file, { readOnly: true, create: false });
  try {
    checkLedgerAgainstRun(ledger, runDir, run);
  } catch (e) {
    await ledger.close();
    throw e;
  }
  return ledger;
}
