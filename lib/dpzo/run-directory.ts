// defines: RunDirectory — the files of a run (run.json, ledger.jsonl, trajectory.jsonl)
// and the handles a training run writes through: create (a fresh, empty directory,
// claimed by creating run.json exclusively before anything else is written), resume
// (every check first — run.json against the plan and the model, the ledger against
// the plan, ledger and trajectory against each other, the run against its dataset
// ledger — and only then the repairs: a torn tail cut, a void step, the dataset
// ledger caught up), and, for API runs without a directory, a memory ledger with no
// trajectory. Order of a step: run ledger append (fsync) → dataset ledger append
// (fsync) → trajectory append (fsync) → update (ARCHITECTURE §3), so the ledgers hold
// every release that reached the disk, and at most one more. An update the core refuses
// before writing θ turns its trajectory line into a void one (replay must skip it too).
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { DpzoError } from '../errors.js';
import { createJsonExclusive, isExclusiveLeftover } from '../io/json-file.js';
import { makeDirectories } from '../io/mkdirs.js';
import type { Model } from '../model/types.js';
import { type DatasetLedger, PrivacyLedger, type ReleaseInput, datasetLedgerHome } from '../privacy/index.js';
import { type TrainPlan, ledgerBudget, notPrivateReason, releaseSensitivity } from './options.js';
import { recordMovedInputs } from './resume-inputs.js';
import { checkLedgerAgainstPlan } from './run-integrity.js';
import {
  LEDGER_FILE,
  NOT_PRIVATE_FILE,
  RUN_FILE,
  RUN_FORMAT,
  type RunRecord,
  checkLegacyRun,
  checkReleaseSensitivity,
  readRunJson,
  sameTrainingFile,
} from './run-record.js';
import { type TrajectoryKind, type TrajectoryLine, type TrajectoryRead, TrajectoryWriter, readTrajectory, truncateTorn } from './trajectory.js';

/**
 * Plan fields the accountant computes: not compared on resume. sampleRate is compared: B/N follows from
 * expectedBatch and datasetSize, but a fixed q (--sample-rate) with an explicit σ is a choice no other key carries.
 */
const DERIVED_PLAN_KEYS = new Set<string>(['predictedEpsilon', 'calibrated']);

/**
 * Refuses to resume the run in `abs` with a plan other than the one its run.json records (its derived fields aside).
 * @throws DpzoError `ERR_RUN_MISMATCH` naming the first field that differs.
 */
export function checkSamePlan(abs: string, recorded: TrainPlan, plan: TrainPlan): void {
  const keys = new Set([...Object.keys(recorded), ...Object.keys(plan)].filter((k) => !DERIVED_PLAN_KEYS.has(k)));
  for (const k of keys) {
    const had = (recorded as unknown as Record<string, unknown>)[k];
    const has = (plan as unknown as Record<string, unknown>)[k];
    if (JSON.stringify(had) !== JSON.stringify(has)) {
      throw new DpzoError('ERR_RUN_MISMATCH', `cannot resume ${abs}: ${k} is ${JSON.stringify(has)}, the run has ${JSON.stringify(had)}`);
    }
  }
}

/** Which budget a release would exceed: the run's, or its dataset's (dataset-ledger.ts). */
export type BudgetOwner = 'run' | 'dataset';

/** Where a run's releases and steps go: a run directory, or (API runs without one) memory. */
export interface RunHandles {
  readonly ledger: PrivacyLedger;
  /**
   * The dataset ledger the run's releases also go to, when the training data is a file. `| undefined` spelt out: RunDirectory
   * holds it as `DatasetLedger | undefined`, and a consumer compiling with exactOptionalPropertyTypes (skipLibCheck off) got TS2420
   * in the shipped run-directory.d.ts.
   */
  readonly dataset?: DatasetLedger | undefined;
  /** The budget one more `release` would exceed, or null. */
  exceeds(release: ReleaseInput): BudgetOwner | null;
  /** Records a release: the run's ledger, then the dataset's (both fsynced) — before the update that uses it. */
  release(release: ReleaseInput): Promise<void>;
  /** Absolute path of the run directory, if any. */
  readonly dir?: string;
  /** The first step still to take. */
  readonly start: number;
  /** Records a step's released values (no-op without a directory). */
  appendStep(line: TrajectoryLine): void;
  /** Turns the step just appended into a void line: its update was refused before θ was written (no-op without a directory). */
  voidLastStep(step: number): void;
  /** Closes the files; a memory run stays open for the trainer's next call. */
  close(): Promise<void>;
}

