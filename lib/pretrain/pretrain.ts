// defines: pretrain — non-private training (`dpzo pretrain`) on PUBLIC data only,
// through the backward pass: shuffled minibatches (a seeded shuffle, so a run is
// reproducible), the gradient of the mean per-example loss, Adam with decoupled
// weight decay, a warmup + cosine learning rate, held-out evaluations and
// Hugging Face checkpoints that a run resumes from (resume.ts). It records
// nothing in any privacy ledger: it makes no privacy claim, and must not be run
// on data that needs one.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';

import type { Dataset, Example } from '../data/tasks.js';
import { DpzoError, isCoded } from '../errors.js';
import { mulberry32, shuffleInPlace } from '../mulberry32.js';
import { lossBatch } from '../dpzo/estimator.js';
import { type EvalResult, evaluate } from '../dpzo/evaluate.js';
import { learningRate } from '../dpzo/schedule.js';
import type { Model } from '../model/types.js';
import { Adam } from '../optim/adam.js';
import { loadFinalWeights } from './final-weights.js';
import { findFinishedPretrain } from './result.js';
import { saveCheckpointDirectory } from './save.js';
import { removeOldCheckpoints } from './save-limit.js';
import {
  type PretrainSettings,
  type PretrainState,
  checkSameRun,
  examplesSha256,
  findPretrainCheckpoint,
  readPretrainState,
  readPretrainWeights,
  writePretrainState,
} from './resume.js';

/** What `pretrain` runs. */
export interface PretrainOptions {
  /** Public training data (lm or tokens task). */
  train: Dataset;
  /** Held-out data, evaluated before, every `evalEvery` steps and after (not after a cancel). */
  eval?: Dataset;
  /** Optimizer steps. */
  steps: number;
  /** Sequences per step (default 16). */
  batchSize?: number;
  /** Peak learning rate (default 1e-3). */
  lr?: number;
  /** Linear warmup steps before the cosine decay (default steps/20). */
  warmupSteps?: number;
  /** Decoupled weight decay λ (AdamW; default 0.01): the factor 1 − ηλ on weight matrices. */
  weightDecay?: number;
  /** Seed of the minibatch shuffle (default 0). */
  seed?: number;
  /** Evaluate every k steps (default: before and after only). */
  evalEvery?: number;
  /**
   * Save a Hugging Face checkpoint into `outDir/checkpoint-<step>` every k steps, with the trainer and optimizer state
   * a resume needs (trainer_state.json, checkpoint.bin).
   */
  checkpointEvery?: number;
  /** Where checkpoints go; a cancelled run also saves one there at the step it stopped, to resume from. */
  outDir?: string;
  /**
   * Keep only the newest N checkpoints of the run in `outDir` (transformers' `save_total_limit`; default: all). Each is
   * about 4× the float32 weights (the model, then the weights and Adam's m and v in checkpoint.bin): about 2 GB for
   * GPT-2-124M. Once a new one is in place, the run's older `checkpoint-<step>` directories beyond N are removed (moved
   * aside under a hidden name first, so none is left half removed under its checkpoint name); the one just saved is
   * always kept, and nothing else in `outDir` is touched (another run's checkpoint, another name).
   */
  saveTotalLimit?: number;
  /**
   * Continue the run saved in this checkpoint (a `checkpoint-<step>` directory, or an `outDir` for its latest one), as
   * transformers' `resume_from_checkpoint`: `model` is the run's starting model again, the settings (steps, batchSize,
   * lr, warmupSteps, weightDecay, seed, the training data) are the run's own, and the run ends with the same weights,
   * bit for bit, as one never interrupted (at the same thread count). No evaluation before training: the run's is kept.
   * A finished `dpzo pretrain` run (its completion record, OUT/pretrain-result.json) is not trained again: once the same
   * checks pass, the model is given the run's final weights (OUT/model.safetensors, checked against the weightsHash it
   * recorded) and the report is the one it recorded ({@link PretrainReport.recorded}).
   */
  resume?: string;
  /** Cancels the run (Ctrl-C): the step or evaluation in flight stops, and a checkpoint is saved at the step reached. */
  signal?: AbortSignal;
  /** Called after each optimizer step `step` (0-based) with its batch's mean loss and learning rate. */
  onStep?: (s: { step: number; steps: number; loss: number; lr: number }) => void | Promise<void>;
  /** Called after each held-out evaluation, with the number of steps taken before it. */
  onEval?: (e: { step: number; result: EvalResult }) => void | Promise<void>;
}

