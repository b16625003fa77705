// defines: RunDirectory — the files of a run (run.json, ledger.jsonl, trajectory.jsonl)
// and the handles a training run writes through: create (a fresh, empty directory),
// resume (run.json checked against the plan and the model, the ledger opened with a
// torn tail dropped, the trajectory reconciled with it), and, for API runs without a
// directory, a memory ledger with no trajectory. Order of a step: ledger append (fsync)
// → trajectory append (fsync) → update (ARCHITECTURE §3), so the ledger holds every
// release that reached the disk, and at most one more.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { DpzoError } from '../errors.js';
import { readJsonl } from '../io/jsonl.js';
import { writeJsonAtomic } from '../io/json-file.js';
import type { Model } from '../model/types.js';
import { PrivacyLedger } from '../privacy/index.js';
import type { TrainPlan } from './options.js';
import { LEDGER_FILE, RUN_FILE, RUN_FORMAT, type RunRecord, readRunJson } from './run-record.js';
import { type TrajectoryLine, TrajectoryWriter, readTrajectory, truncateTorn } from './trajectory.js';

/** Plan fields computed from others (sampleRate = batch / N) or by the accountant: not compared on resume. */
const DERIVED_PLAN_KEYS = new Set<string>(['sampleRate', 'predictedEpsilon', 'calibrated']);

/** Where a run's releases and steps go: a run directory, or (API runs without one) memory. */
export interface RunHandles {
  readonly ledger: PrivacyLedger;
  /** Absolute path of the run directory, if any. */
  readonly dir?: string;
  /** The first step still to take. */
  readonly start: number;
  /** Records a step's released values (no-op without a directory). */
  appendStep(line: TrajectoryLine): void;
  /** Closes the files; a memory run stays open for the trainer's next call. */
  close(): Promise<void>;
}

export class RunDirectory implements RunHandles {
  private constructor(
    readonly dir: string,
    readonly ledger: PrivacyLedger,
    private readonly trajectory: TrajectoryWriter,
    readonly start: number,
  ) {}

  /** A new run in `dir`, which must be absent or empty: run.json written, ledger created, trajectory opened. */
  static async create(dir: string, record: Omit<RunRecord, 'format' | 'createdAt'>): Promise<RunDirectory> {
    const abs = resolve(dir);
    if (existsSync(abs) && readdirSync(abs).length > 0) {
      throw new DpzoError('ERR_RUN_EXISTS', `${abs} is not empty: resume it with --resume or choose another --out`);
    }
    mkdirSync(abs, { recursive: true });
    const full: RunRecord = { format: RUN_FORMAT, createdAt: new Date().toISOString(), ...record };
    writeJsonAtomic(join(abs, RUN_FILE), full);
    const ledger = await PrivacyLedger.open(join(abs, LEDGER_FILE), { budget: record.plan.budget, accountant: record.plan.accountant, create: true });
    return new RunDirectory(abs, ledger, new TrajectoryWriter(abs), 0);
  }

  /**
   * Reopens the run in `dir` for `plan` on `model` (its base weights, not yet replayed): every planned
   * choice must match run.json and the weights hash the run's initial one. A crash is repaired first
   * (see reconcile). `start` is the next step; the caller replays trajectoryLines() onto the model.
   */
  static async resume(dir: string, plan: TrainPlan, model: Model, warn: (m: string) => void): Promise<RunDirectory> {
    const abs = resolve(dir);
    const run = readRunJson(abs);
    const keys = new Set([...Object.keys(run.plan), ...Object.keys(plan)].filter((k) => !DERIVED_PLAN_KEYS.has(k)));
    for (const k of keys) {
      const had = (run.plan as unknown as Record<string, unknown>)[k];
      const has = (plan as unknown as Record<string, unknown>)[k];
      if (JSON.stringify(had) !== JSON.stringify(has)) {
        throw new DpzoError('ERR_RUN_MISMATCH', `cannot resume ${abs}: ${k} is ${JSON.stringify(has)}, the run has ${JSON.stringify(had)}`);
      }
    }
    const hash = await model.weightsHash();
    if (hash !== run.model.weightsHash)
      throw new DpzoError(
        'ERR_RUN_MISMATCH',
        `cannot resume ${abs}: the model's weights hash ${hash.slice(0, 12)}… is not the run's initial ${run.model.weightsHash.slice(0, 12)}…`,
      );
    const ledgerPath = join(abs, LEDGER_FILE);
    const hasLedger = existsSync(ledgerPath);
    if (!hasLedger) {
      // the ledger is created before the first release, so without one nothing was released
      if (readTrajectory(abs).lines.length > 0)
        throw new DpzoError('ERR_RUN_CORRUPT', `cannot resume ${abs}: ${LEDGER_FILE} is missing but the trajectory has steps`);
      warn(`the run stopped before its privacy ledger was created (nothing was released); creating ${ledgerPath}`);
    } else if (readJsonl(ledgerPath).tornBytes > 0) {
      // a crash inside the ledger write: that step's values were never written to the
      // trajectory nor applied, so nothing of it left the process; the line is dropped
      warn(`${ledgerPath} ends with an incomplete line (a crash during its write); that release's values never left the process, so the line is dropped`);
    }
    const ledger = await PrivacyLedger.open(ledgerPath, { budget: plan.budget, accountant: plan.accountant, create: !hasLedger, repairTornTail: true });
    try {
      const start = reconcile(abs, ledger.length);
      return new RunDirectory(abs, ledger, new TrajectoryWriter(abs), start);
    } catch (e) {
      // release the ledger's lock so a retry in this process can open it
      await ledger.close();
      throw e;
    }
  }

  /** The steps recorded so far (void lines included), for replay onto the base model. */
  trajectoryLines(): TrajectoryLine[] {
    return readTrajectory(this.dir).lines;
  }

  appendStep(line: TrajectoryLine): void {
    this.trajectory.append(line);
  }

  async close(): Promise<void> {
    this.trajectory.close();
    await this.ledger.close();
  }
}

/** An API run without a directory: its ledger lives in memory (and across the trainer's calls). */
export function memoryRun(ledger: PrivacyLedger): RunHandles {
  return { ledger, start: ledger.length, appendStep: () => undefined, close: async () => undefined };
}

/**
 * Brings trajectory and ledger into agreement after a crash; returns the next step.
 * The ledger holds every release that reached the disk, and may hold one more: a step whose
 * values died with the process. That step stays counted (its noise was drawn) and gets a
 * void line: replay skips it. A torn trajectory line is such a step too.
 */
export function reconcile(runDir: string, ledgerCount: number): number {
  const read = readTrajectory(runDir);
  truncateTorn(runDir, read);
  const T = read.lines.length;
  if (ledgerCount === T + 1) {
    const w = new TrajectoryWriter(runDir);
    try {
      w.append({ step: T, void: true });
    } finally {
      w.close();
    }
    return T + 1;
  }
  if (ledgerCount !== T) {
    throw new DpzoError('ERR_RUN_CORRUPT', `${runDir}: the ledger has ${ledgerCount} releases but the trajectory ${T} steps; they cannot be reconciled`);
  }
  return T;
}
