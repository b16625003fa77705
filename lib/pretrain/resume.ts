// defines: the resumable state of a `dpzo pretrain` checkpoint (checkpoint-<step>/trainer_state.json beside the Hugging
// Face model files, and the weights and Adam state in DP-SGD's checkpoint.bin format) and its checks — a run interrupted
// (Ctrl-C, a crash, a reboot) continues from its latest checkpoint to the same final weights, bit for bit, as the run
// that was never interrupted. The weights resume from checkpoint.bin (exact float32, SHA-256 checked), not from
// model.safetensors, which is there for `dpzo train --model` and transformers.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import type { Dataset } from '../data/tasks.js';
import { CHECKPOINT_FILE, type GradientCheckpoint, readCheckpoint, writeCheckpoint } from '../dpsgd/checkpoint.js';
import type { EvalResult } from '../dpzo/evaluate.js';
import { DpzoError } from '../errors.js';
import { writeTextAtomic } from '../io/json-file.js';
import type { Model } from '../model/types.js';
import type { Adam } from '../optim/adam.js';

/** The trainer state of a pretraining checkpoint (the name transformers' Trainer gives its own). */
export const PRETRAIN_STATE_FILE = 'trainer_state.json';
const FORMAT = 'dpzo-pretrain-state/1';
const CHECKPOINT_DIR = /^checkpoint-(\d+)$/;

/**
 * What a pretraining run must keep the same to be continued: everything that decides its weights. Held-out data,
 * --eval-every, --checkpoint-every and the thread count may change (the thread count may change the float sums, so a
 * bit-exact continuation keeps it too).
 */
export interface PretrainSettings {
  /** Optimizer steps of the run (PretrainOptions.steps). */
  steps: number;
  /** Sequences per step. */
  batchSize: number;
  /** Peak learning rate. */
  lr: number;
  /** Linear warmup steps before the cosine decay. */
  warmupSteps: number;
  /** Decoupled weight decay λ. */
  weightDecay: number;
  /** Seed of the minibatch shuffle: with `step`, the shuffle's state (its epochs are replayed, not stored). */
  seed: number;
  /** Trainable parameters of the model. */
  numTrainable: number;
  /** SHA-256 of the training examples' tokens: the --data file's content as --task, --max-length and the tokenizer made it. */
  trainSha256: string;
  /** weightsHash() of the starting model (--model). */
  baseWeightsHash: string;
}

/** checkpoint-<step>/trainer_state.json. */
export interface PretrainState extends PretrainSettings {
  format: typeof FORMAT;
  /** Ties checkpoint.bin to this state (a file copied from another run is refused). */
  runId: string;
  /** Optimizer steps applied: the schedule's position, Adam's step count and the batches drawn. */
  step: number;
  /** Mean training loss of each step 0 … step−1 (the report's and the chart's history). */
  trainLoss: number[];
  /** The evaluation before training, when there was one. */
  evalBefore?: EvalResult;
  /**
   * The evaluation at this step (one every evalEvery steps) was cancelled: the checkpoint was saved without it, and a
   * resume takes it before the next step.
   */
  pendingEval?: true;
}

/** SHA-256 of the examples' token ids and labels (with their lengths, so no two datasets run together alike). */
export function examplesSha256(d: Dataset): string {
  const h = createHash('sha256');
  const len = Buffer.alloc(8);
  for (const e of d.examples) {
    len.writeUInt32LE(e.inputIds.length, 0);
    len.writeInt32LE(e.labels ? e.labels.length : -1, 4);
    h.update(len);
    h.update(Buffer.from(e.inputIds.buffer, e.inputIds.byteOffset, e.inputIds.byteLength));
    if (e.labels) h.update(Buffer.from(e.labels.buffer, e.labels.byteOffset, e.labels.byteLength));
  }
  return h.digest('hex');
}

/**
 * The checkpoint `path` names: a checkpoint-<step> directory itself, or the latest (highest step) checkpoint-<step> of
 * a pretrain --out directory. Only complete checkpoints have that name (they are staged, then renamed into place).
 * @throws {@link DpzoError} `ERR_RUN_MISSING` when there is none.
 */
