// defines: RunRecord — run.json, what a run directory started from (the model and its
// weights hash, the trainable tensors) and how it trains (the plan) — and the names of
// the files of a run directory. Read by resume (run-directory.ts), replay and export.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DpzoError } from '../errors.js';
import { jsonPosition } from '../data/read.js';
import { infinityReviver } from '../io/json-infinity.js';
import { datasetKey, datasetLedgerFile, datasetLedgerHome, dpzoHome, keyedDatasetLedgerFile } from '../privacy/index.js';
import { type TrainPlan, releaseSensitivity } from './options.js';
import type { StepForm } from './update.js';

/** Name of a run directory's record (model, weights hash, plan, config): {@link RunRecord}. */
export const RUN_FILE = 'run.json';
/** Name of a run directory's trajectory: one JSON line per step (seeds, released ĝ, lr), enough to replay the weights. */
export const TRAJECTORY_FILE = 'trajectory.jsonl';
/** Name of a run directory's privacy ledger: one JSON line per release, written before the update is applied. */
export const LEDGER_FILE = 'ledger.jsonl';
/** Present in the run directory of a run with no privacy claim (epsilon ∞, or test hooks), with the reason. */
export const NOT_PRIVATE_FILE = 'NOT_PRIVATE';
/**
 * dpzo-run/2: the exact step (forwards at virtual points, θ written only by the update, F16/BF16 rounded
 * stochastically). dpzo-run/1: runs made before it, whose steps walked θ in place; they still replay.
 */
export const RUN_FORMAT = 'dpzo-run/2';
const LEGACY_WALK_FORMAT = 'dpzo-run/1';

/**
 * The content of a run directory's run.json: what the run started from (the model and its weights hash, the trainable tensors) and how it trains (the plan).
 * Read by resume, replay and export.
 */
export interface RunRecord {
  /** File format: `dpzo-run/2` (exact steps), or `dpzo-run/1` (older in-place walk; replay and export only). */
  format: typeof RUN_FORMAT | typeof LEGACY_WALK_FORMAT;
  /** Creation time, ISO 8601 (UTC). */
  createdAt: string;
  /** A random id: the dataset ledger keys this run's releases by it (absent in runs made before it existed). */
  runId?: string;
  /** The dataset ledger the run's releases also went to (absent in runs made before it existed): {@link DatasetRef}. */
  dataset?: DatasetRef;
  /** False when epsilon is ∞ (a non-private baseline) or test hooks injected seeds, noise or batches: the run makes no privacy claim. */
  private: boolean;
  /**
   * The base model: its absolute directory, SHA-256 (hex) of its initial weights, dtype, the trainable patterns it was loaded with (null: all), the names of
   * the trainable tensors and their element count.
   */
  model: { dir: string; weightsHash: string; dtype: string; trainable: string[] | null; trainableNames: string[]; numTrainable: number };
  /** The plan the run trains by (a resume must reproduce it). */
  plan: TrainPlan;
  /**
   * The sensitivity Δ of the released sum the run's noise was set for (releaseSensitivity of its plan when it started):
   * absent in runs made before it was recorded, whose Δ was the rule of their dpzo (run-record.ts checkReleaseSensitivity).
   */
  releaseSensitivity?: number;
  /** Free-form facts (TrainOptions.meta): the CLI records its RunConfig here as `config`. */
  meta: Record<string, unknown>;
}

/**
 * The trainable patterns to load a run's base with for its replay: the ones recorded, or, where none were (a model
 * loaded with `trainable` patterns and trained without `TrainOptions.trainable`: run.json says null), the run's
 * trainable tensor names themselves. A null there loaded every tensor, and the replay was refused as a mismatch,
 * after the run's budget had been spent. A name selects the tensor it names (the replay then checks the set).
 */
export function replayTrainable(run: RunRecord): string[] {
  return run.model.trainable ?? run.model.trainableNames;
}

/**
 * Reads and checks the run.json of `runDir` (its format; the rest is trusted as written by dpzo).
 * @throws {@link DpzoError} `ERR_RUN_MISSING` (no run.json), `ERR_RUN_CORRUPT` (not JSON, unknown format, no model or plan object).
 */
