// defines: replayTrajectory, replayRun and exportRun — rebuild trained weights
// from a run directory: the base model (its hash checked against run.json) plus
// the recorded (seeds, ĝ, η) of each step, through the same walk as training.
import { copyFileSync, existsSync, lstatSync, readdirSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

import { gradientModel, loadCheckpoint } from '../dpsgd/state.js';
import { DpzoError } from '../errors.js';
import { writeDirectoryAtomic } from '../io/staged-directory.js';
import type { Model } from '../model/types.js';
import { packageVersion } from '../package-info.js';
import { DatasetLedger } from '../privacy/index.js';
import { type ModelCardInput, modelCard } from './model-card.js';
import { datasetSpent } from './report.js';
import { openCheckedRunLedger } from './run-integrity.js';
import { type RunRecord, checkLegacyRun, readRunJson, runDatasetLedger, stepForm } from './run-record.js';
import { type TrajectoryLine, isVoid, readTrajectory, seedsFromStrings } from './trajectory.js';
import { type StepForm, replayStep } from './update.js';

/** An argument of an exported function named in a coded error (a bare TypeError, "reading 'trim'", named nothing). */
function badArgument(fn: string, message: string): DpzoError {
  return new DpzoError('ERR_ARGUMENT', `${fn}: ${message}`);
}

/** What reads as a loaded {@link Model}: the methods `fn` calls of it (a replay and an export: weightsHash, trainableNames, update). */
function checkModel(fn: string, model: unknown, methods: readonly (keyof Model)[] = ['weightsHash', 'trainableNames', 'update']): void {
  const m = model as Partial<Model> | null;
  if (typeof m !== 'object' || m === null || methods.some((k) => typeof m[k] !== 'function'))
    throw badArgument(fn, `model must be a Model (from loadModel) (got ${m === null ? 'null' : typeof m})`);
}

function checkPath(fn: string, name: string, value: unknown): void {
  if (typeof value !== 'string') throw badArgument(fn, `${name} must be a directory path (a string) (got ${typeof value})`);
  if (value.trim() === '') throw badArgument(fn, `${name} is an empty path`);
}

/** An AbortSignal or nothing; anything else failed as a TypeError inside the replay, or was ignored (a truthy non-signal). */
function checkSignal(fn: string, signal: unknown): void {
  if (signal === undefined) return;
  const s = signal as Partial<AbortSignal> | null;
  // 'aborted' is not read here (a getter counts its reads, as the trainer's own check leaves it): only that it is there
  if (typeof s !== 'object' || s === null || !('aborted' in s)) throw badArgument(fn, 'signal must be an AbortSignal');
}

/**
 * Applies a run's recorded steps to `model` (which must hold the run's base weights): each step's update θ ← θ − η·Σ_k ĝ_k·z(seed_k)/n (with weight decay
 * when given), the same update training applied, so the weights come out bit for bit. Void lines (accounted, never applied) are skipped.
 * @param lines The trajectory ({@link readTrajectory}).
 * @param zoEps The run's ε_zo (plan.zoEps).
 * @param signal Cancels between steps (`ERR_CANCELLED`).
 * @param weightDecay The run's λ (plan.weightDecay), default 0.
 * @param form `'exact'` (dpzo-run/2) or `'walk'` (dpzo-run/1 runs).
 * @returns The number of steps applied.
 */
export async function replayTrajectory(
  model: Model,
  lines: TrajectoryLine[],
  zoEps: number,
  signal?: AbortSignal,
  weightDecay = 0,
  form: StepForm = 'exact',
): Promise<number> {
  const fn = 'replayTrajectory';
  checkModel(fn, model);
  if (!Array.isArray(lines)) throw badArgument(fn, 'lines must be an array of trajectory lines (readTrajectory(dir).lines)');
  if (typeof zoEps !== 'number' || !(zoEps > 0 && Number.isFinite(zoEps))) throw badArgument(fn, `zoEps must be a positive number (got ${String(zoEps)})`);
  checkSignal(fn, signal);
  if (typeof weightDecay !== 'number' || !(weightDecay >= 0 && Number.isFinite(weightDecay)))
    throw badArgument(fn, `weightDecay must be a non-negative number (got ${String(weightDecay)})`);
  if (form !== 'exact' && form !== 'walk') throw badArgument(fn, `form must be 'exact' or 'walk' (got ${String(form)})`);
  let applied = 0;
  for (const line of lines) {
    if (signal?.aborted) throw new DpzoError('ERR_CANCELLED', 'replay cancelled');
    if (isVoid(line)) continue;
    if (!('seeds' in line)) throw new DpzoError('ERR_RUN_CORRUPT', `step ${line.step} is a DP-SGD step: it has no seeds to replay`);
    await replayStep(model, form, seedsFromStrings(line.seeds), line.g, line.lr, zoEps, weightDecay);
    applied++;
  }
  return applied;
}

/**
 * Checks that `model` is the run's base (weights hash, trainable tensors) and brings it to the run's trained weights: a DP-ZO run's
 * trajectory replayed, or a DP-SGD run's checkpoint loaded (its weights set exactly). Returns the steps whose updates the weights carry.
 */
export async function replayRun(model: Model, runDir: string, signal?: AbortSignal): Promise<number> {
  checkModel('replayRun', model);
  checkPath('replayRun', 'runDir', runDir);
  checkSignal('replayRun', signal);
  const run = readRunJson(runDir);
  // a trajectory lost or cut (fewer steps than the ledger released) replayed to other weights than the run trained,
  // and eval --run reported them as the run's
  await (await openCheckedRunLedger(runDir, run)).close();
  return replayCheckedRun(model, runDir, run, signal);
}

/** replayRun for a run whose ledger was checked against its plan and trajectory. */
async function replayCheckedRun(model: Model, runDir: string, run: RunRecord, signal?: AbortSignal): Promise<number> {
  checkLegacyRun(run, runDir, 'replay');
  const hash = await model.weightsHash();
  // the directory loaded, which is --model when given: run.json's path named a model the user had not passed
  if (hash !== run.model.weightsHash) {
    throw new DpzoError(
      'ERR_RUN_MISMATCH',
      `the base model's weights hash ${hash.slice(0, 12)}… is not the run's initial ${run.model.weightsHash.slice(0, 12)}… (${model.dir})`,
    );
  }
  const names = model.trainableNames();
  if (JSON.stringify(names) !== JSON.stringify(run.model.trainableNames)) {
    throw new DpzoError('ERR_RUN_MISMATCH', `the model's trainable tensors differ from the run's (${names.length} vs ${run.model.trainableNames.length})`);
  }
  if (run.plan.method === 'dpsgd') {
    const g = gradientModel(model);
    if (!g) throw new DpzoError('ERR_RUN_MISMATCH', `${runDir} is a DP-SGD run: its weights load into a float32 model on the CPU backend only`);
    readTrajectory(runDir, 'dpsgd'); // its lines are checked as resume checks them
    return loadCheckpoint(g, runDir, run.runId ?? '', run.plan.optimizer ?? 'sgd');
  }
  return replayTrajectory(model, readTrajectory(runDir).lines, run.plan.zoEps!, signal, run.plan.weightDecay ?? 0, stepForm(run));
}

/**
 * The base model to load for run `runDir`: `given` (--model), else the directory run.json names. That one gone (the base
 * moved, the run copied to another machine) was refused as '<dir>/config.json: not found', naming neither run.json nor
 * --model; it is now refused saying where the path came from and how to give the base.
 */
export function runBaseDir(run: RunRecord, runDir: string, given: string | undefined): string {
  if (given !== undefined && typeof given !== 'string') throw badArgument('runBaseDir', `the base model directory must be a string (got ${typeof given})`);
  if (given !== undefined) return given;
  if (!existsSync(run.model.dir)) {
    throw new DpzoError(
      'ERR_CONFIG_MISSING',
      `${join(runDir, 'run.json')}: the run's base model ${run.model.dir} is not there (moved or deleted): give it with --model (its weights hash is checked)`,
    );
  }
  return run.model.dir;
}

/** Tokenizer and generation files copied next to the exported weights so the directory opens in transformers. */
export const SIDE_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'generation_config.json',
  'vocab.json',
  'merges.txt',
  'tokenizer.model',
  // the slow tokenizers' added tokens, and the chat template recent transformers save beside tokenizer_config.json:
  // without them the export lost its added tokens or its chat template
  'added_tokens.json',
  'chat_template.jinja',
];

