// defines: trajectory.jsonl, the checkpoint of a run — per step the seeds, the
// released scalars ĝ and η (or a void line for a step whose release was
// accounted but never applied) — read with its lines checked, and written
// through lib/io's AppendLog (whole fsynced lines, torn tail detected).
import { join } from 'node:path';

import { DpzoError } from '../errors.js';
import { AppendLog, cutTornTail, readJsonl } from '../io/jsonl.js';
import type { WriteFn } from '../io/write-all.js';
import { TRAJECTORY_FILE } from './run-record.js';

/** One applied step of trajectory.jsonl: what the mechanism released and the public values needed to replay it. */
export interface StepRecord {
  /** Step index, from 0 (equal to the line's index). */
  step: number;
  /** Direction seeds as decimal strings (64-bit). */
  seeds: string[];
  /** Released ĝ_k. */
  g: number[];
  /** Learning rate η_t of the step. */
  lr: number;
}
/**
 * One applied DP-SGD step: its public η only. The released gradient is P-sized; what it made of the
 * weights is in the run's checkpoint (lib/dpsgd/checkpoint.ts), not here.
 */
export interface GradientStepRecord {
  /** Step index, from 0 (equal to the line's index). */
  step: number;
  /** Learning rate η_t of the step. */
  lr: number;
}
/** A step that was accounted in the ledger but never applied (a crash before its values reached the trajectory, or an update the core refused): no update. */
export interface VoidRecord {
  /** Index of the step (from 0). */
  step: number;
  /** Marks a void step. */
  void: true;
}
/** A line of trajectory.jsonl: an applied step (DP-ZO or DP-SGD), or a void step (accounted in the ledger, never applied: a crash between the two). */
export type TrajectoryLine = StepRecord | GradientStepRecord | VoidRecord;

/** Which steps a trajectory holds: DP-ZO's (seeds, ĝ, η) or DP-SGD's η alone. */
export type TrajectoryKind = 'dpzo' | 'dpsgd';

export function isVoid(l: TrajectoryLine): l is VoidRecord {
  return (l as VoidRecord).void === true;
}

/** What {@link readTrajectory} read: the checked lines and whether the file ends in a torn write. */
export interface TrajectoryRead {
  /** The complete lines, in step order. */
  lines: TrajectoryLine[];
  /** Bytes of complete lines; anything after is a torn write. */
  validBytes: number;
  /** Bytes after the last newline: a torn write. */
  tornBytes: number;
  /** Whether the file ends in a torn write (`tornBytes` > 0). */
  torn: boolean;
}

/**
 * Reads and checks a run directory's trajectory.jsonl: every line JSON, numbered in order, seeds in [0, 2^64), ĝ and η finite. A torn last line (a crash
 * mid-write) is reported, not returned.
 * @throws {@link DpzoError} `ERR_RUN_CORRUPT` naming the line.
 */
export function readTrajectory(runDir: string, kind: TrajectoryKind = 'dpzo'): TrajectoryRead {
  const path = join(runDir, TRAJECTORY_FILE);
  const read = readJsonl(path);
  const lines = read.lines.map((text, i) => {
    let rec: TrajectoryLine;
    try {
      rec = JSON.parse(text) as TrajectoryLine;
    } catch {
      throw new DpzoError('ERR_RUN_CORRUPT', `${path}: line ${i + 1} is not valid JSON`);
    }
    checkLine(rec, i, path, kind);
    return rec;
  });
  return { lines, validBytes: read.validBytes, tornBytes: read.tornBytes, torn: read.tornBytes > 0 };
}

function checkLine(rec: TrajectoryLine, index: number, path: string, kind: TrajectoryKind): void {
  const bad = (why: string) => new DpzoError('ERR_RUN_CORRUPT', `${path}: line ${index + 1}: ${why}`);
  if (rec === null || typeof rec !== 'object' || rec.step !== index) throw bad(`expected step ${index}`);
  if (isVoid(rec)) return;
  if (kind === 'dpsgd') {
    if ('seeds' in rec || 'g' in rec) throw bad('a DP-SGD step has no seeds nor g');
    if (typeof rec.lr !== 'number' || !Number.isFinite(rec.lr)) throw bad('lr must be a finite number');
    return;
  }
  const s = rec as StepRecord;
  if (!Array.isArray(s.seeds) || !Array.isArray(s.g) || s.seeds.length === 0 || s.seeds.length !== s.g.length)
    throw bad('seeds and g must be arrays of equal length');
  if (!s.seeds.every((x) => typeof x === 'string' && /^\d+$/.test(x) && BigInt(x) < 1n << 64n)) throw bad('seeds must be decimal strings in [0, 2^64)');
  if (!s.g.every((x) => typeof x === 'number' && Number.isFinite(x))) throw bad('g must be finite numbers');
  if (typeof s.lr !== 'number' || !Number.isFinite(s.lr)) throw bad('lr must be a finite number');
}

/** Drops a torn last line (a crash mid-write). */
export function truncateTorn(runDir: string, read: TrajectoryRead): void {
  cutTornTail(join(runDir, TRAJECTORY_FILE), read);
}

/** Appends lines through the run's AppendLog: each line whole and fsynced before the update that follows it. */
export class TrajectoryWriter {
  private readonly log: AppendLog;
  constructor(runDir: string, write?: WriteFn) {
    this.log = new AppendLog(join(runDir, TRAJECTORY_FILE), { write });
  }
  append(line: TrajectoryLine): void {
    if (this.log.closed) throw new DpzoError('ERR_RUN_CLOSED', 'the trajectory is closed');
    // a whole line or none: a short write is continued, a failed one undone and thrown, so training stops there
    this.log.append(JSON.stringify(line));
  }
  /**
   * Replaces the step line appended last by a void line for the same step: its update was refused before
   * θ was written, so replay must skip it. A crash between the cut and the append leaves the ledger one
   * release ahead, which --resume turns into the same void line.
   */
  voidLast(step: number): void {
    if (this.log.closed) throw new DpzoError('ERR_RUN_CLOSED', 'the trajectory is closed');
    this.log.dropLast();
    this.log.append(JSON.stringify({ step, void: true } satisfies VoidRecord));
  }
  close(): void {
    this.log.close();
  }
}

export function seedsToStrings(seeds: bigint[]): string[] {
  return seeds.map((s) => s.toString(10));
}

export function seedsFromStrings(seeds: string[]): bigint[] {
  return seeds.map((s) => BigInt(s));
}