export function findPretrainCheckpoint(path: string): string {
  if (!existsSync(path) || !statSync(path).isDirectory()) throw new DpzoError('ERR_RUN_MISSING', `--resume ${path}: no such directory`);
  if (CHECKPOINT_DIR.test(basename(resolve(path))) || existsSync(join(path, PRETRAIN_STATE_FILE))) return path;
  const steps = readdirSync(path)
    .map((f) => CHECKPOINT_DIR.exec(f))
    .filter((m): m is RegExpExecArray => m !== null && statSync(join(path, m[0])).isDirectory())
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a);
  if (steps.length === 0) throw new DpzoError('ERR_RUN_MISSING', `--resume ${path}: no checkpoint-<step> directory to resume from`);
  return join(path, `checkpoint-${steps[0]}`);
}

/**
 * The --out directory of a checkpoint findPretrainCheckpoint found: the parent of a checkpoint-<step> directory, or
 * undefined for a checkpoint under another name (one copied out of its run): it has no run directory of its own, and
 * taken as one the continued run wrote its metrics and final model into the checkpoint.
 */
export function pretrainOutOf(checkpoint: string): string | undefined {
  return CHECKPOINT_DIR.test(basename(resolve(checkpoint))) ? dirname(resolve(checkpoint)) : undefined;
}

/** The step in checkpoint directory name `name` (checkpoint-<step>), or undefined for any other name. */
export function checkpointStepOf(name: string): number | undefined {
  const m = CHECKPOINT_DIR.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Whether `path` is named as a checkpoint (checkpoint-<step>). */
export function isCheckpointName(path: string): boolean {
  return CHECKPOINT_DIR.test(basename(resolve(path)));
}

const isInt = (x: unknown, min: number) => typeof x === 'number' && Number.isInteger(x) && x >= min;
const isNum = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
const isHex = (x: unknown) => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x);

/**
 * Reads and checks `dir`/trainer_state.json: every field of the right type, the step within the run, one loss per step.
 * @throws {@link DpzoError} `ERR_RUN_CORRUPT` naming the file and the field (a checkpoint saved before resuming existed
 * has no state file: it is named as missing).
 */
export function readPretrainState(dir: string): PretrainState {
  const path = join(dir, PRETRAIN_STATE_FILE);
  if (!existsSync(path)) throw new DpzoError('ERR_RUN_CORRUPT', `${path}: missing: ${dir} has no trainer and optimizer state to resume from`);
  const corrupt = (why: string) => new DpzoError('ERR_RUN_CORRUPT', `${path}: ${why}`);
  let s: Record<string, unknown>;
  try {
    s = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    throw corrupt('not valid JSON');
  }
  if (s === null || typeof s !== 'object' || Array.isArray(s)) throw corrupt('not a JSON object');
  if (s.format !== FORMAT) throw corrupt(`format '${String(s.format)}' is not ${FORMAT}`);
  for (const k of ['steps', 'batchSize', 'numTrainable'] as const) if (!isInt(s[k], 1)) throw corrupt(`${k} is not a positive integer`);
  for (const k of ['warmupSteps', 'step'] as const) if (!isInt(s[k], 0)) throw corrupt(`${k} is not a non-negative integer`);
  if (!isInt(s.seed, -(2 ** 53))) throw corrupt('seed is not an integer');
  for (const k of ['lr', 'weightDecay'] as const) if (!isNum(s[k])) throw corrupt(`${k} is not a finite number`);
  for (const k of ['trainSha256', 'baseWeightsHash'] as const) if (!isHex(s[k])) throw corrupt(`${k} is not a SHA-256 (64 hex digits)`);
  if (typeof s.runId !== 'string' || s.runId === '') throw corrupt('runId is not a string');
  if ((s.step as number) > (s.steps as number)) throw corrupt(`step ${String(s.step)} is beyond the run's ${String(s.steps)} steps`);
  const loss = s.trainLoss;
  if (!Array.isArray(loss) || loss.length !== s.step || !loss.every(isNum))
    throw corrupt(`trainLoss is not ${String(s.step)} finite numbers (one per step taken)`);
  if (s.evalBefore !== undefined && (typeof s.evalBefore !== 'object' || s.evalBefore === null)) throw corrupt('evalBefore is not an object');
  if (s.pendingEval !== undefined && s.pendingEval !== true) throw corrupt('pendingEval is not true');
  return s as unknown as PretrainState;
}