/** How to open a run's dataset ledger (the trainer passes it; absent: none). */
export type OpenDataset = () => Promise<DatasetLedger>;

/** Appends to the run ledger, then to the dataset ledger: the order resume relies on (the run ledger never behind). */
async function releaseTo(ledger: PrivacyLedger, dataset: DatasetLedger | undefined, runId: string, release: ReleaseInput): Promise<void> {
  const entry = await ledger.append(release);
  await dataset?.record(runId, entry);
}

function exceedsIn(ledger: PrivacyLedger, dataset: DatasetLedger | undefined, release: ReleaseInput): BudgetOwner | null {
  if (ledger.wouldExceed(release)) return 'run';
  return dataset?.wouldExceed(release) ? 'dataset' : null;
}

export class RunDirectory implements RunHandles {
  private constructor(
    readonly dir: string,
    readonly runId: string,
    readonly ledger: PrivacyLedger,
    readonly dataset: DatasetLedger | undefined,
    private readonly trajectory: TrajectoryWriter,
    readonly start: number,
    private readonly kind: TrajectoryKind,
  ) {}

  /**
   * A new run in `dir`, which must be absent or empty. run.json is created exclusively first: of two
   * processes (or calls) starting a run in one directory, the loser fails with ERR_RUN_EXISTS having
   * written nothing. Then the ledger is created and the trajectory opened.
   */
  static async create(
    dir: string,
    record: Omit<RunRecord, 'format' | 'createdAt' | 'runId' | 'releaseSensitivity'>,
    openDataset?: OpenDataset,
  ): Promise<RunDirectory> {
    const abs = resolve(dir);
    const exists = () => new DpzoError('ERR_RUN_EXISTS', `${abs} is not empty: resume it with --resume or choose another --out`);
    // a file there failed in readdirSync with a bare ENOTDIR naming neither --out nor dpzo's code
    if (existsSync(abs) && !statSync(abs).isDirectory()) throw new DpzoError('ERR_RUN_EXISTS', `${abs} exists and is not a directory: choose another --out`);
    if (existsSync(abs)) {
      // run.json's temporary file, left by a process killed while creating it, is not a run: removed, not refused
      const entries = readdirSync(abs);
      const leftovers = entries.filter((n) => isExclusiveLeftover(abs, n, RUN_FILE));
      if (entries.length > leftovers.length) throw exists();
      for (const n of leftovers) rmSync(join(abs, n), { force: true });
    }
    // a read-only or unwritable parent is named with the OS's reason, before anything is opened
    try {
      makeDirectories(abs);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      throw new DpzoError(
        'ERR_IO',
        `cannot create the run directory ${abs} (${code}${code === 'EROFS' ? ': read-only file system' : code === 'EACCES' ? ': permission denied' : ''})`,
      );
    }
    const dataset = openDataset ? await openDataset() : undefined;
    try {
      const full: RunRecord = {
        format: RUN_FORMAT,
        createdAt: new Date().toISOString(),
        runId: randomUUID(),
        ...record,
        // the Δ its noise is set for: a later dpzo tells this run from one of a dpzo whose rule gave another Δ
        releaseSensitivity: releaseSensitivity(record.plan),
        // the ledger's keyed name, never the training file's plain hash (run-record.ts, DatasetRef)
        ...(dataset ? { dataset: { key: dataset.key, ledger: dataset.path } } : {}),
      };
      if (!createJsonExclusive(join(abs, RUN_FILE), full)) throw exists();
      // a run without privacy says so in its directory, not only inside run.json
      if (!full.private) writeFileSync(join(abs, NOT_PRIVATE_FILE), `NOT PRIVATE: ${notPrivateReason(full.plan)}\n`);
      const ledger = await PrivacyLedger.open(join(abs, LEDGER_FILE), { budget: ledgerBudget(record.plan), accountant: record.plan.accountant, create: true });
      return new RunDirectory(abs, full.runId!, ledger, dataset, new TrajectoryWriter(abs), 0, record.plan.method);
    } catch (e) {
      await dataset?.close();
      throw e;
    }
  }

