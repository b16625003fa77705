// defines: the bytes of a privacy ledger — one header line, then one release per line, each line sealed with
// the SHA-256 of its body and chained to the previous line's hash — and the checks that read them back.
// No I/O here: ledger-store.ts holds the lines, ledger.ts keeps the accountants in step with them.
import { createHash } from 'node:crypto';

import type { AccountantKind } from './accountant.js';
import { argumentError, checkDelta, checkEpsilon, checkPositive, checkSampleRate, PrivacyError } from './errors.js';
import { type Mechanism, checkLaplaceScale, checkNoiseMultiplier } from './mechanism.js';
import type { PrivacyErrorCode } from '../errors.js';
import { unknownKey } from '../unknown-key.js';

export const GENESIS = '0'.repeat(64);
export const LEDGER_VERSION = 1;

/** A privacy budget (ε, δ). */
export interface Budget {
  /** ε (> 0). */
  epsilon: number;
  /** δ in (0, 1). */
  delta: number;
}

/** What the trainer records for one release (one DP-ZO step: n directions, one mechanism). */
export interface ReleaseInput {
  /** Training step: the number of releases before it (the default; append refuses any other). */
  step?: number;
  /** 'none': a release without noise (a non-private baseline run): ε = ∞ from it on. */
  mechanism: 'gaussian' | 'laplace' | 'none';
  /** Poisson sampling rate q in (0, 1]. */
  sampleRate: number;
  /** Gaussian: noise multiplier σ (required for the Gaussian mechanism). */
  noiseMultiplier?: number;
  /** Laplace: scale b (required for the Laplace mechanism). */
  laplaceScale?: number;
  /** Clipping threshold C (the sensitivity: L2 for Gaussian, L1 for Laplace). */
  clip: number;
  /** Number of directions n released together (recorded; the privacy of the step does not depend on it). */
  directions?: number;
  /** In a dataset ledger: the run this release belongs to and the hash of its line in that run's ledger. */
  origin?: ReleaseOrigin;
  /**
   * In a dataset ledger: the release's noise was set for its true sensitivity Δ (DatasetLedger.record, whose callers check the run's Δ).
   * Absent in lines of an older dpzo, whose constant-time runs with K = N slots set it for Δ = C where Δ = 2C.
   */
  trueSensitivity?: true;
}

/** Where a dataset-ledger release came from (dataset-ledger.ts): a run's id and its own ledger line's hash. */
export interface ReleaseOrigin {
  /** The run's id (its run.json `runId`; a random id for a trainer's run without a directory). */
  run: string;
  /** SHA-256 (hex) of the release's line in the run's own ledger. */
  hash: string;
}

/** A release as checked: every field present. */
export type Release = Omit<LedgerEntry, 'prevHash' | 'hash'>;

/** One release line of a privacy ledger (ledger.jsonl), as read back and checked: sealed with its SHA-256 and chained to the previous line. */
export interface LedgerEntry {
  /** Training step of the release. */
  step: number;
  /** The noise mechanism ('none': a non-private baseline's release, ε = ∞ from it on). */
  mechanism: 'gaussian' | 'laplace' | 'none';
  /** Poisson sampling rate q. */
  sampleRate: number;
  /** Gaussian: noise multiplier σ. */
  noiseMultiplier?: number;
  /** Laplace: scale b. */
  laplaceScale?: number;
  /** Clipping threshold C. */
  clip: number;
  /** Directions n released together in this step. */
  directions: number;
  /** In a dataset ledger: the run (`run`, its id) and the hash of the release's line in that run's own ledger (`hash`). */
  origin?: ReleaseOrigin;
  /** In a dataset ledger: the noise was set for the release's true Δ (absent in lines of an older dpzo; ReleaseInput.trueSensitivity). */
  trueSensitivity?: true;
  /** SHA-256 (hex) of the previous line's bytes. */
  prevHash: string;
  /** SHA-256 (hex) of this line's bytes up to (without) the hash field. */
  hash: string;
}

/** A ledger file's first line, as read (the package exports it as `LedgerHeader`; see `PrivacyLedger.header`). */
export interface Header {
  /** Always `'header'`. */
  type: 'header';
  /** The ledger format's version (a file of another version is refused). */
  version: number;
  /** When the ledger was created (ISO 8601). */
  created: string;
  /** The accountant that enforces the budget, sealed at creation. */
  accountant: AccountantKind;
  /** The (ε, δ) budget sealed at creation, or null: no limit. */
  budget: Budget | null;
}

export function sha256(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/** A line is its body (JSON without the hash) with `,"hash":"<sha256(body)>"` spliced before the closing brace. */
export function sealLine(body: Record<string, unknown>): { line: string; hash: string } {
  const text = JSON.stringify(body);
  const hash = sha256(text);
  return { line: `${text.slice(0, -1)},"hash":"${hash}"}`, hash };
}

const HASH_SUFFIX = /,"hash":"([0-9a-f]{64})"\}$/;