/** What a pretraining run did. */
export interface PretrainReport {
  /** Optimizer steps taken (with those before a resume). */
  steps: number;
  /** Whether every step and the final evaluation ran, or the signal stopped the run. */
  stopReason: 'completed' | 'cancelled';
  /** Mean training loss of each step's batch. */
  trainLoss: number[];
  /** The evaluation before training (a resumed run's is the run's own). */
  evalBefore?: EvalResult;
  /** The final evaluation: absent when the run was cancelled. */
  evalAfter?: EvalResult;
  /** The checkpoint directories this call saved (with `saveTotalLimit`, the older ones may have been removed since). */
  checkpoints: string[];
  /** The step a resumed run continued from (0 for a fresh run): `trainLoss` holds the steps before it too. */
  resumedFrom: number;
  /** Wall-clock time of this call. */
  seconds: number;
  /**
   * What the run's checkpoints record and a resume checks: the settings, with the SHA-256 of the training examples and the
   * starting model's weightsHash(), computed once before training (present when `outDir` or `resume` is given; `dpzo pretrain`
   * writes them into its completion record without hashing again).
   */
  settings?: PretrainSettings;
  /**
   * Present when `resume` named a finished `dpzo pretrain` run (its completion record OUT/pretrain-result.json): its result
   * as recorded. Nothing was trained, evaluated or written; the model holds the run's final weights (read from the model in
   * `out`, checked against the recorded weightsHash), as after the run itself; the fields above are the run's own, as recorded.
   */
  recorded?: PretrainResult;
}

/**
 * What `dpzo pretrain` prints at the end of a run (`--json`: this object) and its completion record (OUT/pretrain-result.json)
 * keeps: the run's report with where its model went.
 */
export interface PretrainResult extends Omit<PretrainReport, 'settings' | 'recorded'> {
  /** The --out directory: the final model (Hugging Face files), its card, the chart and the checkpoints. */
  out: string;
  /** The loss chart (pretrain-curves.svg in `out`). */
  chart: string;
  /** weightsHash() of the final model. */
  weightsHash: string;
  /** Pretraining gives no privacy. */
  private: false;
  /** A cancelled run: the command that continues it. */
  resume?: string;
}

/**
 * Epochs of shuffled indices, cut into batches of `size` (the last batch of an epoch may be short). The shuffle's state
 * after k batches is (seed, k): a resumed run draws and drops the k batches it took.
 */
function* batches(n: number, size: number, seed: number): Generator<number[]> {
  // public data: a seeded generator (reproducibility wanted), no CSPRNG needed
  const next = mulberry32(seed);
  for (;;) {
    const order = shuffleInPlace(
      Array.from({ length: n }, (_, i) => i),
      next,
    );
    for (let i = 0; i < n; i += size) yield order.slice(i, i + size);
  }
}

/** The settings `o` leaves out, at their defaults (one place: the run and the settings its checkpoints record). */
function withDefaults(o: PretrainOptions) {
  return {
    batchSize: o.batchSize ?? 16,
    lr: o.lr ?? 1e-3,
    warmupSteps: o.warmupSteps ?? Math.floor(o.steps / 20),
    weightDecay: o.weightDecay ?? 0.01,
    seed: o.seed ?? 0,
  };
}

/**
 * What a run with options `o` records in its checkpoints, and a resume (or `dpzo pretrain --resume` of a finished run)
 * checks: the settings that decide its weights, with the hashes of its training examples and of `model`'s weights
 * (call it before training: the starting model's).
 */