  /**
   * Reopens the run in `dir` for `plan` on `model` (its base weights, not yet replayed). All or nothing:
   * every planned choice must match run.json, the weights hash the run's initial one, every release of
   * the ledger the plan, the trajectory the ledger (it may trail by the one release a crash cut off),
   * and the ledger what the dataset ledger recorded of this run; only when all hold are the crash
   * repairs made (see reconcile). `start` is the next step; the caller replays trajectoryLines().
   */
  static async resume(
    dir: string,
    plan: TrainPlan,
    model: Model,
    warn: (m: string) => void,
    openDataset?: OpenDataset,
    datasetSha256?: string,
    dataFile?: string,
  ): Promise<RunDirectory> {
    const abs = resolve(dir);
    const runFile = join(abs, RUN_FILE);
    const run = readRunJson(abs);
    checkLegacyRun(run, abs, 'resume');
    // before anything else is read or repaired: an older dpzo's noise for Δ = C at K = N was under-accounted
    checkReleaseSensitivity(run, abs);
    let same: boolean | undefined = false;
    if (run.dataset) {
      if (!openDataset)
        throw new DpzoError('ERR_RUN_MISMATCH', `cannot resume ${abs}: its releases are recorded in a dataset ledger, which this resume would not use`);
      same = sameTrainingFile(run.dataset, datasetSha256);
      if (same === false)
        throw new DpzoError('ERR_RUN_MISMATCH', `cannot resume ${abs}: the training file is not the one the run started on (its SHA-256 changed)`);
      if (same === undefined)
        warn(
          `cannot check that the training file is the one ${abs} started on: the key its run.json names it by is in ${datasetLedgerHome(run.dataset.ledger!)}, which is not on this machine`,
        );
    }
    checkSamePlan(abs, run.plan, plan);
    const hash = await model.weightsHash();
    if (hash !== run.model.weightsHash)
      throw new DpzoError(
        'ERR_RUN_MISMATCH',
        `cannot resume ${abs}: the model's weights hash ${hash.slice(0, 12)}… is not the run's initial ${run.model.weightsHash.slice(0, 12)}… (${model.dir})`,
      );
    // the hash covers every tensor, trainable or not: a model loaded with other trainable patterns replayed the run's
    // seeds over other tensors and went on training them, a mix of two runs that no export (which checks the names) reproduces
    const names = model.trainableNames();
    if (JSON.stringify(names) !== JSON.stringify(run.model.trainableNames))
      throw new DpzoError(
        'ERR_RUN_MISMATCH',
        `cannot resume ${abs}: the model's trainable tensors differ from the run's (${names.length} vs ${run.model.trainableNames.length}; load it with the run's trainable patterns)`,
      );
    const ledgerPath = join(abs, LEDGER_FILE);
    const hasLedger = existsSync(ledgerPath);
    const trajectory = readTrajectory(abs, plan.method);
    if (!hasLedger && trajectory.lines.length > 0) {
      // the ledger is created before the first release, so without one nothing was released
      throw new DpzoError('ERR_RUN_CORRUPT', `cannot resume ${abs}: ${LEDGER_FILE} is missing but the trajectory has steps`);
    }
    // the torn tail of a crash inside the ledger write is cut (and a missing ledger created) only once
    // every check below has passed
    let ledger = hasLedger
      ? await PrivacyLedger.open(ledgerPath, { budget: ledgerBudget(plan), accountant: plan.accountant, repairTornTail: 'defer' })
      : undefined;
    let dataset: DatasetLedger | undefined;
    try {
      if (ledger) checkLedgerAgainstPlan(ledger, plan, runFile);
      const entries = ledger?.entries ?? [];
      const voidStep = reconcilePlan(abs, entries.length, trajectory);
      dataset = openDataset && run.dataset && run.runId ? await openDataset() : undefined;
      // another $DPZO_HOME: the run's earlier releases are in the ledger it started with, and the rest would go to
      // this one, so neither would hold the run (the start's would stay behind for good). Where that ledger is gone
      // (the run directory copied to another machine), the catch-up below writes the whole run into this one.
      if (dataset && run.dataset?.ledger !== undefined && existsSync(run.dataset.ledger) && !sameFile(run.dataset.ledger, dataset.path)) {
        throw new DpzoError(
          'ERR_RUN_MISMATCH',
          `cannot resume ${abs}: its releases are recorded in the dataset ledger ${run.dataset.ledger}, not ${dataset.path} (set DPZO_HOME as when the run started)`,
        );
      }
      const behind = dataset ? dataset.missingFrom(run.runId!, ledgerPath, entries) : [];
      // every check passed: now the repairs, each a change that only ever adds to what is counted
      if (!ledger) {
        warn(`the run stopped before its privacy ledger was created (nothing was released); creating ${ledgerPath}`);
        ledger = await PrivacyLedger.open(ledgerPath, { budget: ledgerBudget(plan), accountant: plan.accountant, create: true });
      }
      if (ledger.tornTail) {
        // a crash inside the ledger write: that step's values were never written to the trajectory
        // nor applied, so nothing of it left the process; the line is dropped
        warn(`${ledgerPath} ended with an incomplete line (a crash during its write); that release's values never left the process, so the line was dropped`);
        ledger.repairTornTail();
      }
      const start = reconcileApply(abs, trajectory, voidStep);
      // the base model (its weights hash checked above) or the training file (its dataset key checked above) moved since the
      // run started: run.json records where they are now, so that the next resume, export and eval --run find them
      const moved = { model: resolve(model.dir), ...(same === true && dataFile !== undefined ? { data: resolve(dataFile) } : {}) };
      if (recordMovedInputs(abs, moved))
        warn(`${runFile} now records the base model ${moved.model}${moved.data ? ` and the training file ${moved.data}` : ''} (checked: the run's own)`);
      // create writes run.json, then the marker: a crash between the two left a run without privacy unmarked in its directory
      if (!run.private && !existsSync(join(abs, NOT_PRIVATE_FILE))) writeFileSync(join(abs, NOT_PRIVATE_FILE), `NOT PRIVATE: ${notPrivateReason(run.plan)}\n`);
      if (dataset && behind.length > 0) {
        warn(`the dataset ledger ${dataset.path} lacked this run's last ${behind.length} release(s) (a crash between the two writes); added`);
        for (const e of behind) await dataset.record(run.runId!, e);
      }
      return new RunDirectory(abs, run.runId ?? '', ledger, dataset, new TrajectoryWriter(abs), start, plan.method);
    } catch (e) {
      // release the locks so a retry in this process can open them
      await dataset?.close();
      await ledger?.close();
      throw e;
    }
  }