/** What {@link exportRun} returns. */
export interface ExportResult {
  /** The exported Hugging Face model directory. */
  outDir: string;
  /** Steps replayed onto the base model. */
  steps: number;
  /** SHA-256 (hex) of the exported weights. */
  weightsHash: string;
}

/** lstat of `path`, or undefined where nothing is there (ENOTDIR too: a file where a parent directory must go, which checkExportParent names). */
function lstatOrNone(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** An export never mixes with other files: the target must be absent or an empty directory. */
function checkExportTarget(outDir: string): void {
  const link = lstatOrNone(outDir);
  if (link?.isSymbolicLink()) {
    // the staging directory is renamed onto --out: onto a link that failed after the replay with a bare ENOTDIR (rmdir of a
    // link to an empty directory, rename onto a dangling one)
    throw new DpzoError('ERR_EXPORT_EXISTS', `${outDir} is a symbolic link: give --out a new directory (or the directory the link points to)`);
  }
  if (!link) return;
  if (!statSync(outDir).isDirectory()) throw new DpzoError('ERR_EXPORT_EXISTS', `${outDir} exists and is not a directory`);
  if (readdirSync(outDir).length > 0) throw new DpzoError('ERR_EXPORT_EXISTS', `${outDir} is not empty: choose a new --out directory`);
}

/** A file where a parent directory of the target must go: refused before the replay (mkdir failed after it, with a bare EEXIST/ENOTDIR). */
function checkExportParent(outDir: string): void {
  for (let p = dirname(resolve(outDir)); ; p = dirname(p)) {
    if (existsSync(p)) {
      if (!statSync(p).isDirectory()) throw new DpzoError('ERR_EXPORT_EXISTS', `${outDir}: ${p} exists and is not a directory: choose another --out`);
      return;
    }
    if (dirname(p) === p) return;
  }
}

/**
 * Saves `model` as a Hugging Face directory that opens as its source did: weights and config.json (its dtype field
 * naming the weights' dtype), then the tokenizer and generation files of the directory the model was loaded from.
 */
export async function saveModelDirectory(model: Model, dir: string): Promise<void> {
  // a save needs save() alone (pretrain's fakes in test/unit/pretrain/atomic-save.test.ts have nothing else)
  checkModel('saveModelDirectory', model, ['save']);
  checkPath('saveModelDirectory', 'dir', dir);
  // the native save writes config.json with its torch_dtype naming the dtype of the weights written
  await model.save(dir);
  // from the directory the base was loaded from: run.json's path is gone when the base moved (export --model elsewhere),
  // and the export came out without its tokenizer
  for (const f of SIDE_FILES) {
    const src = join(model.dir, f);
    if (existsSync(src)) copyFileSync(src, join(dir, f));
  }
}

/**
 * Replays `runDir` onto `model` (freshly loaded from the run's base) and saves it as a Hugging Face directory.
 * @throws {@link DpzoError} `ERR_ARGUMENT` naming the argument that is not a Model, a path or an AbortSignal (before anything is read).
 */
export async function exportRun(model: Model, runDir: string, outDir: string, signal?: AbortSignal): Promise<ExportResult> {
  checkModel('exportRun', model);
  checkPath('exportRun', 'runDir', runDir);
  if (typeof outDir !== 'string') throw badArgument('exportRun', `outDir must be a directory path (a string) (got ${typeof outDir})`);
  checkSignal('exportRun', signal);
  // '' resolves to the working directory: the replay ran, staged beside it, and the rename to '' failed with a bare ENOENT
  if (outDir.trim() === '') throw new DpzoError('ERR_ARGUMENT', 'the export directory is an empty path: give --out a new directory');
  const run = readRunJson(runDir);
  // the working directory (--out .), even empty, cannot be renamed onto: that failed after the replay with a bare EINVAL
  const fromOut = relative(resolve(outDir), process.cwd());
  if (fromOut === '' || (fromOut.split(sep)[0] !== '..' && !isAbsolute(fromOut))) {
    throw new DpzoError('ERR_EXPORT_EXISTS', `${outDir} is the working directory or holds it: give --out a new directory`);
  }
  checkExportTarget(outDir);
  checkExportParent(outDir);
  // the privacy statement is the ledger's, checked once and before the replay: a ledger cut or re-sealed would
  // understate what the exported weights carry
  const privacy = await privacyOf(runDir, run);
  const steps = await replayCheckedRun(model, runDir, run, signal);
  // written into a sibling directory and renamed at the end: a failure leaves nothing at outDir
  let weightsHash = '';
  await writeDirectoryAtomic(
    outDir,
    async (staging) => {
      await saveModelDirectory(model, staging);
      weightsHash = await model.weightsHash();
      // the base model's README describes the base model; the export's says how it was fine-tuned and at what privacy
      // (fsynced with the rest before the rename: after a power loss the export was there with a README.md cut short)
      writeFileSync(join(staging, 'README.md'), modelCard({ run, steps, weightsHash, version: packageVersion(), ...privacy }));
    },
    () => {
      // the last point a cancel is honoured: from here to the rename nothing yields to the event loop
      if (signal?.aborted) throw new DpzoError('ERR_CANCELLED', 'export cancelled: nothing was written to the export directory');
      checkExportTarget(outDir);
    },
  );
  return { outDir, steps, weightsHash };
}

/** What the run released, from its own ledger (never fewer than the steps replayed) and its training file's dataset ledger. */
async function privacyOf(runDir: string, run: RunRecord): Promise<Pick<ModelCardInput, 'releases' | 'spent' | 'dataset'>> {
  const ledger = await openCheckedRunLedger(runDir, run);
  let out: Pick<ModelCardInput, 'releases' | 'spent' | 'dataset'>;
  try {
    out = { releases: ledger.length, spent: ledger.length > 0 ? ledger.spent(run.plan.budget.delta) : null };
  } finally {
    await ledger.close();
  }
  const where = runDatasetLedger(run);
  if (run.dataset && where) {
    const d = await DatasetLedger.openFile(where.file, { readOnly: true });
    try {
      out.dataset = datasetSpent(d, run.plan.budget.delta);
    } finally {
      await d.close();
    }
  }
  return out;
}
