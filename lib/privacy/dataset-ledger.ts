// defines: DatasetLedger — a privacy ledger per private dataset, outside every run directory:
// <home>/datasets/k-<key>/ledger.jsonl, key = HMAC of the training file's SHA-256 under the home's secret
// (dataset-key.ts: the plain hash would let one test guesses of the examples). Every release of every run
// on that file is appended to it too (with its run's id and the hash of the run ledger's line), so
//  - runs on the same private data compose: its ε is the dataset's, not one run's, and an optional
//    dataset budget refuses the release that would exceed it, whichever run makes it;
//  - a run directory cannot be rolled back unnoticed: the dataset ledger keeps, for each run, how
//    many releases it made and their hashes, and a run whose own ledger holds fewer or other lines
//    is refused (ERR_LEDGER_ROLLBACK).
// It is the same hash-chained file format and budget rule as a run's ledger (ledger.ts). What it
// cannot stop is a user who rewrites every file on their own machine (docs/privacy.md, threat model).
// An older dpzo named the directory by the plain SHA-256: the first writer moves it to its keyed name.
import { closeSync, existsSync, openSync, readSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';

import { fsyncDir } from '../io/fsync.js';
import { PldAccountant, RdpAccountant } from './accountant.js';
import { BudgetCheck } from './budget.js';
import { PrivacyError } from './errors.js';
import { unknownKey } from '../unknown-key.js';
import { KEYED_PREFIX, datasetKey } from './dataset-key.js';
import {
  type Budget,
  type LedgerEntry,
  type ReleaseInput,
  checkReleaseInput,
  ledgerError,
  parseHeader,
  parseRelease,
  releaseMechanism,
  sha256,
} from './ledger-format.js';
import { readJsonl } from '../io/jsonl.js';
import { type HistoryEntry, type Mechanism, pushHistory } from './mechanism.js';
import { PrivacyLedger } from './ledger.js';
import { type SpentResult, spentOf } from './spent.js';

/** Where dpzo keeps user-level state: $DPZO_HOME, else ~/.dpzo. */
export function dpzoHome(env: NodeJS.ProcessEnv = process.env): string {
  const h = env.DPZO_HOME;
  return h !== undefined && h !== '' ? h : join(homedir(), '.dpzo');
}

const LEDGER_FILE = 'ledger.jsonl';

function checkSha256(datasetHash: string): void {
  if (!/^[0-9a-f]{64}$/.test(datasetHash)) throw new PrivacyError('ERR_ARGUMENT', 'a dataset ledger is keyed by a SHA-256 (64 hex digits)');
}

/** An older dpzo's file for the dataset: named by the plain SHA-256. */
function legacyFile(home: string, datasetHash: string): string {
  return join(home, 'datasets', datasetHash, LEDGER_FILE);
}

/** The keyed file for the dataset (its key from the home's secret, which `create` makes when missing), or undefined without a secret. */
function keyedFile(home: string, datasetHash: string, create: boolean): string | undefined {
  const key = datasetKey(home, datasetHash, create);
  return key === undefined ? undefined : keyedDatasetLedgerFile(home, key);
}

/**
 * The dataset ledger file of the training file with SHA-256 `datasetHash` in `home`, or undefined when it has none:
 * the keyed file, else one an older dpzo left under the plain hash (a writer moves it to the keyed name). Makes nothing.
 */
export function datasetLedgerFile(home: string, datasetHash: string): string | undefined {
  checkSha256(datasetHash);
  const keyed = keyedFile(home, datasetHash, false);
  if (keyed !== undefined && existsSync(keyed)) return keyed;
  const legacy = legacyFile(home, datasetHash);
  return existsSync(legacy) ? legacy : undefined;
}

/** The keyed ledger file named by `key` (a {@link datasetKey}) in `home`, whether or not it exists. */
export function keyedDatasetLedgerFile(home: string, key: string): string {
  return join(home, 'datasets', KEYED_PREFIX + key, LEDGER_FILE);
}

/** The home a dataset ledger file lies in: the inverse of {@link datasetLedgerFile}. */
export function datasetLedgerHome(file: string): string {
  return dirname(dirname(dirname(file)));
}

/**
 * The keyed file a writer opens, made ready: an older dpzo's ledger of the same dataset is moved there first (one
 * rename of its directory, lock file and all), so that its releases keep counting; both there is an error.
 */
function writerFile(home: string, datasetHash: string): string {
  const keyed = keyedFile(home, datasetHash, true)!;
  const legacy = legacyFile(home, datasetHash);
  if (!existsSync(legacy)) return keyed;
  if (existsSync(keyed))
    throw ledgerError(
      'ERR_LEDGER_CORRUPT',
      keyed,
      `an older dpzo's ledger of the same training file is in ${legacy}: two ledgers of one dataset would each count part of its releases (merge or remove one by hand)`,
    );
  try {
    renameSync(dirname(legacy), dirname(keyed));
    fsyncDir(dirname(dirname(keyed)));
  } catch (e) {
    // moved meanwhile by another run: as good as moved here
    if (!existsSync(keyed)) throw ledgerError('ERR_IO', legacy, `cannot move it to ${dirname(keyed)} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return keyed;
}

/** Options of {@link DatasetLedger.open}. */
export interface DatasetLedgerOptions {
  /** $DPZO_HOME or ~/.dpzo by default. */
  home?: string;
  /** The dataset's budget: fixed when the ledger is created; a different one later is refused. */
  budget?: Budget;
  /** Open for reading only: no lock, nothing created, appends refused (default false). */
  readOnly?: boolean;
}

/** What the dataset ledger knows of one run: the hashes of its releases' lines in the run's own ledger, in order. */
export interface RunTrace {
  /** SHA-256 (hex) of each of the run's ledger lines the dataset ledger recorded, in step order. */
  hashes: string[];
}

/**
 * A privacy ledger per private training file, outside every run directory (`<home>/datasets/<sha256>/ledger.jsonl`, home = $DPZO_HOME or ~/.dpzo). Every
 * release of every run on that file is appended to it too, so runs on the same data compose (an optional dataset budget refuses the release that would exceed
 * it, whichever run makes it) and a rolled-back run directory is refused (`ERR_LEDGER_ROLLBACK`). It cannot stop a user who rewrites every file on their own
 * machine (docs/privacy.md).
 */
export class DatasetLedger {
  /** The history as {@link DatasetLedger.spent} and {@link DatasetLedger.wouldExceed} count it, when older unmarked lines make it differ from the file's. */
  private readonly worst: WorstCaseHistory | null;

  private constructor(
    /** The ledger's name: the keyed directory's `k-<key>` (or an older dpzo's plain SHA-256), not the training file's hash. */
    readonly name: string,
    /** The underlying hash-chained ledger (PLD accountant): every line at face value. */
    readonly ledger: PrivacyLedger,
  ) {
    this.worst = worstCaseHistory(ledger);
  }

  /**
   * Opens (creating it and the home's key, unless read-only) the ledger of the dataset with SHA-256 `datasetHash`; one writer at a time.
   * @throws {@link PrivacyError} `ERR_IO` read-only when there is none.
   */
  static async open(datasetHash: string, opts: DatasetLedgerOptions = {}): Promise<DatasetLedger> {
    // a misspelt name was ignored: { budgett } set no dataset budget
    const unknown = unknownKey(opts, ['home', 'budget', 'readOnly']);
    if (unknown !== undefined) throw new PrivacyError('ERR_ARGUMENT', `${unknown} is not an option of the dataset ledger (misspelt?)`);
    const home = opts.home ?? dpzoHome();
    checkSha256(datasetHash);
    if (opts.readOnly) {
      const found = datasetLedgerFile(home, datasetHash);
      if (found === undefined) throw new PrivacyError('ERR_IO', `no dataset ledger of this training file in ${home}`);
      return DatasetLedger.openFile(found, { readOnly: true });
    }
    return DatasetLedger.openFile(writerFile(home, datasetHash), opts.budget === undefined ? {} : { budget: opts.budget });
  }

  /** Opens the dataset ledger in `file` (the path run.json recorded): read-only, or (creating it) for a writer. */
  static async openFile(file: string, opts: Omit<DatasetLedgerOptions, 'home'> = {}): Promise<DatasetLedger> {
    const unknown = unknownKey(opts, ['budget', 'readOnly']);
    if (unknown !== undefined) throw new PrivacyError('ERR_ARGUMENT', `${unknown} is not an option of the dataset ledger (misspelt?)`);
    // a new ledger's header takes the requested budget; an existing one's header governs and must agree
    const fresh = !opts.readOnly && !existsSync(file);
    const ledger = await PrivacyLedger.open(file, {
      readOnly: opts.readOnly,
      create: !opts.readOnly,
      accountant: 'pld',
      ...(fresh && opts.budget ? { budget: opts.budget } : {}),
    });
    const changed = opts.budget === undefined ? undefined : budgetChange(file, ledger.budget, opts.budget);
    if (changed) {
      await ledger.close();
      throw changed;
    }
    return new DatasetLedger(basename(dirname(file)), ledger);
  }

  /**
   * Throws the error {@link DatasetLedger.open} would throw for `budget` on the existing ledger `file` whose header fixed
   * another: a dry run (DPZOTrainer.plan) refuses what the run would. Reads the header line only: no lock, nothing written
   * (the run's open verifies the whole file).
   * @throws {@link PrivacyError} `ERR_ARGUMENT` (another budget), `ERR_LEDGER_CORRUPT` (no header), `ERR_IO`.
   */
  static checkFixedBudget(file: string, budget: Budget): void {
    const changed = budgetChange(file, parseHeader(file, firstLine(file)).header.budget, budget);
    if (changed) throw changed;
  }

  /**
   * Whether the ledger `file` leaves no room for a new run: its dataset budget (fixed by an earlier run) would be exceeded by
   * one more `release` after every release recorded so far (lines of an older dpzo without the `trueSensitivity` mark at
   * Δ = 2C, as {@link DatasetLedger.wouldExceed} counts them). The budget, the ε spent at its δ and the release counts when it
   * would; undefined when the release fits or the ledger has no budget. A new run on such a file made its directory and
   * stopped 'budget' before step 0: DPZOTrainer.plan() refuses it with these numbers, before anything is made.
   * Reads the file only: no lock, nothing written (an incomplete last line, a write in progress or a crash's, is not counted,
   * as it was never acknowledged; the run's own open verifies the whole file again).
   * @throws {@link PrivacyError} `ERR_LEDGER_CORRUPT` (no header, a line or the hash chain that does not verify), `ERR_IO`.
   */
  static exceededBy(file: string, release: ReleaseInput): { budget: Budget; epsilon: number; releases: number; olderReleases: number } | undefined {
    const { lines } = readJsonl(file);
    if (lines.length === 0) throw ledgerError('ERR_LEDGER_CORRUPT', file, 'empty file (no header line)');
    const budget = parseHeader(file, lines[0]!).header.budget;
    if (budget === null) return undefined;
    const entries: LedgerEntry[] = [];
    for (let i = 1; i < lines.length; i++) entries.push(parseRelease(file, lines[i]!, i + 1, sha256(lines[i - 1]!)));
    const older = unmarkedReleases(entries);
    // the dataset ledger's accountant is PLD (openFile), and its budget rule BudgetCheck's: exceeded when ε(δ) > ε_budget
    const pld = new PldAccountant();
    for (const h of older.worstCase) pld.step(h.mechanism, h.times);
    const after = pld.clone().step(releaseMechanism(checkReleaseInput(release, entries.length)), 1);
    if (after.getEpsilon(budget.delta).epsilon <= budget.epsilon) return undefined;
    return { budget, epsilon: entries.length === 0 ? 0 : pld.getEpsilon(budget.delta).epsilon, releases: entries.length, olderReleases: older.releases };
  }

  /** The HMAC of the training file's hash the ledger is named by (dataset-key.ts); undefined for an older dpzo's plain-hash ledger (read-only). */
  get key(): string | undefined {
    return this.name.startsWith(KEYED_PREFIX) ? this.name.slice(KEYED_PREFIX.length) : undefined;
  }

  /** The ledger file. */
  get path(): string {
    return this.ledger.path;
  }

  /** The dataset budget (fixed when the ledger was created), or null. */
  get budget(): Budget | null {
    return this.ledger.budget;
  }

  /**
   * Whether one more `release` would exceed the dataset budget (false without one). Lines of an older dpzo without the
   * `trueSensitivity` mark count at Δ = 2C ({@link unmarkedReleases}): at face value a new run could spend budget those
   * releases may already have used.
   */
  wouldExceed(release: ReleaseInput): boolean {
    if (this.ledger.wouldExceed(release)) return true;
    const check = this.worst?.check;
    return check ? check.check(releaseMechanism(checkReleaseInput(release, this.ledger.length))).exceeds : false;
  }

  /**
   * ε spent on the dataset at δ by every run so far: the ledger's, except that lines of an older dpzo without the
   * `trueSensitivity` mark count at Δ = 2C ({@link unmarkedReleases}), the upper bound `dpzo account --dataset` states.
   * Their number is {@link DatasetLedger.unmarked}'s.
   */
  spent(delta: number): SpentResult {
    const w = this.worst;
    return w === null ? this.ledger.spent(delta) : spentOf(w.rdp, w.pld, delta, this.ledger.accountantKind);
  }

  /** The releases of run `runId` recorded so far. */
  trace(runId: string): RunTrace {
    const hashes: string[] = [];
    for (const e of this.ledger.entries) if (e.origin?.run === runId) hashes.push(e.origin.hash);
    return { hashes };
  }

  /** Distinct runs recorded. */
  runs(): string[] {
    return [...new Set(this.ledger.entries.flatMap((e) => (e.origin ? [e.origin.run] : [])))];
  }

  /**
   * Checks run `runId`'s own ledger entries against what this ledger recorded of it and returns the
   * entries the dataset ledger has not seen yet (a crash between the two appends leaves one). Nothing
   * is written here: the caller appends them with `record` once every other check has passed.
   */
  missingFrom(runId: string, runLedgerPath: string, runEntries: readonly LedgerEntry[]): LedgerEntry[] {
    const { hashes } = this.trace(runId);
    if (hashes.length > runEntries.length) {
      throw ledgerError(
        'ERR_LEDGER_ROLLBACK',
        runLedgerPath,
        `holds ${runEntries.length} releases but the dataset ledger ${this.path} recorded ${hashes.length} for this run: the run directory was rolled back or its files cut; its privacy loss is the dataset ledger's`,
      );
    }
    hashes.forEach((h, i) => {
      if (runEntries[i]!.hash !== h) {
        throw ledgerError(
          'ERR_LEDGER_ROLLBACK',
          runLedgerPath,
          `release ${i + 1} is not the one the dataset ledger ${this.path} recorded for this run (the run's ledger was rewritten)`,
        );
      }
    });
    return runEntries.slice(hashes.length);
  }

  /**
   * Appends run `runId`'s release `entry` (already in the run's ledger), subject to the dataset budget. The line is marked
   * `trueSensitivity`: its caller has checked that the run's noise was set for the release's true Δ (checkReleaseSensitivity).
   */
  async record(runId: string, entry: LedgerEntry): Promise<void> {
    const { prevHash: _p, hash, step: _s, ...release } = entry;
    const line = await this.ledger.append({ ...release, step: this.ledger.length, origin: { run: runId, hash }, trueSensitivity: true });
    if (this.worst) stepWorst(this.worst, releaseMechanism(line), 1);
  }

  /** The releases written by a dpzo older than the `trueSensitivity` mark: {@link unmarkedReleases}. */
  unmarked(): UnmarkedReleases {
    return unmarkedReleases(this.ledger.entries);
  }

  /** Releases the file and its lock. */
  close(): Promise<void> {
    return this.ledger.close();
  }
}