  /** The steps recorded so far (void lines included), for replay onto the base model. */
  trajectoryLines(): TrajectoryLine[] {
    return readTrajectory(this.dir, this.kind).lines;
  }

  exceeds(release: ReleaseInput): BudgetOwner | null {
    return exceedsIn(this.ledger, this.dataset, release);
  }

  release(release: ReleaseInput): Promise<void> {
    return releaseTo(this.ledger, this.dataset, this.runId, release);
  }

  appendStep(line: TrajectoryLine): void {
    this.trajectory.append(line);
  }

  voidLastStep(step: number): void {
    this.trajectory.voidLast(step);
  }

  async close(): Promise<void> {
    this.trajectory.close();
    await this.dataset?.close();
    await this.ledger.close();
  }
}

/** Whether two paths name one file (a symbolic link in either, such as a $DPZO_HOME under a linked directory, included). */
function sameFile(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** An API run without a directory: its ledger lives in memory (and across the trainer's calls). */
export function memoryRun(ledger: PrivacyLedger, runId: string, dataset?: DatasetLedger): RunHandles {
  return {
    ledger,
    dataset,
    start: ledger.length,
    exceeds: (r) => exceedsIn(ledger, dataset, r),
    release: (r) => releaseTo(ledger, dataset, runId, r),
    appendStep: () => undefined,
    voidLastStep: () => undefined,
    close: async () => {
      await dataset?.close();
    },
  };
}

/**
 * Whether ledger and trajectory agree after a crash, without changing either: the ledger holds every
 * release that reached the disk, and may hold one more — a step whose values died with the process,
 * which stays counted (its noise was drawn) and gets a void line. True when that void line is needed.
 */
function reconcilePlan(runDir: string, ledgerCount: number, read: TrajectoryRead): boolean {
  const T = read.lines.length;
  if (ledgerCount === T + 1) return true;
  if (ledgerCount !== T) {
    throw new DpzoError('ERR_RUN_CORRUPT', `${runDir}: the ledger has ${ledgerCount} releases but the trajectory ${T} steps; they cannot be reconciled`);
  }
  return false;
}

/** The repairs reconcilePlan allowed: a torn trajectory line cut, the void line appended. Returns the next step. */
function reconcileApply(runDir: string, read: TrajectoryRead, voidStep: boolean): number {
  truncateTorn(runDir, read);
  const T = read.lines.length;
  if (!voidStep) return T;
  const w = new TrajectoryWriter(runDir);
  try {
    w.append({ step: T, void: true });
  } finally {
    w.close();
  }
  return T + 1;
}

/**
 * Brings trajectory and ledger into agreement after a crash; returns the next step. Checks first
 * (ERR_RUN_CORRUPT when they cannot agree, nothing changed), then repairs.
 */
export function reconcile(runDir: string, ledgerCount: number, kind: TrajectoryKind = 'dpzo'): number {
  const read = readTrajectory(runDir, kind);
  return reconcileApply(runDir, read, reconcilePlan(runDir, ledgerCount, read));
}