export function ledgerError(code: PrivacyErrorCode, file: string, msg: string): PrivacyError {
  return new PrivacyError(code, `privacy ledger ${file}: ${msg}`);
}

export function checkBudget(b: unknown): Budget {
  const o = b as Budget;
  if (typeof o !== 'object' || o === null) throw argumentError('budget', b, 'an object { epsilon, delta }');
  return { epsilon: checkEpsilon(o.epsilon, 'budget.epsilon'), delta: checkDelta(o.delta, 'budget.delta') };
}

const RELEASE_KEYS: Record<keyof ReleaseInput, true> = {
  step: true,
  mechanism: true,
  sampleRate: true,
  noiseMultiplier: true,
  laplaceScale: true,
  clip: true,
  directions: true,
  origin: true,
  trueSensitivity: true,
};

/**
 * A release given to append (or epsilonAfter, wouldExceed): checkRelease, and no field the ledger does not know. A misspelt
 * field was ignored: { directons: 4 } recorded directions 1. Only new input is held to this: a line read back keeps
 * tolerating fields an older dpzo wrote (its `time`), and its own type, prevHash and hash.
 */
export function checkReleaseInput(r: ReleaseInput, defaultStep: number): Release {
  if (typeof r === 'object' && r !== null) {
    const unknown = unknownKey(r, RELEASE_KEYS);
    if (unknown !== undefined) throw new PrivacyError('ERR_ARGUMENT', `release.${unknown} is not a field of a release (misspelt?)`);
  }
  return checkRelease(r, defaultStep);
}

export function checkRelease(r: ReleaseInput, defaultStep: number): Release {
  if (typeof r !== 'object' || r === null) throw argumentError('release', r, 'an object');
  const step = r.step ?? defaultStep;
  if (!Number.isSafeInteger(step) || step < 0) throw argumentError('release.step', step, 'a non-negative integer');
  const directions = r.directions ?? 1;
  if (!Number.isSafeInteger(directions) || directions < 1) throw argumentError('release.directions', directions, 'a positive integer');
  const sampleRate = checkSampleRate(r.sampleRate, false, 'release.sampleRate');
  const clip = checkPositive('release.clip', r.clip);
  const origin = {
    ...(r.origin === undefined ? {} : { origin: checkOrigin(r.origin) }),
    ...(r.trueSensitivity === undefined ? {} : { trueSensitivity: checkTrueSensitivity(r.trueSensitivity) }),
  };
  // no time field: per-release timestamps are a timing side channel (a step's duration grows with the
  // tokens in its Poisson batch); a `time` in a ledger written by an older version is ignored
  if (r.mechanism === 'gaussian') {
    if (r.laplaceScale !== undefined) throw argumentError('release.laplaceScale', r.laplaceScale, 'absent for a Gaussian release');
    return {
      step,
      mechanism: 'gaussian',
      sampleRate,
      // what the accountants take (checkMechanism): a σ they refuse was written to the file before they refused it,
      // leaving a line no open could read and the next append chained to the line before it
      noiseMultiplier: checkNoiseMultiplier(r.noiseMultiplier, 'release.noiseMultiplier'),
      clip,
      directions,
      ...origin,
    };
  }
  if (r.mechanism === 'laplace') {
    if (r.noiseMultiplier !== undefined) throw argumentError('release.noiseMultiplier', r.noiseMultiplier, 'absent for a Laplace release');
    return {
      step,
      mechanism: 'laplace',
      sampleRate,
      laplaceScale: checkLaplaceScale(r.laplaceScale, clip, 'release.laplaceScale'),
      clip,
      directions,
      ...origin,
    };
  }
  if (r.mechanism === 'none') {
    if (r.noiseMultiplier !== undefined || r.laplaceScale !== undefined)
      throw argumentError('release.mechanism', r.mechanism, 'a noisy mechanism when noise parameters are given');
    return { step, mechanism: 'none', sampleRate, clip, directions, ...origin };
  }
  throw argumentError('release.mechanism', r.mechanism, "'gaussian', 'laplace' or 'none'");
}

const HEX64 = /^[0-9a-f]{64}$/;
const RUN_ID = /^[0-9a-f-]{8,64}$/;

function checkOrigin(o: unknown): ReleaseOrigin {
  const v = o as ReleaseOrigin;
  if (typeof v !== 'object' || v === null || typeof v.run !== 'string' || !RUN_ID.test(v.run) || typeof v.hash !== 'string' || !HEX64.test(v.hash))
    throw argumentError('release.origin', 'a malformed value', 'an object { run: id, hash: 64 hex digits }');
  return { run: v.run, hash: v.hash };
}

function checkTrueSensitivity(v: unknown): true {
  if (v !== true) throw argumentError('release.trueSensitivity', v, 'true or absent');
  return true;
}

