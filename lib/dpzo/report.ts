// defines: TrainReport and buildReport — what a training run reports at its end:
// why it stopped, ε spent (from the ledger, by both accountants), the evaluations
// before and after, warnings, and run-level time only (per-step times would reveal
// the size of each private batch).
import { type DatasetLedger, type PrivacyLedger, type Spent, spentReport } from '../privacy/index.js';
import { type EvalResult, improved } from './evaluate.js';
import type { TrainPlan } from './options.js';

/** Why training stopped: all planned steps done, the next step would exceed the (run or dataset) budget, or the signal aborted. */
export type StopReason = 'completed' | 'budget' | 'cancelled';

/**
 * What {@link DPZOTrainer.train} returns at the end of a run. Every number is public (derived from the plan and the released values) except
 * `privateDiagnostics` and the evaluation metrics of a non-public evaluation set.
 */
export interface TrainReport {
  /** False when epsilon is ∞ (a non-private baseline) or test hooks injected seeds, noise or batches: no privacy claim. */
  private: boolean;
  /** Why the run stopped. */
  stopReason: StopReason;
  /** Steps (releases) in the ledger, this call's and earlier ones' (a resumed run or a second call included). */
  steps: number;
  /** Planned steps T. */
  plannedSteps: number;
  /** The plan the run followed. */
  plan: TrainPlan;
  /** ε spent at the budget's δ by PLD and RDP, computed from the ledger. */
  epsilon: Spent;
  /** The run's (ε, δ) budget. */
  budget: { epsilon: number; delta: number };
  /** The headline metric (accuracy, f1 or loss) before and after, and whether it improved (higher accuracy/F1, lower loss); present when `eval` was given. */
  metric?: { name: string; before: number; after: number; improved: boolean };
  /** Evaluation of `eval` before the first step (of this call). */
  evalBefore?: EvalResult;
  /** Evaluation of `eval` after the last step. */
  evalAfter?: EvalResult;
  /** Whether the evaluation set was declared public (its metrics are otherwise outside the guarantee). */
  evalPublic: boolean;
  /** Every warning of the run, in order (also sent to TrainCallbacks.onWarning). */
  warnings: string[];
  /**
   * Run-level wall time (start to end) and steps over it. Nothing per step carries a time: a step's
   * duration grows with the tokens in its Poisson batch, so per-step times reveal who was sampled.
   */
  seconds: number;
  /** Steps of this call per second of `seconds`. */
  stepsPerSecond: number;
  /**
   * Only with TrainOptions.privateDiagnostics: statistics of the private data, outside the guarantee. `sampled`: examples drawn over
   * this call's steps; `clippedFraction`: the fraction of them whose derivatives were scaled down to C (0..1); `nonFinite`: examples
   * whose loss was not finite (counted as 0).
   */
  privateDiagnostics?: { sampled: number; clippedFraction: number; nonFinite: number };
  /** The run directory, when the run had one. */
  runDir?: string;
  /** SHA-256 (hex) of the trained weights at the end, when the run had a directory (export checks it). */
  weightsHash?: string;
  /** The training file's dataset ledger (every run on that file composed): its file, runs, releases and ε at the run's δ. */
  dataset?: DatasetSpent;
}

/** The training file's dataset ledger after a run (TrainReport.dataset): every run on that file composed. */
export interface DatasetSpent {
  /** The dataset ledger's file. */
  ledger: string;
  /** Number of runs that released on this file. */
  runs: number;
  /** Number of releases of all those runs. */
  releases: number;
  /** ε of all the releases together, at `delta` (0 when none). */
  epsilon: number;
  /** δ at which `epsilon` is given: the run's. */
  delta: number;
  /** The file's dataset budget (`datasetBudget`), or null: none. */
  budget: {
    /** The ε every run on the file may spend together. */
    epsilon: number;
    /** The δ of that budget. */
    delta: number;
  } | null;
  /** Releases written by a dpzo older than the `trueSensitivity` mark, counted in `epsilon` at Δ = 2C (absent when none). */
  olderReleases?: number;
}

/** Private statistics summed over the steps of this call. */
export interface PrivateTotals {
  sampled: number;
  clipped: number;
  nonFinite: number;
}

export interface ReportInput {
  isPrivate: boolean;
  stopReason: StopReason;
  plan: TrainPlan;
  ledger: PrivacyLedger;
  /** Steps taken by this call (for the rate). */
  done: number;
  seconds: number;
  evalBefore?: EvalResult;
  evalAfter?: EvalResult;
  evalPublic: boolean;
  warnings: string[];
  /** Present only when private diagnostics were asked for. */
  privateTotals?: PrivateTotals;
  runDir?: string;
  weightsHash?: string;
  dataset?: DatasetLedger;
}

export function buildReport(r: ReportInput): TrainReport {
  const { plan, ledger, evalBefore, evalAfter } = r;
  const epsilon: Spent = spentReport(ledger.spent(plan.budget.delta), ledger.length);
  const t = r.privateTotals;
  return {
    private: r.isPrivate,
    stopReason: r.stopReason,
    steps: ledger.length,
    plannedSteps: plan.steps,
    plan,
    epsilon,
    budget: plan.budget,
    ...(evalBefore && evalAfter
      ? {
          metric: {
            name: evalBefore.metric,
            before: evalBefore.value,
            after: evalAfter.value,
            improved: improved(evalBefore.metric, evalBefore.value, evalAfter.value),
          },
        }
      : {}),
    evalBefore,
    evalAfter,
    evalPublic: r.evalPublic,
    warnings: r.warnings,
    seconds: r.seconds,
    stepsPerSecond: r.done / r.seconds,
    ...(t ? { privateDiagnostics: { sampled: t.sampled, clippedFraction: t.sampled > 0 ? t.clipped / t.sampled : 0, nonFinite: t.nonFinite } } : {}),
    runDir: r.runDir,
    weightsHash: r.weightsHash,
    ...(r.dataset ? { dataset: datasetSpent(r.dataset, plan.budget.delta) } : {}),
  };
}

/**
 * ε of every release on the dataset so far (all runs), by the dataset ledger's accountant. Releases an older dpzo wrote without
 * the `trueSensitivity` mark count at Δ = 2C (DatasetLedger.spent: the upper bound `dpzo account --dataset` states): the report and
 * the model card stated them at face value, less than what may have been spent. `olderReleases` says how many there were.
 */
export function datasetSpent(d: DatasetLedger, delta: number): DatasetSpent {
  const l = d.ledger;
  const older = d.unmarked().releases;
  return {
    ledger: d.path,
    runs: d.runs().length,
    releases: l.length,
    epsilon: l.length === 0 ? 0 : d.spent(delta).epsilon,
    delta,
    budget: d.budget,
    ...(older > 0 ? { olderReleases: older } : {}),
  };
}