/**
 * Refuses to continue a run with settings other than its own, in one line naming the flag, the recorded value and this
 * one's (`ERR_RUN_MISMATCH`).
 */
export function checkSameRun(dir: string, recorded: PretrainSettings, now: PretrainSettings): void {
  const refuse = (why: string) => new DpzoError('ERR_RUN_MISMATCH', `--resume ${dir}: ${why}`);
  const flags: [keyof PretrainSettings, string][] = [
    ['steps', '--steps'],
    ['batchSize', '--batch-size'],
    ['lr', '--lr'],
    ['warmupSteps', '--warmup-steps'],
    ['weightDecay', '--weight-decay'],
    ['seed', '--seed'],
  ];
  for (const [k, flag] of flags) {
    if (recorded[k] !== now[k]) throw refuse(`the run was made with ${flag} ${recorded[k]}, not ${now[k]}: resume with the run's own settings`);
  }
  if (recorded.trainSha256 !== now.trainSha256)
    throw refuse("the training data is not the run's (its examples' SHA-256 differs: --data content, --task, --max-length or --text-field changed)");
  if (recorded.numTrainable !== now.numTrainable) throw refuse(`the run trained ${recorded.numTrainable} parameters, this --model has ${now.numTrainable}`);
  if (recorded.baseWeightsHash !== now.baseWeightsHash) throw refuse("--model is not the run's starting model (its weights' SHA-256 differs)");
}

/** The state of a run after `step` steps, for the checkpoint it is saved in. */
export interface PretrainSnapshot {
  state: PretrainState;
  adam: Adam;
}

/** Writes trainer_state.json and checkpoint.bin (the weights θ and Adam's m, v, t) into `dir` (a staging directory). */
export async function writePretrainState(model: Model, dir: string, snap: PretrainSnapshot): Promise<void> {
  if (!model.getTrainable) throw new DpzoError('ERR_ARGUMENT', 'pretrain checkpoints need a model with getTrainable (a native CPU model)');
  const theta = await model.getTrainable();
  const { adam, state } = snap;
  writeCheckpoint(dir, { step: state.step, runId: state.runId, theta, adam: { m: adam.m, v: adam.v, t: adam.t } });
  writeTextAtomic(join(dir, PRETRAIN_STATE_FILE), JSON.stringify(state, null, 1) + '\n');
}

/**
 * The weights and Adam state of checkpoint `dir` (`state` read from it): checked against the state (its run, its step,
 * one Adam step per optimizer step) and the model's size.
 * @throws {@link DpzoError} `ERR_RUN_CORRUPT` naming the file and what is wrong.
 */
export function readPretrainWeights(dir: string, state: PretrainState, numTrainable: number): Required<GradientCheckpoint> {
  const path = join(dir, CHECKPOINT_FILE);
  const c = readCheckpoint(dir, { runId: state.runId, numTrainable, adam: true });
  if (!c) throw new DpzoError('ERR_RUN_CORRUPT', `${path}: missing: ${dir} has no optimizer state to resume from`);
  if (c.step !== state.step) throw new DpzoError('ERR_RUN_CORRUPT', `${path}: holds step ${c.step}, ${PRETRAIN_STATE_FILE} step ${state.step}`);
  if (c.adam!.t !== state.step) throw new DpzoError('ERR_RUN_CORRUPT', `${path}: Adam's step count ${c.adam!.t} is not the run's step ${state.step}`);
  return c as Required<GradientCheckpoint>;
}