/** The accountant's view of a release (the noise multiplier is already relative to C; Laplace uses C and b). */
export function releaseMechanism(e: Pick<LedgerEntry, 'mechanism' | 'sampleRate' | 'noiseMultiplier' | 'laplaceScale' | 'clip'>): Mechanism {
  if (e.mechanism === 'none') return { kind: 'none', sampleRate: e.sampleRate };
  return e.mechanism === 'gaussian'
    ? { kind: 'gaussian', sampleRate: e.sampleRate, noiseMultiplier: e.noiseMultiplier as number }
    : { kind: 'laplace', sampleRate: e.sampleRate, clip: e.clip, scale: e.laplaceScale as number };
}

/**
 * The ledger line of step `step` releasing `m` (the inverse of releaseMechanism). C is recorded for both kinds;
 * a Laplace line records the mechanism's own sensitivity (m.clip: 2C with constant-time cuts), since the
 * accountant reads its ε0 = clip/b from the line.
 */
export function releaseOf(m: Mechanism, r: { step: number; clip: number; directions: number }): ReleaseInput {
  if (m.kind === 'none') return { step: r.step, mechanism: 'none', sampleRate: m.sampleRate, clip: r.clip, directions: r.directions };
  return m.kind === 'gaussian'
    ? { step: r.step, mechanism: 'gaussian', sampleRate: m.sampleRate, noiseMultiplier: m.noiseMultiplier, clip: r.clip, directions: r.directions }
    : { step: r.step, mechanism: 'laplace', sampleRate: m.sampleRate, laplaceScale: m.scale, clip: m.clip, directions: r.directions };
}

/** The sealed header line of a new ledger. */
export function headerLine(accountant: AccountantKind, budget: Budget | null): string {
  const header = { type: 'header', version: LEDGER_VERSION, created: new Date().toISOString(), accountant, budget, prevHash: GENESIS };
  return sealLine(header).line;
}

/** A line's object and hash, after checking that the hash seals its body. */
export function parseLine(file: string, line: string, lineNo: number): { obj: Record<string, unknown>; hash: string } {
  const m = HASH_SUFFIX.exec(line);
  if (!m) throw ledgerError('ERR_LEDGER_CORRUPT', file, `line ${lineNo} has no hash field at its end`);
  const body = `${line.slice(0, m.index)}}`;
  if (sha256(body) !== m[1]) throw ledgerError('ERR_LEDGER_CORRUPT', file, `line ${lineNo} was modified (its hash does not match its content)`);
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw ledgerError('ERR_LEDGER_CORRUPT', file, `line ${lineNo} is not valid JSON`);
  }
  return { obj, hash: m[1]! };
}

export function parseHeader(file: string, line: string): { header: Header; hash: string } {
  const { obj, hash } = parseLine(file, line, 1);
  if (obj.type !== 'header' || obj.prevHash !== GENESIS) throw ledgerError('ERR_LEDGER_CORRUPT', file, 'line 1 is not a ledger header');
  if (obj.version !== LEDGER_VERSION) throw ledgerError('ERR_LEDGER_CORRUPT', file, `unsupported ledger version ${String(obj.version)}`);
  const accountant = obj.accountant === 'rdp' ? 'rdp' : 'pld';
  let budget: Budget | null = null;
  if (obj.budget !== null && obj.budget !== undefined) budget = checkBudget(obj.budget);
  return { header: { type: 'header', version: LEDGER_VERSION, created: String(obj.created), accountant, budget }, hash };
}

/** Release line `lineNo` (≥ 2), checked against the hash of the line before it. */
export function parseRelease(file: string, line: string, lineNo: number, prevLineHash: string): LedgerEntry {
  const { obj, hash } = parseLine(file, line, lineNo);
  if (obj.prevHash !== prevLineHash) {
    throw ledgerError(
      'ERR_LEDGER_CORRUPT',
      file,
      `line ${lineNo} does not follow line ${lineNo - 1} (hash chain broken: a line was removed, inserted or edited)`,
    );
  }
  if (obj.type !== 'release') throw ledgerError('ERR_LEDGER_CORRUPT', file, `line ${lineNo} is not a release`);
  let e: Release;
  try {
    e = checkRelease(obj as unknown as ReleaseInput, 0);
  } catch (err) {
    throw ledgerError('ERR_LEDGER_CORRUPT', file, `line ${lineNo}: ${(err as Error).message}`);
  }
  return { ...e, prevHash: prevLineHash, hash };
}

/** The sealed line of a checked release following the line with hash `prevLineHash`. */
export function releaseLine(e: Release, prevLineHash: string): { line: string; entry: LedgerEntry } {
  const { line, hash } = sealLine({ type: 'release', ...e, prevHash: prevLineHash });
  return { line, entry: { ...e, prevHash: prevLineHash, hash } };
}
