// defines: runAudit — the audit's training runs, each through the real
// DPZOTrainer (sampler, estimator, clipping, CSPRNG noise, ledger, update: nothing
// re-implemented): K gradient canaries (canaries.ts), each in the dataset on a fair
// coin of its own, one direction per canary; the adversary scores every canary from
// the released ĝ (onStep) and the bound is computed from the scores —
// Clopper–Pearson over many runs (hypothesis.ts) or one run's guesses (one-run.ts).
// Not exported from the package: the public entry is audit() (audit.ts), which
// cannot pass the test hooks.
import { randomBytes } from 'node:crypto';

import type { Dataset, Example } from '../data/tasks.js';
import { DpzoError } from '../errors.js';
import type { Model } from '../model/types.js';
import { type TrainerTestHooks, installTestHooks } from '../dpzo/hooks.js';
import { type TrainOptions, type TrainPlan, ceilSteps, clipNorm, isNonPrivate, makePlan, releaseDivisor, releaseSensitivity } from '../dpzo/options.js';
import { DPZOTrainer } from '../dpzo/trainer.js';
import { type CanaryLayout, type NoiseLaw, canaryContribution, canaryHook, canaryScore } from './canaries.js';
import { type ThresholdBound, thresholdAudit } from './hypothesis.js';
import { type GuessBound, guessAudit } from './one-run.js';

/** The audit's threat model: one training run (Steinke et al. 2023) or many short ones (gradient canaries, Clopper–Pearson). */
export type AuditSetting = 'one-run' | 'gradient-canary';

export interface AuditInput {
  setting: AuditSetting;
  /** The audited configuration: its train set is the data without canaries (runDir, eval and resume are ignored). */
  train: TrainOptions;
  /** A fresh model for each run (a model that took releases belongs to its trainer). */
  loadModel: () => Promise<Model>;
  /** Canaries per run, each on its own direction (the runs take max(directions, K) directions). */
  canaries: number;
  /** Training runs (gradient-canary; one-run takes exactly one). */
  runs?: number;
  confidence?: number;
  signal?: AbortSignal;
  onRun?: (done: number, total: number) => void;
}

/** Only for tests: what every audit run's trainer gets besides the canary hook (e.g. the noise removed). */
export type AuditTestHooks = Pick<TrainerTestHooks, 'noise'>;

/** One canary of one run: the adversary's score and whether the canary was in the dataset. */
export interface Trial {
  /** Log-likelihood ratio of the canary's observations (higher: more likely in). */
  score: number;
  /** The coin: the canary was in the training set. */
  member: boolean;
}

export interface AuditRunsResult {
  setting: AuditSetting;
  plan: TrainPlan;
  /** ε of the configuration by the trainer's own accountant (its report after the first run). */
  claimedEpsilon: number;
  runs: number;
  canaries: number;
  trials: Trial[];
  bound: { kind: 'threshold'; detail: ThresholdBound } | { kind: 'one-run'; detail: GuessBound };
  epsilonLowerBound: number;
  confidence: number;
  /** Trainer runs made (each a DPZOTrainer.train call). */
  trainerRuns: number;
  seconds: number;
}

function coin(): boolean {
  return (randomBytes(1)[0]! & 1) === 1;
}

function positiveInt(v: number, what: string): number {
  if (!(Number.isInteger(v) && v > 0)) throw new DpzoError('ERR_ARGUMENT', `${what} must be a positive integer (got ${v})`);
  return v;
}

/** The shortest example: a canary's content is never read (its scalars are forced), only its forwards cost. */
function canaryExample(train: Dataset): Example {
  return train.examples.reduce((a, b) => (b.inputIds.length < a.inputIds.length ? b : a));
}

/** The audit runs' options: the sampling rate fixed a priori, so the plan does not depend on the canaries' count. */
function runOptions(input: AuditInput, k: number): TrainOptions {
  const o = input.train;
  const n0 = o.train.examples.length;
  if (n0 === 0) throw new DpzoError('ERR_DATA_EMPTY', 'the training set has no examples');
  const q = o.sampleRate ?? (input.setting === 'gradient-canary' ? 1 : Math.min(1, o.batchSize / n0));
  // epochs are converted as train converts them (1.1 epochs at q = 0.1 are 11 steps: 1.1/0.1 = 11.000000000000002
  // made 12); with a sampleRate the user gave, train refuses epochs (they need N), and so does makePlan here
  const steps = o.sampleRate !== undefined ? o.steps : (o.steps ?? (o.epochs !== undefined ? Math.max(1, ceilSteps(o.epochs / q)) : undefined));
  return {
    ...o,
    eval: undefined,
    evalEvery: undefined,
    runDir: undefined,
    resume: false,
    datasetLedger: false,
    datasetBudget: undefined,
    privateDiagnostics: false,
    sampleRate: q,
    epochs: o.sampleRate !== undefined ? o.epochs : undefined,
    steps,
    // the public divisor: the expected batch with half the canaries in
    batchSize: o.sampleRate !== undefined ? o.batchSize : Math.max(1, q * (n0 + k / 2)),
    directions: Math.max(o.directions ?? 1, k),
  };
}

