// defines: DPZOTrainer — the DP-ZO training loop of ARCHITECTURE §3 over a
// Model: it opens the run (run-directory.ts), evaluates, takes steps
// (step.ts: Poisson batch, seeded directions, per-example clipping, CSPRNG
// noise, the ledger before the update) until done, the budget or a cancel,
// keeps ε current for onStep, and builds the report (report.ts). With
// `method: 'dpsgd'` the same loop takes DP-SGD steps (lib/dpsgd/step.ts) and
// keeps the optimizer's state and the run's weights checkpoint (lib/dpsgd/state.ts).
import { randomUUID } from 'node:crypto';
import { realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { fileSha256 } from '../data/fingerprint.js';
import { removeCheckpointTemps } from '../dpsgd/checkpoint.js';
import { dpsgdStep } from '../dpsgd/step.js';
import { type CheckpointTarget, type GradientModel, GradientState, gradientModel, loadCheckpoint } from '../dpsgd/state.js';

import { PoissonSampler } from '../data/poisson.js';
import type { Dataset } from '../data/tasks.js';
import { DpzoError, isCoded } from '../errors.js';
import { unknownKey } from '../unknown-key.js';
import type { Model } from '../model/types.js';
import { type Budget, DatasetLedger, PrivacyLedger, datasetLedgerFile, dpzoHome, epsilonOfSteps, rdpTracker } from '../privacy/index.js';
import { METRICS_FILE } from './curves.js';
import { type EvalOptions, type EvalResult, evaluate } from './evaluate.js';
import { finishedReport } from './finished-run.js';
import { testHooksOf } from './hooks.js';
import { claimModel, recordRelease, releaseModel } from './model-history.js';
import { type TrainOptions, type TrainPlan, isNonPrivate, ledgerBudget, makePlan, planRelease, stepRelease } from './options.js';
import { replayRun, replayTrajectory } from './replay.js';
import { type PrivateTotals, type StopReason, type TrainReport, buildReport } from './report.js';
import { RunDirectory, type RunHandles, checkSamePlan, memoryRun } from './run-directory.js';
import { type RunRecord, readRunJson } from './run-record.js';
import { type PrivateStepDiagnostics, dpzoStep } from './step.js';

export type { PrivateStepDiagnostics } from './step.js';
export type { StopReason, TrainReport } from './report.js';
export type { RunRecord } from './run-record.js';

/** What a step reports by default: only public values and what the mechanism released. */
export interface StepInfo {
  /** Index of this step, from 0 (a resumed run continues its numbering). */
  step: number;
  /** Planned number of steps T. */
  steps: number;
  /** Learning rate η_t this step used (after schedule and warmup). */
  lr: number;
  /** Released ĝ (DP-ZO: one scalar per direction). Empty for DP-SGD: its release is P-sized and stays in the trainer (see gHatNorm). */
  gHat: number[];
  /** DP-SGD: ‖ĝ‖₂ of the released gradient (public: a function of the release). Absent for DP-ZO. */
  gHatNorm?: number;
  /** ε spent so far by RDP (cheap, computed every step; looser than PLD). */
  epsilonRdp: number;
  /**
   * ε spent so far by the accountant that enforces the budget (PLD by default), as an upper bound that is
   * never below what was spent: exact at the last step (and when cancelled); in between (a PLD composition
   * is not free) the PLD ε of the next of about 20 refresh points, or RDP's now when that is smaller.
   */
  epsilon: number;
  /** Statistics of the private batch, only with TrainOptions.privateDiagnostics: NOT covered by the privacy guarantee. */
  privateDiagnostics?: PrivateStepDiagnostics;
}

/** An evaluation of the held-out set during training (before the first step, every `evalEvery` steps, after the last). */
export interface EvalEvent {
  /** Steps taken when it was evaluated (0 before training; `start` for a resumed run). */
  step: number;
  /** The metrics. */
  result: EvalResult;
}

/** Hooks into {@link DPZOTrainer.train}: cancellation and progress. Every field is optional; an async callback is awaited before the next step. */
export interface TrainCallbacks {
  /**
   * Cancels the run: checked before each step (and passed to the evaluations, the final one included); train() then resolves with
   * stopReason `'cancelled'`, without the evaluation after training (`evalAfter`, `metric`), and everything released so far stays in the ledger.
   */
  signal?: AbortSignal;
  /** Called after each step's release and update, with only public values (unless privateDiagnostics). */
  onStep?: (info: StepInfo) => void | Promise<void>;
  /** Called after each evaluation of TrainOptions.eval. */
  onEval?: (e: EvalEvent) => void | Promise<void>;
  /** Called with each warning as it arises (also collected in TrainReport.warnings): e.g. a private evaluation set, a stop at the budget. */
  onWarning?: (message: string) => void;
  /** The run is open (directory, ledgers and budget checks passed), before the first evaluation and step. */
  onOpen?: () => void;
}

const CALLBACK_KEYS: Record<keyof TrainCallbacks, true> = { signal: true, onStep: true, onEval: true, onWarning: true, onOpen: true };

/** The callbacks of train(): a misspelt name was ignored ({ signall } never cancelled the run, { onstep } was never called). */
function checkCallbacks(cb: TrainCallbacks): void {
  const bad = (m: string) => new DpzoError('ERR_TRAIN_OPTION', m);
  if (typeof cb !== 'object' || cb === null) throw bad('train() takes an object of callbacks { signal, onStep, onEval, onWarning, onOpen }');
  const unknown = unknownKey(cb, CALLBACK_KEYS);
  if (unknown !== undefined) throw bad(`${unknown} is not a callback of train() (misspelt?)`);
  for (const [k, v] of Object.entries(cb) as [string, unknown][]) {
    if (v === undefined) continue;
    if (k === 'signal') {
      // 'aborted' is not read here: a read of a signal's state belongs to the run
      if (typeof v !== 'object' || v === null || !('aborted' in v)) throw bad('signal must be an AbortSignal');
    } else if (typeof v !== 'function') throw bad(`${k} must be a function`);
  }
}

/** A dataset built in memory has no file (its source is '' or a label): it has no dataset ledger. */
function isFile(p: string): boolean {
  try {
    return p !== '' && statSync(p).isFile();
  } catch {
    return false;
  }
}

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

/**
 * The trainer's `model` argument: `new DPZOTrainer(null, opts).plan()` (or `{}`) failed with an uncoded TypeError
 * ("reading 'config'") from the dataset checks.
 */
function checkModel(model: unknown): void {
  const m = model as Partial<Model> | null;
  const config = typeof m === 'object' && m !== null ? m.config : undefined;
  if (!(typeof config === 'object' && config !== null && Number.isInteger(config.vocabSize) && Number.isInteger(config.maxPositions))) {
    const got = m === null ? 'null' : typeof m !== 'object' ? typeof m : 'an object without a model config';
    throw new DpzoError('ERR_ARGUMENT', `DPZOTrainer: the model argument must be a loaded Model (loadModel), got ${got}`);
  }
}

/**
 * A dataset budget that a new dataset ledger would take, though the plan's first release alone exceeds it: the run opened
 * (run directory, dataset ledger), stopped 'before step 0' and exited 0, and the ledger kept that budget for good, so
 * that every later run on the training file, with any other datasetBudget, was refused. Refused before anything is made.
 * An existing ledger's budget governs as it is (one with no room left for the first step is refuseSpentDataset's); another one
 * is refused, as opening the ledger would refuse it (its header read here, so that a dry run refuses it too).
 */
function refuseSpentNewBudget(plan: TrainPlan, budget: Budget, home: string, sha256: string): void {
  const file = datasetLedgerFile(home, sha256);
  if (file !== undefined) return DatasetLedger.checkFixedBudget(file, budget);
  const trial = PrivacyLedger.inMemory({ budget, accountant: 'pld' });
  if (!trial.wouldExceed(stepRelease(plan, 0))) return;
  throw new DpzoError(
    'ERR_TRAIN_OPTION',
    `datasetBudget (ε = ${budget.epsilon} at δ = ${budget.delta}) is exceeded by the run's first step alone: a new dataset ledger with it would refuse every release on this training file (give a larger one)`,
    { field: 'datasetBudget' },
  );
}

/**
 * A new run on a training file whose dataset ledger has no room left for its first step (the budget an earlier run fixed,
 * with every release recorded so far): it made its run directory, stopped 'budget' before step 0 and exited 0, an empty run
 * left behind. Refused before anything is made, from the ledger read without a lock (DatasetLedger.exceededBy). A resume is
 * not refused: its stop at the dataset budget is where the run ended.
 */
function refuseSpentDataset(plan: TrainPlan, home: string, sha256: string): void {
  const file = datasetLedgerFile(home, sha256);
  if (file === undefined) return;
  const release = stepRelease(plan, 0);
  const spent = DatasetLedger.exceededBy(file, release);
  if (spent === undefined) return;
  const { budget: b } = spent;
  const budget = `the training file's dataset budget ε = ${b.epsilon} at δ = ${b.delta} (fixed by its first run; ledger ${file})`;
  // a release that exceeds the budget on its own (a non-private run: ε = ∞) says so, not that the budget was spent
  if (PrivacyLedger.inMemory({ budget: b, accountant: 'pld' }).wouldExceed(release))
    throw new DpzoError('ERR_BUDGET_EXCEEDED', `this run's first step alone exceeds ${budget}: no run with this plan can train on this file`);
  const older = spent.olderReleases > 0 ? `, ${spent.olderReleases} older release(s) counted at Δ = 2C` : '';
  throw new DpzoError(
    'ERR_BUDGET_EXCEEDED',
    `${budget} is spent: ε = ${Number(spent.epsilon.toPrecision(4))} already spent on it by earlier runs (${spent.releases} releases${older}) and this run's first step would exceed it, so no further run on this training file is possible at this run's noise`,
  );
}

/**
 * Throws unless every example of `ds` fits the model: token ids (and labels, -100 aside) in its vocabulary, at most its positions.
 * loadDataset checks this for the config it was given; a dataset made for another model failed only at the step whose batch
 * held the row, after earlier releases. Names the example's index, never its content.
 */
function checkFits(ds: Dataset, what: string, config: Model['config']): void {
  const V = config.vocabSize;
  const outside = (a: ArrayLike<number>, ignore: boolean) => Array.prototype.some.call(a, (x: number) => !(x >= 0 && x < V) && !(ignore && x === -100));
  const bad = (why: string) => new DpzoError('ERR_TRAIN_OPTION', `${what}.${why}`);
  if (ds.candidates && outside(ds.candidates, false)) throw bad(`candidates hold a token id outside the model's vocabulary [0, ${V})`);
  ds.examples.forEach((e, i) => {
    if (e.inputIds.length > config.maxPositions) throw bad(`examples[${i}] is longer than the model's ${config.maxPositions} positions`);
    if (outside(e.inputIds, false)) throw bad(`examples[${i}] holds a token id outside the model's vocabulary [0, ${V})`);
    if (e.labels && outside(e.labels, true)) throw bad(`examples[${i}].labels hold a token id outside the model's vocabulary [0, ${V})`);
  });
}

/**
 * Whether the evaluation set is the training set: the same object, the same path, or the training file under
 * another name (a link, a copy: the same bytes). Its metrics are then statistics of the private data, whatever
 * evalPublic says.
 */
function isTrainingSet(evalSet: Dataset, train: Dataset): boolean {
  if (evalSet === train) return true;
  // the hashes of the bytes both were loaded from (loadDataset keeps them): no file is read again
  if (evalSet.sha256 !== undefined && train.sha256 !== undefined) return evalSet.sha256 === train.sha256;
  if (evalSet.source === '' || train.source === '') return false;
  if (resolve(evalSet.source) === resolve(train.source)) return true;
  if (!isFile(evalSet.source) || !isFile(train.source)) return false;
  if (realpathSync(evalSet.source) === realpathSync(train.source)) return true;
  return statSync(evalSet.source).size === statSync(train.source).size && fileSha256(evalSet.source) === fileSha256(train.source);
}

/**
 * The DP-ZO trainer: differentially private zeroth-order fine-tuning of a loaded {@link Model}. Each step Poisson-samples a batch (rate q), estimates each
 * example's directional derivatives along seeded random directions by two forward passes (ε_zo), clips them per example to C, adds noise from `crypto` (σ·C
 * Gaussian or Laplace b) to their sum, records the release in the privacy ledger, then updates θ along the same directions. Only the noisy scalars ĝ (and the
 * public seeds) leave a step.
 *
 * With `method: 'dpsgd'` it trains by DP-SGD instead (Abadi et al. 2016: per-example gradients from the backward pass, clipped, summed and noised; SGD or Adam),
 * with the same plan, sampler, ledgers, budget and run directory; see {@link TrainOptions}.
 *
 * Options are validated and the noise calibrated by {@link DPZOTrainer.plan} before any release. A trainer owns its model's privacy history: a second train()
 * call on the same trainer continues the same ledger (never a fresh budget) — without a `runDir`; with one, the directory holds a run already and the
 * second call is refused (`ERR_RUN_EXISTS`): continue it with `resume: true` on the base model freshly loaded, which replays it. Training the same weights with another trainer in the same
 * process is refused (`ERR_TRAIN_OPTION`): their privacy loss would be forgotten; so is a second trainer's train() while one runs on the model (`ERR_TRAIN_BUSY`).
 *
 * @example
 * ```ts
 * import { loadModel, loadDataset, DPZOTrainer } from 'dpzo';
 *
 * const model = await loadModel('models/tiny-gpt2', { trainable: ['*attn*'] });
 * const train = loadDataset('data/sst2-train.jsonl', {
 *   task: { kind: 'classification' },
 *   modelDir: 'models/tiny-gpt2',
 *   config: model.config,
 * });
 * const trainer = new DPZOTrainer(model, { train, epsilon: 3, delta: 1e-5, batchSize: 16, steps: 500, runDir: 'runs/sst2' });
 * console.log(trainer.plan().noiseMultiplier); // σ calibrated to ε = 3 at δ = 1e-5 after 500 steps
 * const report = await trainer.train({ onStep: (s) => console.log(s.step, s.epsilon) });
 * console.log(report.stopReason, report.epsilon);
 * model.dispose();
 * ```
 */
export class DPZOTrainer {
  /** The model trained in place (its weights change with every step). */
  readonly model: Model;
  /** The options as given (defaults are applied in the plan, not here). */
  readonly options: TrainOptions;
  private planCache: TrainPlan | null = null;
  private running = false;
  /** Without a run directory: the ledger of every train() call so far (a second call continues, never a fresh budget). */
  private memory: PrivacyLedger | null = null;
  /** Without a run directory: the id under which this trainer's releases go to the dataset ledger. */
  private readonly memoryRunId = randomUUID();
  /** DP-SGD: the optimizer's state (kept across train() calls of a run without a directory, as its ledger is). */
  private gradient: GradientState | null = null;

  /** Keeps the model and the options; validates nothing yet (see {@link DPZOTrainer.plan}). */
  constructor(model: Model, options: TrainOptions) {
    this.model = model;
    this.options = options;
  }

  /**
   * Validates the options and calibrates σ (or b): no release, no file written. Checks too that the model can
   * run the plan's method (DP-SGD: float32 weights on the CPU backend) and that every example of `train` and `eval` fits the model
   * (token ids in its vocabulary, at most its positions), and that a `datasetBudget` is one the run would take (training data read from a
   * file; the budget an existing dataset ledger fixed, else one the first step alone does not exceed; reading the ledger's header, writing nothing),
   * and, for a new run (not `resume`), that the training file's dataset ledger, if it has a budget, still has room for the first step (reading the
   * ledger without a lock, writing nothing), so that a dry run refuses what a run would.
   * @throws {@link DpzoError} `ERR_ARGUMENT` when `model` is not a Model; `ERR_TRAIN_OPTION` for a bad option, a dataset that does not fit the model, a datasetBudget the run would refuse, or a DP-SGD plan on a model without a backward pass;
   * `ERR_BUDGET_EXCEEDED` for a new run whose first step the training file's dataset budget (fixed by an earlier run) no longer admits.
   */
  plan(): TrainPlan {
    if (this.planCache) return this.planCache;
    checkModel(this.model);
    const plan = makePlan(this.options);
    const model = this.model;
    checkFits(this.options.train, 'train', model.config);
    if (this.options.eval) checkFits(this.options.eval, 'eval', model.config);
    if (plan.method === 'dpsgd' && !gradientModel(model))
      throw new DpzoError(
        'ERR_TRAIN_OPTION',
        `method dpsgd needs float32 weights on the CPU backend (this model: ${model.dtype} on ${model.backend}; dtype float32 converts on load)`,
        { field: 'method', mentions: ['dtype'] },
      );
    this.checkDatasetBudget(plan);
    this.planCache = plan;
    return plan;
  }

  /**
   * Trains until the planned steps are done, the budget would be exceeded (stopReason `'budget'`), or `cb.signal` aborts (`'cancelled'`). With `runDir` it
   * first creates the run directory (run.json, then each step's ledger line before its trajectory line and before the update) or, with `resume`, replays it
   * to its last step. Evaluates `eval` before and after (and every `evalEvery` steps).
   *
   * @param cb Cancellation and progress callbacks.
   * @returns The report: steps taken, ε spent by PLD and RDP, the metric before and after, warnings.
   * @throws {@link DpzoError} `ERR_TRAIN_BUSY` (this trainer, or another one on the same model, is training), `ERR_TRAIN_OPTION` (bad options or callbacks, no trainable parameters, weights already
   * trained by another trainer), `ERR_RUN_EXISTS` / `ERR_RUN_MISMATCH` / `ERR_RUN_CORRUPT` (run directory), `ERR_LEDGER_*` (ledgers),
   * `ERR_BUDGET_IMPOSSIBLE`, and native errors of the model (`ERR_OUT_OF_MEMORY`, `ERR_CANCELLED`, …).
   */
  async train(cb: TrainCallbacks = {}): Promise<TrainReport> {
    checkCallbacks(cb);
    if (this.running) throw new DpzoError('ERR_TRAIN_BUSY', 'this trainer is already training');
    this.running = true;
    try {
      return await this.run(cb);
    } finally {
      this.running = false;
      releaseModel(this.model, this);
    }
  }

  private warnings(cb: TrainCallbacks): { list: string[]; warn: (m: string) => void } {
    const list: string[] = [];
    return {
      list,
      warn: (m) => {
        list.push(m);
        cb.onWarning?.(m);
      },
    };
  }

  /**
   * The training file's dataset ledger (dataset-ledger.ts): found from the file's SHA-256 (named by its HMAC), under
   * options.dpzoHome ($DPZO_HOME, ~/.dpzo). None for data that is not a file, or with datasetLedger false.
   */
  private datasetOf(plan: TrainPlan): { sha256: string; open: () => Promise<DatasetLedger> } | undefined {
    const o = this.options;
    this.checkDatasetBudget(plan);
    const sha256 = this.datasetSha256();
    if (sha256 === undefined) return undefined;
    const budget = o.datasetBudget === undefined ? undefined : { epsilon: o.datasetBudget, delta: plan.budget.delta };
    return { sha256, open: () => DatasetLedger.open(sha256, { home: o.dpzoHome, budget }) };
  }

  /** The SHA-256 of the training file that names its dataset ledger, or undefined: no ledger (data not from a file, datasetLedger false). */
  private datasetSha256(): string | undefined {
    const o = this.options;
    if (o.datasetLedger === false) return undefined;
    // the SHA-256 of the bytes loadDataset read (the file may have changed or gone since), else of the file now
    return o.train.sha256 ?? (isFile(o.train.source) ? fileSha256(o.train.source) : undefined);
  }

  /**
   * The refusals of datasetBudget that need no ledger opened: plan() makes them, so that a dry run (which calls only plan())
   * refuses what the run would (it printed the plan and exited 0 for a budget the run then refused), and the run again as it
   * opens (a ledger may have been made since). Reads; writes nothing.
   */
  private checkDatasetBudget(plan: TrainPlan): void {
    const o = this.options;
    // a resume without datasetBudget reads no ledger here: its budget stop is the run's own ('budget', its recorded report)
    if (o.datasetBudget === undefined && o.resume) return;
    const sha256 = this.datasetSha256();
    const home = o.dpzoHome ?? dpzoHome();
    if (o.datasetBudget !== undefined) {
      if (sha256 === undefined)
        throw new DpzoError('ERR_TRAIN_OPTION', 'datasetBudget needs a dataset ledger: training data read from a file, datasetLedger not false', {
          field: 'datasetBudget',
        });
      refuseSpentNewBudget(plan, { epsilon: o.datasetBudget, delta: plan.budget.delta }, home, sha256);
    }
    if (sha256 !== undefined && !o.resume) refuseSpentDataset(plan, home, sha256);
  }

  /** The run's handles: a fresh directory, a resumed one (replayed to its last step), or memory. */
  private async openRun(
    plan: TrainPlan,
    isPrivate: boolean,
    warn: (m: string) => void,
    evalFirst: () => Promise<void>,
    signal?: AbortSignal,
  ): Promise<RunHandles> {
    const o = this.options;
    const model = this.model;
    const dataset = this.datasetOf(plan);
    const gradient = plan.method === 'dpsgd' ? (model as GradientModel) : undefined;
    if (!o.runDir) {
      if (gradient) this.gradient ??= new GradientState(plan.optimizer!, model.numTrainable);
      this.memory ??= PrivacyLedger.inMemory({ budget: ledgerBudget(plan), accountant: plan.accountant });
      const memory = this.memory;
      const ledger = dataset ? await dataset.open() : undefined;
      try {
        // an earlier call that failed between the two appends (the dataset's refused: a full disk, a lost lock) left the
        // dataset ledger behind this trainer's own: caught up here, as --resume catches up a run directory
        const behind = ledger ? ledger.missingFrom(this.memoryRunId, memory.path, memory.entries) : [];
        if (behind.length > 0) warn(`the dataset ledger ${ledger!.path} lacked this trainer's last ${behind.length} release(s) (a failed append); added`);
        for (const e of behind) await ledger!.record(this.memoryRunId, e);
        await evalFirst();
      } catch (e) {
        await ledger?.close();
        throw e;
      }
      return memoryRun(this.memory, this.memoryRunId, ledger);
    }
    if (o.resume) {
      const dataFile = isFile(o.train.source) ? o.train.source : undefined;
      const run = await RunDirectory.resume(o.runDir, plan, model, warn, dataset?.open, dataset?.sha256, dataFile);
      try {
        await evalFirst(); // on the base weights, before the replay
      } catch (e) {
        await run.close();
        throw e;
      }
      try {
        if (gradient) await this.restoreGradient(gradient, run, plan, warn);
        else await replayTrajectory(model, run.trajectoryLines(), plan.zoEps!, signal, plan.weightDecay);
      } catch (e) {
        // a replay (or checkpoint load) that stopped part-way (cancelled, a failed call) left θ carrying some of the
        // run's releases: the model is no longer anyone's initial weights, so another trainer must not start on it
        if (run.ledger.length > 0) recordRelease(model, this, run.ledger.length, run.dir);
        await run.close();
        throw e;
      }
      return run;
    }
    const run = await RunDirectory.create(
      o.runDir,
      {
        private: isPrivate,
        model: {
          dir: resolve(model.dir),
          weightsHash: await model.weightsHash(),
          dtype: model.dtype,
          trainable: o.trainable ?? null,
          trainableNames: model.trainableNames(),
          numTrainable: model.numTrainable,
        },
        plan,
        meta: o.meta ?? {},
      },
      dataset?.open,
    );
    if (gradient) this.gradient = new GradientState(plan.optimizer!, model.numTrainable);
    try {
      await evalFirst();
    } catch (e) {
      await run.close();
      throw e;
    }
    return run;
  }

  /**
   * A resumed DP-SGD run: the weights and optimizer state of its last checkpoint (step k, or the base at 0), numbering
   * continued at the ledger's L ≥ k. The L − k updates an interruption lost stay counted: their noise was drawn and released.
   */
  private async restoreGradient(model: GradientModel, run: RunDirectory, plan: TrainPlan, warn: (m: string) => void): Promise<void> {
    removeCheckpointTemps(run.dir);
    const state = new GradientState(plan.optimizer!, model.numTrainable);
    const k = await loadCheckpoint(model, run.dir, run.runId, plan.optimizer!, state);
    if (k > run.start) throw new DpzoError('ERR_RUN_CORRUPT', `${run.dir}: its checkpoint is at step ${k} but the ledger holds only ${run.start} releases`);
    state.passed = run.start;
    if (run.start > k)
      warn(
        `resuming from the checkpoint at step ${k}: the ${run.start - k} update(s) released after it were lost by the interruption; their privacy cost stays in the ledger, numbering continues at step ${run.start}`,
      );
    this.gradient = state;
  }

  /**
   * The report a finished run recorded (its run directory's metrics.jsonl, as `dpzo train` writes it, ending in the report of
   * a completed run, or of one stopped at its budget with the steps the trajectory holds), when this is a resume of one: it is
   * returned as `dpzo train --resume` prints it, with nothing evaluated or written and no ledger opened. A budget stop is
   * final: both budgets are fixed and a ledger only grows, so the next release would be refused again. The model is left
   * holding the run's final weights, as after any train() (a DP-ZO trajectory replayed, a DP-SGD run's last checkpoint
   * loaded) and checked against the hash the report recorded: a caller that saves or evaluates the model after a resume
   * gets the trained weights, not the base. The plan, the trainable tensors and the base weights are checked against
   * run.json first, as a resume that trains checks them (the base weights and the trainable names by replayRun).
   */
  private async recordedReport(plan: TrainPlan, warn: (m: string) => void, signal?: AbortSignal): Promise<TrainReport | undefined> {
    const o = this.options;
    const model = this.model;
    if (!o.resume || !o.runDir) return undefined;
    const abs = resolve(o.runDir);
    const done = finishedReport(abs, join(abs, METRICS_FILE));
    if (!done) return undefined;
    const run = readRunJson<RunRecord>(abs);
    checkSamePlan(abs, run.plan, plan);
    const why =
      done.report.stopReason === 'completed'
        ? `is complete (all ${done.steps} planned steps)`
        : `stopped at its budget after ${done.report.steps} of ${done.steps} planned steps (its next release would still exceed it)`;
    try {
      // export's and eval --run's replay (one code path): the ledger checked against the trajectory (read only), the base
      // weights' hash, the trainable names; a DP-ZO trajectory replayed, a DP-SGD run's last checkpoint loaded
      await replayRun(model, abs, signal);
    } finally {
      // θ now carries (some of) the run's releases: no other trainer may start on it as on base weights (also after a
      // refusal: replayRun refuses a wrong base or wrong trainable names before applying, and such a model is reloaded anyway)
      if (done.lines.length > 0) recordRelease(model, this, done.lines.length, abs);
    }
    const hash = await model.weightsHash();
    if (done.report.weightsHash !== undefined && hash !== done.report.weightsHash)
      throw new DpzoError(
        'ERR_RUN_CORRUPT',
        `${abs}: its trajectory (or last checkpoint) gives weights hash ${hash.slice(0, 12)}…, not the ${done.report.weightsHash.slice(0, 12)}… its report recorded`,
      );
    warn(`${abs} ${why}: nothing to resume; the report it recorded is returned, the model holds the run's final weights`);
    return done.report;
  }

  private async run(cb: TrainCallbacks): Promise<TrainReport> {
    const t0 = performance.now();
    const o = this.options;
    const model = this.model;
    const plan = this.plan();
    const hooks = testHooksOf(this);
    const isPrivate = hooks === undefined && !isNonPrivate(plan);
    const { list: warnings, warn } = this.warnings(cb);
    if (hooks !== undefined) warn('test hooks are installed: seeds, noise or batches are injected and this run is NOT private');
    if (isNonPrivate(plan)) warn('NOT PRIVATE: epsilon is ∞, so no noise is added; use this run only to measure what privacy costs');
    if (o.eval && isTrainingSet(o.eval, o.train)) {
      // --eval-public cannot make the private training file public
      warn(
        `the evaluation set is the training set (${o.train.source || 'the same dataset'}): its metrics are statistics of the private data, outside the differential privacy guarantee`,
      );
    } else if (o.eval && !o.evalPublic) {
      warn('the evaluation set is not declared public: metrics computed on private data are outside the differential privacy guarantee');
    }
    claimModel(model, this);
    if (model.numTrainable === 0) throw new DpzoError('ERR_TRAIN_OPTION', 'the model has no trainable parameters (check the trainable patterns)');
    const recorded = await this.recordedReport(plan, warn, cb.signal);
    if (recorded) return recorded;
    const evalOpts: EvalOptions = {
      maxExamples: o.evalMaxExamples,
      maxBatchTokens: o.maxBatchTokens,
      decode: o.decode,
      eosTokenId: o.eosTokenId,
      signal: cb.signal,
    };

    let evalBefore: EvalResult | undefined;
    const evalFirst = async () => {
      cb.onOpen?.();
      if (!o.eval) return;
      try {
        evalBefore = await evaluate(model, o.eval, evalOpts);
      } catch (e) {
        // cancelled inside it: no step is taken (the loop sees the signal), and train() resolves 'cancelled' as it does between steps
        if (!(cb.signal?.aborted && isCoded(e) && e.code === 'ERR_CANCELLED')) throw e;
      }
    };
    const run = await this.openRun(plan, isPrivate, warn, evalFirst, cb.signal);
    const older = run.dataset?.unmarked().releases ?? 0;
    if (older > 0)
      warn(
        `the dataset ledger ${run.dataset!.path} holds ${older} release(s) written by an older dpzo that did not mark the sensitivity its noise was set for: the dataset's ε and budget count them at twice their recorded sensitivity (an upper bound; dpzo account --dataset)`,
      );
    const start = run.start;
    // evaluated on the weights before any release (a resumed run evaluates before its replay, so that the report's "before"
    // is the base model): step 0, not the resume step, which put the base model's loss at step `start` in metrics.jsonl
    if (evalBefore) await cb.onEval?.({ step: 0, result: evalBefore });

    const ctx = {
      model,
      plan,
      train: o.train,
      maxBatchTokens: o.maxBatchTokens,
      // N stays inside the sampler: with a fixed sampling rate it is in no plan, file or release
      sampler: new PoissonSampler(o.train.examples.length, plan.sampleRate),
      schedule: { kind: plan.schedule, lr: plan.lr, totalSteps: plan.steps, warmupSteps: plan.warmupSteps },
      run,
      hooks,
    };
    const checkpoint: CheckpointTarget | undefined =
      run instanceof RunDirectory ? { dir: run.dir, runId: run.runId, every: o.checkpointEvery ?? 1 } : undefined;
    const gradient = this.gradient;
    const takeStep = (t: number) =>
      plan.method === 'dpsgd'
        ? dpsgdStep({ ...ctx, model: model as GradientModel, state: gradient!, checkpoint, microBatch: o.microBatch }, t)
        : dpzoStep(ctx, t);
    const release = planRelease(plan);
    const rdpEpsilon = rdpTracker(release, plan.budget.delta);
    let stopReason: StopReason = 'completed';
    let pldAhead = Infinity;
    let pldAheadCount = 0;
    const refreshEvery = Math.max(1, Math.ceil(plan.steps / 20));
    const totals: PrivateTotals = { sampled: 0, clipped: 0, nonFinite: 0 };
    let done = 0;
    try {
      for (let t = start; t < plan.steps; t++) {
        if (cb.signal?.aborted) {
          stopReason = 'cancelled';
          break;
        }
        const step = await takeStep(t);
        if ('refused' in step) {
          stopReason = 'budget';
          const b = run.dataset?.budget;
          warn(
            step.refused === 'run'
              ? `stopped before step ${t}: it would exceed the budget ε = ${plan.budget.epsilon}`
              : `stopped before step ${t}: it would exceed the dataset budget ε = ${b?.epsilon} at δ = ${b?.delta} (every run on this training file counts: ${run.dataset?.path})`,
          );
          break;
        }
        done++;
        totals.sampled += step.private.batchSize;
        totals.clipped += step.private.clipped;
        totals.nonFinite += step.private.nonFinite;
        if (cb.onStep) {
          const count = run.ledger.length;
          const epsilonRdp = rdpEpsilon(count);
          let epsilonNow: number;
          if (plan.accountant === 'rdp') epsilonNow = epsilonRdp;
          else if (count >= plan.steps || t + 1 === plan.steps || cb.signal?.aborted === true) {
            epsilonNow = epsilonOfSteps(release, count, plan.budget.delta, 'pld');
          } else {
            // between PLD compositions (not free: about 20 a run) show an upper bound, never less than was
            // spent: PLD composed up to the next refresh point, or RDP now when that is smaller
            if (count > pldAheadCount) {
              pldAheadCount = Math.min(plan.steps, count + refreshEvery - 1);
              pldAhead = epsilonOfSteps(release, pldAheadCount, plan.budget.delta, 'pld');
            }
            epsilonNow = Math.min(epsilonRdp, pldAhead);
          }
          // private statistics leave the trainer only on explicit request
          const diag = o.privateDiagnostics ? { privateDiagnostics: step.private } : {};
          const norm = step.gHatNorm !== undefined ? { gHatNorm: step.gHatNorm } : {};
          await cb.onStep({ step: t, steps: plan.steps, lr: step.lr, gHat: step.gHat, ...norm, epsilonRdp, epsilon: epsilonNow, ...diag });
        }
        if (o.eval && o.evalEvery && (t + 1) % o.evalEvery === 0 && t + 1 < plan.steps && cb.onEval) {
          let result: EvalResult;
          try {
            result = await evaluate(model, o.eval, evalOpts);
          } catch (e) {
            // cancelled inside the evaluation: the run stops as between steps, with its report (the releases so far are spent)
            if (cb.signal?.aborted && isCoded(e) && e.code === 'ERR_CANCELLED') {
              stopReason = 'cancelled';
              break;
            }
            throw e;
          }
          await cb.onEval({ step: t + 1, result });
        }
        await yieldToEventLoop();
      }
    } finally {
      try {
        // DP-SGD: the weights at the end (completed, budget, cancel, or a failed callback) are saved whatever the schedule
        if (gradient) await gradient.checkpoint(model as GradientModel, checkpoint, true);
      } finally {
        // the weights now carry every release of this ledger (replayed or made here), even when a step failed
        if (run.ledger.length > 0) recordRelease(model, this, run.ledger.length, run.dir ?? 'a run without a directory');
        await run.close();
      }
    }

    // The final evaluation takes the signal as the others do. It ran without it (so that a cancelled run was still
    // evaluated): an abort during it, or a Ctrl-C that cancelled the steps, waited for the whole held-out set, with no
    // way left to stop it (the CLI's handler is gone after the first signal). Now a cancelled run is not evaluated again
    // (as in pretrain), and a cancel inside this evaluation ends train() as one between steps does: the report, with
    // stopReason 'cancelled' and no evalAfter. The run directory was closed above with every release in it. An abort
    // after the loop's last check (in the last onStep or onEval) counts as a cancel.
    if (cb.signal?.aborted) stopReason = 'cancelled';
    let evalAfter: EvalResult | undefined;
    if (o.eval && evalBefore && stopReason !== 'cancelled') {
      try {
        evalAfter = await evaluate(model, o.eval, evalOpts);
      } catch (e) {
        if (!(cb.signal?.aborted && isCoded(e) && e.code === 'ERR_CANCELLED')) throw e;
        stopReason = 'cancelled';
      }
      if (evalAfter) await cb.onEval?.({ step: start + done, result: evalAfter });
    }
    return buildReport({
      isPrivate,
      stopReason,
      plan,
      ledger: run.ledger,
      done,
      seconds: (performance.now() - t0) / 1000,
      evalBefore,
      evalAfter,
      evalPublic: o.evalPublic ?? false,
      warnings,
      privateTotals: o.privateDiagnostics ? totals : undefined,
      runDir: run.dir,
      weightsHash: run.dir ? await model.weightsHash() : undefined,
      dataset: run.dataset,
    });
  }
}