/** What {@link unmarkedReleases} finds. */
export interface UnmarkedReleases {
  /** How many releases lack the mark. */
  releases: number;
  /** Their origin run ids (`(no origin)` for a line without one). */
  runs: string[];
  /** The ledger's history with each of them taken at twice its recorded sensitivity (Gaussian σ/2, Laplace 2·clip). */
  worstCase: HistoryEntry[];
}

/**
 * The dataset-ledger releases written by a dpzo older than the `trueSensitivity` mark: their runs' noise may have been set for
 * Δ = C where the release had Δ = 2C (constant-time steps with K = N slots), which no line says.
 */
export function unmarkedReleases(entries: readonly LedgerEntry[]): UnmarkedReleases {
  const runs = new Set<string>();
  const worstCase: HistoryEntry[] = [];
  let releases = 0;
  for (const e of entries) {
    const m = releaseMechanism(e);
    if (e.trueSensitivity === true || m.kind === 'none') {
      pushHistory(worstCase, m, 1);
      continue;
    }
    releases++;
    runs.add(e.origin?.run ?? '(no origin)');
    pushHistory(worstCase, m.kind === 'gaussian' ? { ...m, noiseMultiplier: m.noiseMultiplier / 2 } : { ...m, clip: 2 * m.clip }, 1);
  }
  return { releases, runs: [...runs], worstCase };
}

