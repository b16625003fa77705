// defines: the run directory of a trajectory checkpoint — run.json (what the
// run started from and how it trains), trajectory.jsonl (per step: the seeds,
// the released scalars ĝ and η; or a void line for a step whose release was
// accounted but never applied) — with fsynced appends and torn-line recovery.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, truncateSync } from 'node:fs';
import { join } from 'node:path';

import { DpzoError } from '../errors.js';
import { type WriteFn, appendLineSync } from '../io/write-all.js';

export const RUN_FILE = 'run.json';
export const TRAJECTORY_FILE = 'trajectory.jsonl';
export const LEDGER_FILE = 'ledger.jsonl';
export const RUN_FORMAT = 'dpzo-run/1';

export interface StepRecord {
  step: number;
  /** Direction seeds as decimal strings (64-bit). */
  seeds: string[];
  /** Released ĝ_k. */
  g: number[];
  lr: number;
}
/** A step that was accounted in the ledger but whose values never reached the trajectory (crash): no update. */
export interface VoidRecord {
  step: number;
  void: true;
}
export type TrajectoryLine = StepRecord | VoidRecord;

export function isVoid(l: TrajectoryLine): l is VoidRecord {
  return (l as VoidRecord).void === true;
}

export interface TrajectoryRead {
  lines: TrajectoryLine[];
  /** Bytes of complete lines; anything after is a torn write. */
  validBytes: number;
  torn: boolean;
}

export function readTrajectory(runDir: string): TrajectoryRead {
  const path = join(runDir, TRAJECTORY_FILE);
  if (!existsSync(path)) return { lines: [], validBytes: 0, torn: false };
  const buf = readFileSync(path);
  const lines: TrajectoryLine[] = [];
  let at = 0;
  while (at < buf.length) {
    const nl = buf.indexOf(0x0a, at);
    if (nl < 0) return { lines, validBytes: at, torn: true };
    const text = buf.subarray(at, nl).toString('utf8');
    let rec: TrajectoryLine;
    try {
      rec = JSON.parse(text) as TrajectoryLine;
    } catch {
      throw new DpzoError('ERR_RUN_CORRUPT', `${path}: line ${lines.length + 1} is not valid JSON`);
    }
    checkLine(rec, lines.length, path);
    lines.push(rec);
    at = nl + 1;
  }
  return { lines, validBytes: at, torn: false };
}

function checkLine(rec: TrajectoryLine, index: number, path: string): void {
  const bad = (why: string) => new DpzoError('ERR_RUN_CORRUPT', `${path}: line ${index + 1}: ${why}`);
  if (rec === null || typeof rec !== 'object' || rec.step !== index) throw bad(`expected step ${index}`);
  if (isVoid(rec)) return;
  const s = rec as StepRecord;
  if (!Array.isArray(s.seeds) || !Array.isArray(s.g) || s.seeds.length === 0 || s.seeds.length !== s.g.length) throw bad('seeds and g must be arrays of equal length');
  if (!s.seeds.every((x) => typeof x === 'string' && /^\d+$/.test(x) && BigInt(x) < 1n << 64n)) throw bad('seeds must be decimal strings in [0, 2^64)');
  if (!s.g.every((x) => typeof x === 'number' && Number.isFinite(x))) throw bad('g must be finite numbers');
  if (typeof s.lr !== 'number' || !Number.isFinite(s.lr)) throw bad('lr must be a finite number');
}

/** Drops a torn last line (a crash mid-write). */
export function truncateTorn(runDir: string, read: TrajectoryRead): void {
  if (read.torn) truncateSync(join(runDir, TRAJECTORY_FILE), read.validBytes);
}

/** Appends lines, each write followed by fsync, so a complete line is durable before the next action. */
export class TrajectoryWriter {
  private fd: number | null;
  private readonly path: string;
  constructor(runDir: string, private readonly write?: WriteFn) {
    this.path = join(runDir, TRAJECTORY_FILE);
    this.fd = openSync(this.path, 'a');
  }
  append(line: TrajectoryLine): void {
    if (this.fd === null) throw new DpzoError('ERR_RUN_CLOSED', 'the trajectory is closed');
    // a whole line or none: a short write is continued, a failed one undone and thrown, so training stops there
    appendLineSync(this.fd, JSON.stringify(line) + '\n', this.path, this.write);
    fsyncSync(this.fd);
  }
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    appendLineSync(fd, JSON.stringify(value, null, 2) + '\n', tmp);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function readRunJson<T>(runDir: string): T {
  const path = join(runDir, RUN_FILE);
  if (!existsSync(path)) throw new DpzoError('ERR_RUN_MISSING', `${runDir} is not a dpzo run directory (no ${RUN_FILE})`);
  const v = JSON.parse(readFileSync(path, 'utf8')) as { format?: string };
  if (v.format !== RUN_FORMAT) throw new DpzoError('ERR_RUN_CORRUPT', `${path}: format '${v.format}' is not ${RUN_FORMAT}`);
  return v as T;
}

export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
}

export function seedsToStrings(seeds: bigint[]): string[] {
  return seeds.map((s) => s.toString(10));
}

export function seedsFromStrings(seeds: string[]): bigint[] {
  return seeds.map((s) => BigInt(s));
}