export async function pretrainSettings(model: Model, o: PretrainOptions): Promise<PretrainSettings> {
  return {
    steps: o.steps,
    ...withDefaults(o),
    numTrainable: model.numTrainable,
    trainSha256: examplesSha256(o.train),
    baseWeightsHash: await model.weightsHash(),
  };
}

/** The report of a finished run: its fields as it recorded them, and the record itself. */
function recordedReport(r: PretrainResult, settings: PretrainSettings): PretrainReport {
  const { steps, stopReason, trainLoss, evalBefore, evalAfter, checkpoints, resumedFrom, seconds } = r;
  return { steps, stopReason, trainLoss, evalBefore, evalAfter, checkpoints, resumedFrom, seconds, settings, recorded: r };
}

/**
 * Trains `model` in place, without any privacy, on the public data `o.train` through the backward pass: Adam with
 * decoupled weight decay, a warmup and a cosine learning rate, seeded shuffled minibatches, held-out evaluations and
 * resumable checkpoints (see {@link PretrainOptions}). It records nothing in any privacy ledger and must not be given
 * data that needs privacy; `dpzo pretrain` is this function with the final model saved.
 * @throws {@link DpzoError} `ERR_TRAIN_OPTION` for a bad option, `ERR_NON_FINITE` when the weights diverge, and the
 * `ERR_RUN_*` codes for a resume that cannot continue the run exactly.
 */