function noiseLaw(plan: TrainPlan): NoiseLaw {
  return plan.mechanism === 'gaussian'
    ? { kind: 'gaussian', sd: plan.noiseMultiplier! * releaseSensitivity(plan) }
    : { kind: 'laplace', scale: plan.laplaceScale! };
}

export async function runAudit(input: AuditInput, test?: AuditTestHooks): Promise<AuditRunsResult> {
  const t0 = performance.now();
  const { setting } = input;
  if (setting !== 'one-run' && setting !== 'gradient-canary')
    throw new DpzoError('ERR_ARGUMENT', `setting must be one-run or gradient-canary (got '${setting}')`);
  const k = positiveInt(input.canaries, 'canaries');
  const runs = positiveInt(input.runs ?? 1, 'runs');
  if (setting === 'one-run' && runs !== 1) throw new DpzoError('ERR_ARGUMENT', `the one-run setting trains once (got runs = ${runs})`);
  if (setting === 'one-run' && k < 2) throw new DpzoError('ERR_ARGUMENT', 'the one-run setting needs at least 2 canaries');
  // the canaries are forced per-direction scalars (DP-ZO's); a DP-SGD run has no such hook, and its plan refused the
  // audit's own directions with a message about an option the user never gave
  if (input.train.method === 'dpsgd')
    throw new DpzoError('ERR_TRAIN_OPTION', "method dpsgd cannot be audited: the audit's canaries are DP-ZO's per-direction scalars (give method dpzo)", {
      field: 'method',
      mentions: ['method'],
    });
  const confidence = input.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) throw new DpzoError('ERR_ARGUMENT', `confidence must be in (0, 1) (got ${confidence})`);

  const base = runOptions(input, k);
  // calibrated once; every run then states the same σ (or b) explicitly
  const plan = makePlan(base);
  if (isNonPrivate(plan)) throw new DpzoError('ERR_TRAIN_OPTION', 'epsilon inf is a non-private baseline: it claims no ε to audit', { field: 'epsilon' });
  const fixed: TrainOptions = plan.mechanism === 'gaussian' ? { ...base, noiseMultiplier: plan.noiseMultiplier } : { ...base, laplaceScale: plan.laplaceScale };
  const n = plan.directions;
  const q = plan.sampleRate;
  const c = canaryContribution(plan.clip, n);
  const law = noiseLaw(plan);
  const divisor = releaseDivisor(plan);
  const canary = canaryExample(input.train.train);
  const trials: Trial[] = [];
  let claimedEpsilon = plan.predictedEpsilon;
  let trainerRuns = 0;

  for (let r = 0; r < runs; r++) {
    if (input.signal?.aborted) throw new DpzoError('ERR_CANCELLED', 'the audit was cancelled');
    const member = Array.from({ length: k }, coin);
    const ids = member.flatMap((m, j) => (m ? [j] : []));
    const train: Dataset = { ...input.train.train, examples: [...input.train.train.examples, ...ids.map(() => canary)] };
    const layout: CanaryLayout = { base: input.train.train.examples.length, ids };
    const others = new Map<number, Float64Array>();
    const released: { step: number; gHat: number[] }[] = [];
    const model = await input.loadModel();
    try {
      const trainer = new DPZOTrainer(model, { ...fixed, train });
      installTestHooks(trainer, { ...test, scalars: canaryHook(layout, plan.clip, clipNorm(plan), others) });
      const report = await trainer.train({ signal: input.signal, onStep: (s) => void released.push({ step: s.step, gHat: s.gHat }) });
      trainerRuns++;
      if (report.stopReason !== 'completed') throw new DpzoError('ERR_CANCELLED', `audit run ${r + 1} stopped early (${report.stopReason})`);
      if (r === 0) claimedEpsilon = plan.accountant === 'pld' ? report.epsilon.pld : report.epsilon.rdp;
    } finally {
      model.dispose();
    }
    // y_t,j = ĝ_t,j·B − (the other examples' clipped sum): the canary's C when sampled, plus the noise
    for (let j = 0; j < k; j++) {
      const ys = released.map(({ step, gHat }) => gHat[j]! * divisor - (others.get(step)?.[j] ?? 0));
      trials.push({ score: canaryScore(ys, c, q, law), member: member[j]! });
    }
    input.onRun?.(r + 1, runs);
  }

  const delta = plan.budget.delta;
  const bound =
    setting === 'gradient-canary'
      ? { kind: 'threshold' as const, detail: thresholdAudit(trials, delta, confidence) }
      : { kind: 'one-run' as const, detail: guessAudit(trials, delta, confidence) };
  return {
    setting,
    plan,
    claimedEpsilon,
    runs,
    canaries: k,
    trials,
    bound,
    epsilonLowerBound: bound.detail.epsilon,
    confidence,
    trainerRuns,
    seconds: (performance.now() - t0) / 1000,
  };
}
