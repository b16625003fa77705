// defines: TrainReport and buildReport — what a training run reports at its end:
// why it stopped, ε spent (from the ledger, by both accountants), the evaluations
// before and after, warnings, and run-level time only (per-step times would reveal
// the size of each private batch).
import { type PrivacyLedger, type Spent, spentReport } from '../privacy/index.js';
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
  };
}
