// defines: TrainReport and buildReport — what a training run reports at its end:
// why it stopped, ε spent (from the ledger, by both accountants), the evaluations
// before and after, warnings, and run-level time only (per-step times would reveal
// the size of each private batch).
import { type DatasetLedger, type PrivacyLedger, type Spent, spentReport } from '../privacy/index.js';
import { type EvalResult, improved } from './evaluate.js';
import type { TrainPlan } from './options.js';

export type StopReason = 'completed' | 'budget' | 'cancelled';

export interface TrainReport {
  /** False when test hooks injected seeds, noise or batches: no privacy claim. */
  private: boolean;
  stopReason: StopReason;
  steps: number;
  plannedSteps: number;
  plan: TrainPlan;
  epsilon: Spent;
  budget: { epsilon: number; delta: number };
  metric?: { name: string; before: number; after: number; improved: boolean };
  evalBefore?: EvalResult;
  evalAfter?: EvalResult;
  evalPublic: boolean;
  warnings: string[];
  /**
   * Run-level wall time (start to end) and steps over it. Nothing per step carries a time: a step's
   * duration grows with the tokens in its Poisson batch, so per-step times reveal who was sampled.
   */
  seconds: number;
  stepsPerSecond: number;
  /** Only with TrainOptions.privateDiagnostics: statistics of the private data, outside the guarantee. */
  privateDiagnostics?: { sampled: number; clippedFraction: number; nonFinite: number };
  runDir?: string;
  weightsHash?: string;
  /** The training file's dataset ledger (every run on that file composed): its file, runs, releases and ε at the run's δ. */
  dataset?: DatasetSpent;
}

export interface DatasetSpent {
  ledger: string;
  runs: number;
  releases: number;
  epsilon: number;
  delta: number;
  budget: { epsilon: number; delta: number } | null;
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

/** ε of every release on the dataset so far (all runs), by the dataset ledger's accountant. */
export function datasetSpent(d: DatasetLedger, delta: number): DatasetSpent {
  const l = d.ledger;
  return { ledger: d.path, runs: d.runs().length, releases: l.length, epsilon: l.length === 0 ? 0 : l.spent(delta).epsilon, delta, budget: d.budget };
}