export async function pretrain(model: Model, o: PretrainOptions): Promise<PretrainReport> {
  const t0 = performance.now();
  if (!model.lossAndGradient || !model.addDense) throw new DpzoError('ERR_ARGUMENT', 'pretrain needs a model with a backward pass (a native CPU model)');
  if (o.train.task.kind === 'classification') throw new DpzoError('ERR_TRAIN_OPTION', 'pretrain trains a language model: use --task lm or tokens');
  if (!(Number.isInteger(o.steps) && o.steps > 0)) throw new DpzoError('ERR_TRAIN_OPTION', `steps must be a positive integer (got ${o.steps})`);
  const { batchSize, lr, weightDecay, warmupSteps, seed } = withDefaults(o);
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new DpzoError('ERR_TRAIN_OPTION', `batchSize must be a positive integer (got ${batchSize})`);
  // a negative warmup was taken: the cosine decay began |w| steps early, the run never trained at its peak rate
  if (!(Number.isInteger(warmupSteps) && warmupSteps >= 0)) throw new DpzoError('ERR_TRAIN_OPTION', `warmupSteps must be an integer ≥ 0 (got ${warmupSteps})`);
  if (!(lr > 0 && Number.isFinite(lr))) throw new DpzoError('ERR_TRAIN_OPTION', `lr must be a positive number (got ${lr})`);
  if (!(weightDecay >= 0 && lr * weightDecay < 1))
    throw new DpzoError('ERR_TRAIN_OPTION', `weightDecay must be ≥ 0 with lr × weightDecay < 1 (got ${weightDecay})`);
  if (o.saveTotalLimit !== undefined && !(Number.isInteger(o.saveTotalLimit) && o.saveTotalLimit > 0))
    throw new DpzoError('ERR_TRAIN_OPTION', `saveTotalLimit must be a positive integer (got ${o.saveTotalLimit})`);
  if (o.train.examples.length === 0) throw new DpzoError('ERR_DATA_EMPTY', 'the training set has no examples');
  const schedule = { kind: 'cosine' as const, lr, totalSteps: o.steps, warmupSteps: Math.min(warmupSteps, o.steps) };
  const adam = new Adam(model.numTrainable);
  const delta = new Float32Array(model.numTrainable);
  const examples: Example[] = o.train.examples;
  const next = batches(examples.length, batchSize, seed);
  const report: PretrainReport = { steps: 0, stopReason: 'completed', trainLoss: [], checkpoints: [], resumedFrom: 0, seconds: 0 };
  // what a checkpoint records of the run, and a resume checks: only when there are checkpoints (hashing the weights and
  // the data is not free)
  const saving = o.outDir !== undefined || o.resume !== undefined;
  const settings: PretrainSettings | undefined = saving ? await pretrainSettings(model, o) : undefined;
  report.settings = settings;
  // a finished run (its completion record, written last by dpzo pretrain) is not trained again: the tail after its last
  // checkpoint was trained again in memory, and evaluated, for a report of numbers the run had already recorded
  const finished = o.resume === undefined ? undefined : findFinishedPretrain(o.resume);
  if (finished) {
    // (the checks of a resume first: other settings, data or model are refused as for a run not finished)
    checkSameRun(finished.out, finished.record.settings, settings!);
    const result = finished.record.result as unknown as PretrainResult;
    // the model leaves holding the run's final weights, as train({ resume }) of a finished run leaves it: it kept the
    // starting weights, and saving or evaluating it after the call gave the base model
    await loadFinalWeights(model, finished.out, result.weightsHash);
    return recordedReport(result, settings!);
  }
  let runId: string = randomUUID();
  // the step whose evaluation every evalEvery steps a cancel stopped: the checkpoint saved at that step says so, and a
  // resume takes it first (it was never redone, and the metrics lacked that evaluation)
  let evalCancelledAt: number | undefined;
  let pendingEval = false;
  if (o.resume !== undefined) {
    const dir = findPretrainCheckpoint(o.resume);
    const state = readPretrainState(dir);
    checkSameRun(dir, state, settings!);
    const c = readPretrainWeights(dir, state, model.numTrainable);
    if (!model.setTrainable) throw new DpzoError('ERR_ARGUMENT', 'resuming pretrain needs a model with setTrainable (a native CPU model)');
    await model.setTrainable(c.theta);
    adam.restore(c.adam.m, c.adam.v, c.adam.t);
    for (let k = 0; k < state.step; k++) next.next();
    runId = state.runId;
    report.resumedFrom = report.steps = state.step;
    report.trainLoss = [...state.trainLoss];
    report.evalBefore = state.evalBefore;
    pendingEval = state.pendingEval === true;
  }
  let saved = report.steps;
  const checkpoint = async (step: number) => {
    const dir = join(o.outDir!, `checkpoint-${step}`);
    const state: PretrainState = {
      format: 'dpzo-pretrain-state/1',
      runId,
      step,
      ...settings!,
      trainLoss: report.trainLoss,
      evalBefore: report.evalBefore,
      ...(evalCancelledAt === step ? { pendingEval: true } : {}),
    };
    // as the final model: a checkpoint without the tokenizer did not open for a text task (ERR_NO_TOKENIZER), and its
    // config.json named the base's dtype for the float32 weights. Staged and renamed into place: a process killed
    // while saving left checkpoint-<k> with model.safetensors and no config.json (or a tokenizer cut short)
    await saveCheckpointDirectory(model, dir, (staging) => writePretrainState(model, staging, { state, adam }));
    report.checkpoints.push(dir);
    saved = step;
    // only once the new checkpoint is complete and in place: a kill before this keeps one more, never one fewer
    if (o.saveTotalLimit !== undefined) removeOldCheckpoints(o.outDir!, runId, o.saveTotalLimit, step);
  };
  // a cancel inside a native call (the step's backward, the first evaluation) ends the run as one between steps does
  const cancelledInside = (e: unknown) => o.signal?.aborted === true && isCoded(e) && e.code === 'ERR_CANCELLED';
  if (o.eval && o.resume === undefined) {
    try {
      report.evalBefore = await evaluate(model, o.eval, { signal: o.signal });
      await o.onEval?.({ step: 0, result: report.evalBefore });
    } catch (e) {
      if (!cancelledInside(e)) throw e;
    }
  }
  const k = report.steps;
  if (pendingEval && o.eval && o.onEval && o.evalEvery && k % o.evalEvery === 0 && k < o.steps) {
    try {
      await o.onEval({ step: k, result: await evaluate(model, o.eval, { signal: o.signal }) });
    } catch (e) {
      // cancelled again: the loop stops at once, and the checkpoint (still saying so) is the one resumed from
      if (!cancelledInside(e)) throw e;
    }
  }
  for (let t = report.steps; t < o.steps; t++) {
    if (o.signal?.aborted) {
      report.stopReason = 'cancelled';
      break;
    }
    const idx = next.next().value as number[];
    let r;
    try {
      r = await model.lossAndGradient(
        lossBatch(
          idx.map((i) => examples[i]!),
          undefined,
        ),
        { signal: o.signal },
      );
    } catch (e) {
      // cancelled inside the step's backward: the step is dropped (nothing was applied) and the run stops as between
      // steps; it failed with ERR_CANCELLED (exit 2) and the model so far was not saved
      if (cancelledInside(e)) {
        report.stopReason = 'cancelled';
        break;
      }
      throw e;
    }
    const finite = Array.from(r.loss).filter(Number.isFinite);
    const loss = finite.reduce((a, b) => a + b, 0) / Math.max(1, finite.length);
    const eta = learningRate(schedule, t);
    adam.step(r.grad, eta, delta);
    // weights that diverged (a learning rate too high) gave a gradient, so an update, with NaN or ∞: the run failed inside
    // addDense with 'delta[0] is not finite' [ERR_ARGUMENT], naming neither the step nor the learning rate
    for (let i = 0; i < delta.length; i++) {
      if (!Number.isFinite(delta[i]!)) {
        throw new DpzoError('ERR_NON_FINITE', `step ${t + 1}: the update is not finite: the weights diverged; lower the learning rate (lr ${lr}, --lr)`);
      }
    }
    await model.addDense(delta, { decay: 1 - eta * weightDecay });
    report.steps = t + 1;
    report.trainLoss.push(loss);
    await o.onStep?.({ step: t, steps: o.steps, loss, lr: eta });
    // (only for onEval: nothing else reads these results)
    if (o.eval && o.onEval && o.evalEvery && (t + 1) % o.evalEvery === 0 && t + 1 < o.steps) {
      // cancellable as the first evaluation is: a Ctrl-C / SIGTERM during it waited for the whole held-out set, then
      // for the final evaluation too, before the model so far was saved
      let result: EvalResult;
      try {
        result = await evaluate(model, o.eval, { signal: o.signal });
      } catch (e) {
        if (!cancelledInside(e)) throw e;
        report.stopReason = 'cancelled';
        evalCancelledAt = t + 1;
        break;
      }
      await o.onEval({ step: t + 1, result });
    }
    if (o.outDir && o.checkpointEvery && (t + 1) % o.checkpointEvery === 0 && t + 1 < o.steps) await checkpoint(t + 1);
  }
  // a cancelled run is not evaluated again: the model so far is saved at once (SIGTERM's grace period is short)
  // and an abort during the final evaluation stops it (it ran without the signal: a Ctrl-C then waited for the whole
  // held-out set before the model was saved), as DPZOTrainer's final evaluation does
  if (o.signal?.aborted) report.stopReason = 'cancelled';
  // what was done is not lost: a checkpoint at the step it stopped (the weights and Adam's state are consistent between
  // steps, and a step cancelled inside its backward applied nothing), for --resume
  if (report.stopReason === 'cancelled' && o.outDir && report.steps > saved) await checkpoint(report.steps);
  if (o.eval && report.stopReason === 'completed') {
    try {
      report.evalAfter = await evaluate(model, o.eval, { signal: o.signal });
    } catch (e) {
      if (!cancelledInside(e)) throw e;
      report.stopReason = 'cancelled';
      // every step was taken, but the run is not finished: a checkpoint at its last step, from which a resume takes
      // the final evaluation only (without one it took the steps after the last checkpoint again)
      if (o.outDir && report.steps > saved) await checkpoint(report.steps);
    }
    if (report.evalAfter) await o.onEval?.({ step: report.steps, result: report.evalAfter });
  }
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}