export function readRunJson<T = RunRecord>(runDir: string): T {
  const path = join(runDir, RUN_FILE);
  if (!existsSync(path)) throw new DpzoError('ERR_RUN_MISSING', `${runDir} is not a dpzo run directory (no ${RUN_FILE})`);
  let v: { format?: string; model?: unknown; plan?: unknown; meta?: unknown };
  try {
    v = JSON.parse(readFileSync(path, 'utf8'), infinityReviver) as typeof v;
  } catch (e) {
    throw new DpzoError('ERR_RUN_CORRUPT', `${path}: not valid JSON${jsonPosition(e)}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new DpzoError('ERR_RUN_CORRUPT', `${path}: not a JSON object`);
  if (v.format !== RUN_FORMAT && v.format !== LEGACY_WALK_FORMAT)
    throw new DpzoError('ERR_RUN_CORRUPT', `${path}: format '${v.format}' is neither ${RUN_FORMAT} nor ${LEGACY_WALK_FORMAT}`);
  // replay, export, eval --run and report read these without further checks: a TypeError named no file
  for (const field of ['model', 'plan'] as const) {
    const f = v[field];
    if (f === null || typeof f !== 'object' || Array.isArray(f))
      throw new DpzoError('ERR_RUN_CORRUPT', `${path}: field '${field}' is missing or not an object`);
  }
  if (v.meta === undefined) v.meta = {};
  else if (v.meta === null || typeof v.meta !== 'object' || Array.isArray(v.meta))
    throw new DpzoError('ERR_RUN_CORRUPT', `${path}: field 'meta' is not an object`);
  // runs made before DP-SGD existed record no method: they are DP-ZO runs
  const plan = (v as { plan?: { method?: string } }).plan;
  if (plan && typeof plan === 'object' && plan.method === undefined) plan.method = 'dpzo';
  return v as T;
}

/**
 * Checks the plan fields `dpzo report` and `dpzo eval --run` read beyond readRunJson's checks (its budget, accountant,
 * steps and method): a run.json with plan.budget missing or plan.accountant a number failed with a bare TypeError
 * ("Cannot read properties of undefined (reading 'epsilon')", "accountant.toUpperCase is not a function") naming no file.
 * @throws {@link DpzoError} `ERR_RUN_CORRUPT` naming run.json and the field, never its value.
 */
export function checkRunPlan(run: RunRecord, runDir: string): void {
  const plan = run.plan as unknown as Record<string, unknown>;
  const budget = plan.budget as Record<string, unknown> | null | undefined;
  const bad = (field: string, what: string) =>
    new DpzoError(
      'ERR_RUN_CORRUPT',
      `${join(runDir, RUN_FILE)}: field '${field}' is ${field.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], run) === undefined ? 'missing' : 'not ' + what}`,
    );
  if (budget === null || typeof budget !== 'object' || Array.isArray(budget)) throw bad('plan.budget', 'an object');
  if (typeof budget.epsilon !== 'number' || !(budget.epsilon > 0)) throw bad('plan.budget.epsilon', 'a number > 0');
  if (typeof budget.delta !== 'number' || !(budget.delta >= 0 && budget.delta < 1)) throw bad('plan.budget.delta', 'a number in [0, 1)');
  if (plan.accountant !== 'pld' && plan.accountant !== 'rdp') throw bad('plan.accountant', "'pld' or 'rdp'");
  if (!Number.isSafeInteger(plan.steps) || (plan.steps as number) < 0) throw bad('plan.steps', 'a non-negative integer');
  if (plan.method !== 'dpzo' && plan.method !== 'dpsgd') throw bad('plan.method', "'dpzo' or 'dpsgd'");
}

/** How the run's recorded steps turn θ_t into θ_{t+1} (update.ts). */
export function stepForm(run: Pick<RunRecord, 'format'>): StepForm {
  return run.format === LEGACY_WALK_FORMAT ? 'walk' : 'exact';
}

/**
 * Refuses what a dpzo-run/1 run cannot do any more: resume (training no longer walks θ in place), and
 * replay in F16/BF16 (its updates rounded to nearest; updates now round stochastically). F32 replay is exact.
 */
export function checkLegacyRun(run: RunRecord, runDir: string, action: 'resume' | 'replay'): void {
  if (stepForm(run) !== 'walk') return;
  if (action === 'resume')
    throw new DpzoError(
      'ERR_RUN_MISMATCH',
      `cannot resume ${runDir}: it was trained with the in-place walk of an older dpzo (${LEGACY_WALK_FORMAT}); export it and start a new run from the export`,
    );
  if (run.model.dtype !== 'float32')
    throw new DpzoError(
      'ERR_RUN_MISMATCH',
      `cannot replay ${runDir}: a ${run.model.dtype} run of an older dpzo (${LEGACY_WALK_FORMAT}) rounded its updates to nearest, which this version no longer does`,
    );
}

/**
 * Δ of a run made before run.json recorded it: the dpzo of those runs took a constant-time run whose slots hold all N
 * public examples (K = N) to have sensitivity C, where the neighbour with N + 1 examples can be cut (2C, releaseSensitivity).
 */
function unrecordedSensitivity(plan: TrainPlan): number {
  const ct = plan.constantTime;
  return ct !== undefined && plan.datasetSize !== undefined && ct.slots === plan.datasetSize ? plan.clip : releaseSensitivity(plan);
}

/**
 * Refuses a run whose noise was set for a smaller Δ than its plan's release has (releaseSensitivity): its ledger records
 * σ (or b) as if that Δ were right, so every ε read from it is understated. A run that does not record its Δ
 * (run.json `releaseSensitivity`) is taken at the rule of the dpzo that made it, which differs only at K = N.
 * Used by resume and by every reader of a run's ledger (account, report, export, eval --run).
 * @throws {@link DpzoError} `ERR_RUN_CORRUPT` naming run.json.
 */
export function checkReleaseSensitivity(run: RunRecord, runDir: string): void {
  if (run.plan.mechanism === 'none') return;
  const recorded: unknown = run.releaseSensitivity;
  const path = join(runDir, RUN_FILE);
  if (recorded !== undefined && typeof recorded !== 'number') throw new DpzoError('ERR_RUN_CORRUPT', `${path}: field 'releaseSensitivity' is not a number`);
  const set = recorded ?? unrecordedSensitivity(run.plan);
  const needed = releaseSensitivity(run.plan);
  if (set >= needed) return;
  const why =
    recorded === undefined
      ? `an older dpzo set its noise for sensitivity Δ = C = ${set} at constant-time steps with K = N = ${run.plan.datasetSize} slots, where the neighbour with N + 1 examples can be cut (Δ = 2C = ${needed})`
      : `its noise was set for sensitivity Δ = ${set}, but its release has Δ = ${needed}`;
  throw new DpzoError('ERR_RUN_CORRUPT', `${path}: ${why}, so its ledger under-reports ε (the recorded ε is understated); start a new run`);
}

/**
 * What run.json records of the training data: `ledger`, the dataset ledger's file (under the $DPZO_HOME of the run's
 * start: a resume must record its releases there), and `key`, the name that ledger goes by (an HMAC of the training
 * file's SHA-256 under that home's secret: privacy/dataset-key.ts). An older dpzo recorded the plain `sha256` instead,
 * from which anyone holding all examples but one could test guesses of the last; such a run.json is still read.
 */
export interface DatasetRef {
  /** HMAC-SHA256 of the training file's SHA-256 under the secret of the home the run started in (64 hex digits). */
  key?: string;
  /** An older dpzo's record: the training file's plain SHA-256. */
  sha256?: string;
  /** The dataset ledger's file (absent in runs made before it was recorded). */
  ledger?: string;
}

/**
 * Whether the training file with SHA-256 `sha256` is the one the run recorded: undefined when that cannot be told here
 * (the home the run started under, whose secret its key is made with, is not on this machine).
 */
export function sameTrainingFile(ref: DatasetRef, sha256: string | undefined): boolean | undefined {
  if (sha256 === undefined) return false;
  if (ref.sha256 !== undefined) return ref.sha256 === sha256;
  if (ref.key === undefined || ref.ledger === undefined) return false;
  const key = datasetKey(datasetLedgerHome(ref.ledger), sha256, false);
  return key === undefined ? undefined : key === ref.key;
}

/**
 * Where a run's dataset ledger is, for reading it: the file run.json recorded when it is there (the run's releases
 * went to it whatever $DPZO_HOME says now), else the training file's ledger under the current $DPZO_HOME; undefined
 * when the run has none or neither file exists.
 */
export function runDatasetLedger(run: Pick<RunRecord, 'dataset'>): { home: string; file: string } | undefined {
  if (!run.dataset) return undefined;
  const recorded = run.dataset.ledger;
  if (recorded !== undefined && existsSync(recorded)) return { home: datasetLedgerHome(recorded), file: recorded };
  // the recorded file's home first (an older dpzo's ledger there was moved to its keyed name by a later writer)
  const homes = [...new Set([...(recorded !== undefined ? [datasetLedgerHome(recorded)] : []), dpzoHome()])];
  const { sha256, key } = run.dataset;
  for (const home of homes) {
    const file = sha256 !== undefined ? datasetLedgerFile(home, sha256) : key !== undefined ? keyedDatasetLedgerFile(home, key) : undefined;
    if (file !== undefined && existsSync(file)) return { home, file };
  }
  return undefined;
}