/** The accountants (and budget rule) of a dataset ledger's history with its unmarked lines at Δ = 2C. */
interface WorstCaseHistory {
  rdp: RdpAccountant;
  pld: PldAccountant;
  check: BudgetCheck | null;
}

function stepWorst(w: WorstCaseHistory, m: Mechanism, times: number): void {
  w.rdp.step(m, times);
  w.pld.step(m, times);
  for (let i = 0; i < times; i++) w.check?.record(m);
}

/**
 * null when every line is marked (the ledger's own accountants then count it), else the accountants of {@link unmarkedReleases}'
 * worst case, which {@link DatasetLedger.record} keeps following.
 */
function worstCaseHistory(ledger: PrivacyLedger): WorstCaseHistory | null {
  const u = unmarkedReleases(ledger.entries);
  if (u.releases === 0) return null;
  const w: WorstCaseHistory = { rdp: new RdpAccountant(), pld: new PldAccountant(), check: null };
  if (ledger.budget !== null) {
    const kind = ledger.accountantKind;
    w.check = new BudgetCheck(ledger.budget, (m, extra, delta) => {
      const acc = kind === 'pld' ? w.pld.clone() : w.rdp.clone();
      acc.step(m, extra);
      return acc.getEpsilon(delta).epsilon;
    });
  }
  for (const h of u.worstCase) stepWorst(w, h.mechanism, h.times);
  return w;
}

/** The refusal of a dataset budget `wanted` other than the one the header of the ledger `file` fixed; undefined when they agree. */
function budgetChange(file: string, fixed: Budget | null, wanted: Budget): PrivacyError | undefined {
  if (sameBudget(fixed, wanted)) return undefined;
  return ledgerError(
    'ERR_ARGUMENT',
    file,
    `the dataset budget is ${describe(fixed)}: it is fixed when the dataset's first run starts and cannot become ${describe(wanted)}`,
  );
}

/** The first line of `file` (a ledger's header: well under 64 KiB), without reading the rest. */
function firstLine(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw ledgerError('ERR_IO', file, `cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const buf = Buffer.alloc(65536);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const text = buf.subarray(0, n).toString('utf8');
    const nl = text.indexOf('\n');
    return nl < 0 ? text : text.slice(0, nl);
  } finally {
    closeSync(fd);
  }
}

function sameBudget(a: Budget | null, b: Budget): boolean {
  return a !== null && a.epsilon === b.epsilon && a.delta === b.delta;
}

function describe(b: Budget | null): string {
  return b ? `ε ${b.epsilon} at δ ${b.delta}` : 'none';
}
