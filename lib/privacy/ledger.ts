// defines: PrivacyLedger — the append-only, hash-chained JSON-lines record of every noisy release; the accountant is
// always rebuilt from it, and a release that would exceed the budget is refused before it is written.

import { createHash } from 'node:crypto';
import { promises as fsp, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { argumentError, checkDelta, checkEpsilon, checkPositive, checkSampleRate, PrivacyBudgetExceededError, PrivacyError } from './errors.js';
import { PldAccountant, RdpAccountant, type AccountantKind } from './accountant.js';
import { mechanismKey, type Mechanism } from './mechanism.js';
import type { PldOptions } from './pld.js';
import { pureEpsilon } from './pure.js';

const GENESIS = '0'.repeat(64);
const VERSION = 1;

/** What the trainer records for one release (one DP-ZO step: n directions, one mechanism). */
export interface ReleaseInput {
  /** Training step (default: the number of releases so far). */
  step?: number;
  mechanism: 'gaussian' | 'laplace';
  sampleRate: number;
  noiseMultiplier?: number;
  laplaceScale?: number;
  clip: number;
  /** Number of directions n released together (recorded; the privacy of the step does not depend on it). */
  directions?: number;
}

export interface LedgerEntry {
  step: number;
  mechanism: 'gaussian' | 'laplace';
  sampleRate: number;
  noiseMultiplier?: number;
  laplaceScale?: number;
  clip: number;
  directions: number;
  /** SHA-256 (hex) of the previous line's bytes. */
  prevHash: string;
  /** SHA-256 (hex) of this line's bytes up to (without) the hash field. */
  hash: string;
}

export interface Budget {
  epsilon: number;
  delta: number;
}

export interface LedgerOpenOptions {
  /** Refuse releases that would bring ε(δ) above this (default: the budget stored when the ledger was created). */
  budget?: Budget;
  /** Accountant used for the budget (default: stored one, else 'pld'). */
  accountant?: AccountantKind;
  /** Create the file when missing (default true). */
  create?: boolean;
  /** Truncate an incomplete final line (no newline: a crash mid-write) instead of failing with ERR_LEDGER_TORN. */
  repairTornTail?: boolean;
  /** Open for reading only (no lock, no create, append throws). */
  readOnly?: boolean;
  /** A head recorded elsewhere (e.g. in a checkpoint): the file must still hold that line at that position. */
  expectHead?: { length: number; hash: string };
  pld?: PldOptions;
}

export interface SpentResult {
  epsilon: number;
  delta: number;
  accountant: AccountantKind;
  pld?: { epsilon: number; interval?: number };
  rdp?: { epsilon: number; order?: number };
  /** Pure ε (basic composition) when every release is Laplace. */
  pure?: number;
}

interface Header {
  type: 'header';
  version: number;
  created: string;
  accountant: AccountantKind;
  budget: Budget | null;
}

function sha256(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/** A line is its body (JSON without the hash) with `,"hash":"<sha256(body)>"` spliced before the closing brace. */
function sealLine(body: Record<string, unknown>): { line: string; hash: string } {
  const text = JSON.stringify(body);
  const hash = sha256(text);
  return { line: `${text.slice(0, -1)},"hash":"${hash}"}`, hash };
}

const HASH_SUFFIX = /,"hash":"([0-9a-f]{64})"\}$/;

function ledgerError(code: string, file: string, msg: string): PrivacyError {
  return new PrivacyError(code, `privacy ledger ${file}: ${msg}`);
}

function checkBudget(b: unknown): Budget {
  const o = b as Budget;
  if (typeof o !== 'object' || o === null) throw argumentError('budget', b, 'an object { epsilon, delta }');
  return { epsilon: checkEpsilon(o.epsilon, 'budget.epsilon'), delta: checkDelta(o.delta, 'budget.delta') };
}

function checkRelease(r: ReleaseInput, defaultStep: number): Omit<LedgerEntry, 'prevHash' | 'hash'> {
  if (typeof r !== 'object' || r === null) throw argumentError('release', r, 'an object');
  const step = r.step ?? defaultStep;
  if (!Number.isSafeInteger(step) || step < 0) throw argumentError('release.step', step, 'a non-negative integer');
  const directions = r.directions ?? 1;
  if (!Number.isSafeInteger(directions) || directions < 1) throw argumentError('release.directions', directions, 'a positive integer');
  const sampleRate = checkSampleRate(r.sampleRate, false, 'release.sampleRate');
  const clip = checkPositive('release.clip', r.clip);
  // no time field: per-release timestamps are a timing side channel (a step's duration grows with the
  // tokens in its Poisson batch); a `time` in a ledger written by an older version is ignored
  if (r.mechanism === 'gaussian') {
    if (r.laplaceScale !== undefined) throw argumentError('release.laplaceScale', r.laplaceScale, 'absent for a Gaussian release');
    return { step, mechanism: 'gaussian', sampleRate, noiseMultiplier: checkPositive('release.noiseMultiplier', r.noiseMultiplier), clip, directions };
  }
  if (r.mechanism === 'laplace') {
    if (r.noiseMultiplier !== undefined) throw argumentError('release.noiseMultiplier', r.noiseMultiplier, 'absent for a Laplace release');
    return { step, mechanism: 'laplace', sampleRate, laplaceScale: checkPositive('release.laplaceScale', r.laplaceScale), clip, directions };
  }
  throw argumentError('release.mechanism', r.mechanism, "'gaussian' or 'laplace'");
}

/** The accountant's view of a release (the noise multiplier is already relative to C; Laplace uses C and b). */
export function releaseMechanism(e: Pick<LedgerEntry, 'mechanism' | 'sampleRate' | 'noiseMultiplier' | 'laplaceScale' | 'clip'>): Mechanism {
  return e.mechanism === 'gaussian'
    ? { kind: 'gaussian', sampleRate: e.sampleRate, noiseMultiplier: e.noiseMultiplier as number }
    : { kind: 'laplace', sampleRate: e.sampleRate, clip: e.clip, scale: e.laplaceScale as number };
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    const h = await fsp.open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    // some file systems refuse fsync on directories; the file itself is synced
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class PrivacyLedger {
  readonly path: string;
  readonly accountantKind: AccountantKind;
  readonly budget: Budget | null;
  readonly created: string;
  private readonly _entries: LedgerEntry[] = [];
  private lastLineHash: string;
  private lastHash: string;
  private handle: fsp.FileHandle | null;
  private readonly lockPath: string | null;
  private readonly rdp = new RdpAccountant();
  private readonly pld: PldAccountant;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(file: string, header: Header, lastLine: string, lastHash: string, handle: fsp.FileHandle | null, lockPath: string | null, opts: LedgerOpenOptions) {
    this.path = file;
    this.created = header.created;
    this.accountantKind = opts.accountant ?? header.accountant;
    this.budget = opts.budget ? checkBudget(opts.budget) : header.budget;
    this.lastLineHash = sha256(lastLine);
    this.lastHash = lastHash;
    this.handle = handle;
    this.lockPath = lockPath;
    this.pld = new PldAccountant(opts.pld);
  }

  /** Opens (or creates) a ledger, verifies every line and its chain, and rebuilds the accountants. */
  static async open(file: string, options: LedgerOpenOptions = {}): Promise<PrivacyLedger> {
    const opts = { ...options };
    if (opts.accountant !== undefined && opts.accountant !== 'pld' && opts.accountant !== 'rdp') throw argumentError('accountant', opts.accountant, "'pld' or 'rdp'");
    if (opts.budget !== undefined) opts.budget = checkBudget(opts.budget);
    const abs = path.resolve(file);
    let lockPath: string | null = null;
    if (!opts.readOnly) lockPath = await PrivacyLedger.lock(abs);
    let handle: fsp.FileHandle | null = null;
    try {
      let exists = true;
      try {
        await fsp.access(abs, fsc.F_OK);
      } catch {
        exists = false;
      }
      if (!exists) {
        if (opts.readOnly || opts.create === false) throw ledgerError('ERR_IO', abs, 'no such file');
        await PrivacyLedger.createFile(abs, opts);
      }
      let text = await fsp.readFile(abs, 'utf8');
      if (text.length > 0 && !text.endsWith('\n')) {
        const cut = text.lastIndexOf('\n') + 1;
        if (!opts.repairTornTail || opts.readOnly || cut === 0) {
          throw ledgerError('ERR_LEDGER_TORN', abs, `the last line is incomplete (${Buffer.byteLength(text.slice(cut))} bytes without a newline: a crash during a write). ` +
            'That release was never acknowledged. To drop it, reopen with { repairTornTail: true } (CLI: --repair-torn-tail), which truncates only that incomplete line.');
        }
        await fsp.truncate(abs, Buffer.byteLength(text.slice(0, cut)));
        text = text.slice(0, cut);
      }
      const lines = text.split('\n');
      lines.pop(); // after the final newline
      if (lines.length === 0) throw ledgerError('ERR_LEDGER_CORRUPT', abs, 'empty file (no header line)');
      const { header, lastHash } = PrivacyLedger.verifyHeader(abs, lines[0]);
      handle = opts.readOnly ? null : await fsp.open(abs, 'a');
      const ledger = new PrivacyLedger(abs, header, lines[0], lastHash, handle, lockPath, opts);
      if (opts.repairTornTail && handle) await handle.sync();
      for (let i = 1; i < lines.length; i++) ledger.load(lines[i], i + 1);
      if (opts.expectHead) ledger.checkHead(opts.expectHead);
      return ledger;
    } catch (e) {
      // a corrupt or mismatched ledger must not leave its file handle or lock behind
      await handle?.close().catch(() => undefined);
      if (lockPath) await fsp.rm(lockPath, { force: true });
      throw e;
    }
  }

  /** One writer at a time: a lock file holding the writer's pid (a stale lock of a dead process is taken over). */
  private static async lock(abs: string): Promise<string> {
    const lockPath = `${abs}.lock`;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await fsp.writeFile(lockPath, `${process.pid}\n`, { flag: 'wx' });
        return lockPath;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ledgerError('ERR_IO', abs, `cannot create lock ${lockPath}: ${(e as Error).message}`);
        const pid = Number.parseInt(await fsp.readFile(lockPath, 'utf8').catch(() => ''), 10);
        if (Number.isInteger(pid) && (pid === process.pid || pidAlive(pid))) {
          throw ledgerError('ERR_LEDGER_LOCKED', abs, `opened for writing by process ${pid} (lock ${lockPath})`);
        }
        await fsp.rm(lockPath, { force: true });
      }
    }
    throw ledgerError('ERR_LEDGER_LOCKED', abs, `cannot take lock ${lockPath}`);
  }

  /** Writes the header to a temporary file and links it into place, so a ledger file always starts complete. */
  private static async createFile(abs: string, opts: LedgerOpenOptions): Promise<void> {
    const header: Omit<Header, 'type'> & { type: 'header'; prevHash: string } = {
      type: 'header',
      version: VERSION,
      created: new Date().toISOString(),
      accountant: opts.accountant ?? 'pld',
      budget: opts.budget ?? null,
      prevHash: GENESIS,
    };
    const { line } = sealLine(header as unknown as Record<string, unknown>);
    await fsp.mkdir(path.dirname(abs), { recursive: true });
    const tmp = `${abs}.${process.pid}.tmp`;
    const h = await fsp.open(tmp, 'w');
    try {
      await h.writeFile(`${line}\n`, 'utf8');
      await h.sync();
    } finally {
      await h.close();
    }
    try {
      await fsp.link(tmp, abs); // fails if another process created it meanwhile
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ledgerError('ERR_IO', abs, (e as Error).message);
    } finally {
      await fsp.rm(tmp, { force: true });
    }
    await fsyncDir(path.dirname(abs));
  }

  private static parseLine(abs: string, line: string, lineNo: number): { obj: Record<string, unknown>; hash: string } {
    const m = HASH_SUFFIX.exec(line);
    if (!m) throw ledgerError('ERR_LEDGER_CORRUPT', abs, `line ${lineNo} has no hash field at its end`);
    const body = `${line.slice(0, m.index)}}`;
    if (sha256(body) !== m[1]) throw ledgerError('ERR_LEDGER_CORRUPT', abs, `line ${lineNo} was modified (its hash does not match its content)`);
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw ledgerError('ERR_LEDGER_CORRUPT', abs, `line ${lineNo} is not valid JSON`);
    }
    return { obj, hash: m[1] };
  }

  private static verifyHeader(abs: string, line: string): { header: Header; lastHash: string } {
    const { obj, hash } = PrivacyLedger.parseLine(abs, line, 1);
    if (obj.type !== 'header' || obj.prevHash !== GENESIS) throw ledgerError('ERR_LEDGER_CORRUPT', abs, 'line 1 is not a ledger header');
    if (obj.version !== VERSION) throw ledgerError('ERR_LEDGER_CORRUPT', abs, `unsupported ledger version ${String(obj.version)}`);
    const accountant = obj.accountant === 'rdp' ? 'rdp' : 'pld';
    let budget: Budget | null = null;
    if (obj.budget !== null && obj.budget !== undefined) budget = checkBudget(obj.budget);
    return { header: { type: 'header', version: VERSION, created: String(obj.created), accountant, budget }, lastHash: hash };
  }

  private load(line: string, lineNo: number): void {
    const { obj, hash } = PrivacyLedger.parseLine(this.path, line, lineNo);
    if (obj.prevHash !== this.lastLineHash) {
      throw ledgerError('ERR_LEDGER_CORRUPT', this.path, `line ${lineNo} does not follow line ${lineNo - 1} (hash chain broken: a line was removed, inserted or edited)`);
    }
    if (obj.type !== 'release') throw ledgerError('ERR_LEDGER_CORRUPT', this.path, `line ${lineNo} is not a release`);
    let e: Omit<LedgerEntry, 'prevHash' | 'hash'>;
    try {
      e = checkRelease(obj as unknown as ReleaseInput, 0);
    } catch (err) {
      throw ledgerError('ERR_LEDGER_CORRUPT', this.path, `line ${lineNo}: ${(err as Error).message}`);
    }
    this.record({ ...e, prevHash: obj.prevHash as string, hash }, line);
  }

  private record(entry: LedgerEntry, line: string): void {
    this._entries.push(entry);
    const m = releaseMechanism(entry);
    this.rdp.step(m);
    this.pld.step(m);
    const key = mechanismKey(m);
    this.runLength = key === this.runKey ? this.runLength + 1 : 1;
    this.runKey = key;
    this.lastLineHash = sha256(line);
    this.lastHash = entry.hash;
  }

  private checkHead(head: { length: number; hash: string }): void {
    const e = head.length === 0 ? null : this._entries[head.length - 1];
    if (head.length > this._entries.length || (e && e.hash !== head.hash)) {
      throw ledgerError('ERR_LEDGER_CORRUPT', this.path, `expected release ${head.length} with hash ${head.hash}; the file holds ${this._entries.length} releases` +
        (e ? ` and release ${head.length} has hash ${e.hash}` : '') + ' (lines were removed from its end or rewritten)');
    }
  }

  /** ε(δ) of the current history plus `release`, with the ledger's accountant. */
  epsilonAfter(release: ReleaseInput, delta: number): number {
    const e = checkRelease(release, this._entries.length);
    return this.epsilonWithExtra(releaseMechanism(e), 1, delta);
  }

  private epsilonWithExtra(m: Mechanism, extra: number, delta: number): number {
    const acc = this.accountantKind === 'pld' ? this.pld.clone() : this.rdp.clone();
    acc.step(m, extra);
    return acc.getEpsilon(delta).epsilon;
  }

  /**
   * Budget check for one more release of `m`, cheap in the common case. For the current run of identical releases of
   * `m` (after a fixed base history) it keeps okRun, a run length whose ε is within the budget, and badRun, one whose ε
   * is not. Sound: the true ε grows with the run (composition only adds loss) and the accountant's ε bounds it from
   * above, so every run up to okRun is within the budget. okRun grows by doubling (one composition each time), and once
   * a badRun is known the boundary is bisected, so the refusal comes at the first run length the accountant rejects
   * (for an accountant whose ε is monotone in the run, as both are): O(log T) compositions over a whole training run.
   */
  private checkBudget(m: Mechanism): { exceeds: boolean; epsilon: number | null } {
    const budget = this.budget as Budget;
    const key = mechanismKey(m);
    const run = this.runKey === key ? this.runLength : 0;
    const baseLength = this._entries.length - run;
    let h = this.headroom;
    if (!h || h.key !== key || h.baseLength !== baseLength) {
      h = { key, baseLength, okRun: run, badRun: Infinity, badEpsilon: NaN };
      this.headroom = h;
    }
    const want = run + 1;
    const epsilonAtRun = (k: number) => this.epsilonWithExtra(m, k - run, budget.delta);
    if (want > h.okRun && want < h.badRun && h.badRun === Infinity) {
      const k = 2 * want; // gallop: doubling keeps the count of compositions logarithmic in the run
      const e = epsilonAtRun(k);
      if (e <= budget.epsilon) h.okRun = k;
      else Object.assign(h, { badRun: k, badEpsilon: e });
    }
    while (want > h.okRun && want < h.badRun) {
      const mid = Math.floor((h.okRun + h.badRun) / 2);
      const e = epsilonAtRun(mid);
      if (e <= budget.epsilon) h.okRun = mid;
      else Object.assign(h, { badRun: mid, badEpsilon: e });
    }
    if (want <= h.okRun) return { exceeds: false, epsilon: null };
    return { exceeds: true, epsilon: want === h.badRun ? h.badEpsilon : null };
  }

  private headroom: { key: string; baseLength: number; okRun: number; badRun: number; badEpsilon: number } | null = null;
  /** The trailing run of identical releases: its mechanism key and length. */
  private runKey = '';
  private runLength = 0;

  /** Whether appending `release` would bring ε(δ_budget) above the budget (false without a budget). */
  wouldExceed(release: ReleaseInput): boolean {
    const e = checkRelease(release, this._entries.length);
    if (!this.budget) return false;
    return this.checkBudget(releaseMechanism(e)).exceeds;
  }

  /** Appends one release: checked against the budget first, then written as one line and fsynced. */
  append(release: ReleaseInput): Promise<LedgerEntry> {
    const run = this.queue.then(() => this.appendNow(release));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async appendNow(release: ReleaseInput): Promise<LedgerEntry> {
    if (!this.handle) throw ledgerError('ERR_ARGUMENT', this.path, this._closed ? 'closed' : 'opened read-only');
    const e = checkRelease(release, this._entries.length);
    if (this.budget) {
      const check = this.checkBudget(releaseMechanism(e));
      if (check.exceeds) {
        const eps = check.epsilon ?? this.epsilonAfter(release, this.budget.delta);
        throw new PrivacyBudgetExceededError(
          `release at step ${e.step} refused: epsilon would be ${eps.toPrecision(6)} > budget ${this.budget.epsilon} at delta=${this.budget.delta} (${this.accountantKind} accountant, ${this._entries.length} releases so far)`,
          eps, this.budget);
      }
    }
    const body: Record<string, unknown> = { type: 'release', ...e, prevHash: this.lastLineHash };
    const { line, hash } = sealLine(body);
    const buf = Buffer.from(`${line}\n`, 'utf8');
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await this.handle.write(buf, off, buf.length - off);
      off += bytesWritten;
    }
    await this.handle.sync();
    const entry: LedgerEntry = { ...e, prevHash: this.lastLineHash, hash };
    this.record(entry, line);
    return entry;
  }

  private _closed = false;

  /** ε spent at δ (default: the budget's δ), by the ledger's accountant, with both accountants' values. */
  spent(delta?: number): SpentResult {
    const d = delta ?? this.budget?.delta;
    if (d === undefined) throw argumentError('delta', d, 'given (the ledger has no budget to take it from)');
    checkDelta(d);
    const rdp = this.rdp.getEpsilon(d);
    const pld = this.pld.getEpsilon(d);
    const out: SpentResult = {
      epsilon: this.accountantKind === 'pld' ? pld.epsilon : rdp.epsilon,
      delta: d,
      accountant: this.accountantKind,
      pld: { epsilon: pld.epsilon, interval: pld.interval },
      rdp: { epsilon: rdp.epsilon, order: rdp.order },
    };
    const pure = pureEpsilon(this.rdp.history);
    if (this._entries.length > 0 && Number.isFinite(pure)) out.pure = pure;
    return out;
  }

  get entries(): readonly LedgerEntry[] {
    return this._entries;
  }

  get length(): number {
    return this._entries.length;
  }

  /** The last release and its hash: store it with a checkpoint and pass it back as `expectHead`. */
  get head(): { length: number; hash: string } {
    return { length: this._entries.length, hash: this._entries.length ? this.lastHash : '' };
  }

  /** A copy of the accountant of the given kind rebuilt from the ledger. */
  accountant(kind: AccountantKind = this.accountantKind): RdpAccountant | PldAccountant {
    return kind === 'pld' ? this.pld.clone() : this.rdp.clone();
  }

  async close(): Promise<void> {
    await this.queue;
    if (this.handle) {
      await this.handle.close();
      this.handle = null;
    }
    if (this.lockPath) await fsp.rm(this.lockPath, { force: true });
    this._closed = true;
  }
}
