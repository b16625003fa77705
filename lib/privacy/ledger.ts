// defines: PrivacyLedger — the append-only, hash-chained record of every noisy release (format:
// ledger-format.ts; storage: ledger-store.ts, a file or memory). The accountants are always rebuilt from
// it, and a release that would exceed the budget (budget.ts) is refused before it is stored.
import { PldAccountant, RdpAccountant, type AccountantKind } from './accountant.js';
import { BudgetCheck } from './budget.js';
import { argumentError, checkDelta, PrivacyBudgetExceededError, PrivacyError } from './errors.js';
import { unknownKey } from '../unknown-key.js';
import {
  type Budget,
  type Header,
  type LedgerEntry,
  type ReleaseInput,
  checkBudget,
  checkReleaseInput,
  headerLine,
  ledgerError,
  parseHeader,
  parseRelease,
  releaseLine,
  releaseMechanism,
  sha256,
} from './ledger-format.js';
import { type LedgerStore, memoryStore, openFileStore } from './ledger-store.js';
import type { Mechanism } from './mechanism.js';
import type { PldOptions } from './pld.js';
import { type SpentResult, spentOf } from './spent.js';

export type { Budget, LedgerEntry, ReleaseInput } from './ledger-format.js';
export { releaseMechanism } from './ledger-format.js';
export type { SpentResult } from './spent.js';

/** Options of {@link PrivacyLedger.open}. */
export interface LedgerOpenOptions {
  /** Refuse releases that would bring ε(δ) above this (default: the budget stored when the ledger was created). */
  budget?: Budget;
  /** Accountant used for the budget (default: stored one, else 'pld'). */
  accountant?: AccountantKind;
  /** Create the file when missing (default true). */
  create?: boolean;
  /**
   * Truncate an incomplete final line (no newline: a crash mid-write) instead of failing with ERR_LEDGER_TORN.
   * 'defer': keep it until repairTornTail() (all-or-nothing repairs: check everything, then change the files).
   */
  repairTornTail?: boolean | 'defer';
  /** Open for reading only (no lock, no create, append throws). */
  readOnly?: boolean;
  /** A head recorded elsewhere (e.g. in a checkpoint): the file must still hold that line at that position. */
  expectHead?: { length: number; hash: string };
  /** Options of the ledger's PLD accountant. */
  pld?: PldOptions;
}

const OPTION_KEYS: Record<keyof LedgerOpenOptions, true> = {
  budget: true,
  accountant: true,
  create: true,
  repairTornTail: true,
  readOnly: true,
  expectHead: true,
  pld: true,
};

function checkOptions(options: LedgerOpenOptions): LedgerOpenOptions {
  // a misspelt name was ignored: { budgett } enforced no budget, { readonly } opened the file for writing
  const unknown = unknownKey(options ?? {}, OPTION_KEYS);
  if (unknown !== undefined) throw new PrivacyError('ERR_ARGUMENT', `${unknown} is not an option of the ledger (misspelt?)`);
  const opts = { ...options };
  if (opts.accountant !== undefined && opts.accountant !== 'pld' && opts.accountant !== 'rdp')
    throw argumentError('accountant', opts.accountant, "'pld' or 'rdp'");
  if (opts.budget !== undefined) opts.budget = checkBudget(opts.budget);
  return opts;
}

/**
 * The append-only, hash-chained record of every noisy release (ledger.jsonl: a header line, then one sealed line per release). The accountants are rebuilt
 * from it on open, and a release that would exceed the budget is refused before it is stored: the trainer appends a step's line (fsynced) before it applies
 * the update. A file ledger is locked against a second writer.
 *
 * @example
 * ```ts
 * import { PrivacyLedger } from 'dpzo';
 *
 * const ledger = await PrivacyLedger.open('runs/a/ledger.jsonl', { readOnly: true });
 * console.log(ledger.length, ledger.spent(1e-5).epsilon);
 * await ledger.close();
 * ```
 */
export class PrivacyLedger {
  /** The ledger file, or `(memory)` for a ledger in memory. */
  readonly path: string;
  /** The accountant that enforces the budget. */
  readonly accountantKind: AccountantKind;
  /** The budget enforced (the options' or the header's), or null: no limit. */
  readonly budget: Budget | null;
  /** Creation time from the header (ISO 8601). */
  readonly created: string;
  /** The budget and accountant sealed in the file's header (the options may override them for enforcement). */
  readonly header: Header;
  private readonly _entries: LedgerEntry[] = [];
  private lastLineHash: string;
  private lastHash: string;
  private readonly store: LedgerStore;
  private readonly rdp = new RdpAccountant();
  private readonly pld: PldAccountant;
  private readonly budgetCheck: BudgetCheck | null;
  private queue: Promise<unknown> = Promise.resolve();
  private _closed = false;

  private constructor(store: LedgerStore, header: Header, headerHash: string, opts: LedgerOpenOptions) {
    this.store = store;
    this.path = store.path;
    this.created = header.created;
    this.header = header;
    this.accountantKind = opts.accountant ?? header.accountant;
    this.budget = opts.budget ?? header.budget;
    this.lastLineHash = sha256(store.lines[0]!);
    this.lastHash = headerHash;
    this.pld = new PldAccountant(opts.pld);
    this.budgetCheck = this.budget ? new BudgetCheck(this.budget, (m, extra, delta) => this.epsilonWithExtra(m, extra, delta)) : null;
  }

  /**
   * Opens (or creates) a ledger file, verifies every line and its chain, and rebuilds the accountants.
   *
   * @throws {@link PrivacyError} `ERR_LEDGER_CORRUPT` (a line or the hash chain does not verify), `ERR_LEDGER_TORN` (an incomplete
   * last line, unless repairTornTail), `ERR_LEDGER_LOCKED` (another process writes it), `ERR_IO`, `ERR_ARGUMENT` (bad options).
   */
  static async open(file: string, options: LedgerOpenOptions = {}): Promise<PrivacyLedger> {
    const opts = checkOptions(options);
    const store = await openFileStore(file, { ...opts, header: () => headerLine(opts.accountant ?? 'pld', opts.budget ?? null) });
    try {
      return PrivacyLedger.load(store, opts);
    } catch (e) {
      await store.close();
      throw e;
    }
  }

  /** A ledger in memory (an API run without a run directory): the same lines, checks and budget rule, nothing written. */
  static inMemory(options: Omit<LedgerOpenOptions, 'create' | 'repairTornTail' | 'readOnly' | 'expectHead'> = {}): PrivacyLedger {
    const opts = checkOptions(options);
    return PrivacyLedger.load(memoryStore(headerLine(opts.accountant ?? 'pld', opts.budget ?? null)), opts);
  }

  private static load(store: LedgerStore, opts: LedgerOpenOptions): PrivacyLedger {
    const { header, hash } = parseHeader(store.path, store.lines[0]!);
    const ledger = new PrivacyLedger(store, header, hash, opts);
    for (let i = 1; i < store.lines.length; i++) ledger.record(parseRelease(store.path, store.lines[i]!, i + 1, ledger.lastLineHash), store.lines[i]!);
    if (opts.expectHead) ledger.checkHead(opts.expectHead);
    return ledger;
  }

  private record(entry: LedgerEntry, line: string): void {
    this._entries.push(entry);
    const m = releaseMechanism(entry);
    this.rdp.step(m);
    this.pld.step(m);
    this.budgetCheck?.record(m);
    this.lastLineHash = sha256(line);
    this.lastHash = entry.hash;
  }

  private checkHead(head: { length: number; hash: string }): void {
    const e = head.length === 0 ? null : this._entries[head.length - 1];
    if (head.length > this._entries.length || (e && e.hash !== head.hash)) {
      throw ledgerError(
        'ERR_LEDGER_CORRUPT',
        this.path,
        `expected release ${head.length} with hash ${head.hash}; the file holds ${this._entries.length} releases` +
          (e ? ` and release ${head.length} has hash ${e.hash}` : '') +
          ' (lines were removed from its end or rewritten)',
      );
    }
  }

  /** ε(δ) of the current history plus `release`, with the ledger's accountant. */
  epsilonAfter(release: ReleaseInput, delta: number): number {
    const e = checkReleaseInput(release, this._entries.length);
    return this.epsilonWithExtra(releaseMechanism(e), 1, delta);
  }

  private epsilonWithExtra(m: Mechanism, extra: number, delta: number): number {
    const acc = this.accountantKind === 'pld' ? this.pld.clone() : this.rdp.clone();
    acc.step(m, extra);
    return acc.getEpsilon(delta).epsilon;
  }

  /** Whether appending `release` would bring ε(δ_budget) above the budget (false without a budget). */
  wouldExceed(release: ReleaseInput): boolean {
    const e = checkReleaseInput(release, this._entries.length);
    if (!this.budgetCheck) return false;
    return this.budgetCheck.check(releaseMechanism(e)).exceeds;
  }

  /**
   * Appends one release: checked against the budget first, then stored (a file: one line, fsynced).
   *
   * @throws {@link PrivacyBudgetExceededError} when it would bring ε above the budget (nothing is written); {@link PrivacyError}
   * `ERR_ARGUMENT` for a malformed release (a field a release does not have, a step other than the ledger's length), `ERR_IO`.
   */
  append(release: ReleaseInput): Promise<LedgerEntry> {
    const run = this.queue.then(() => this.appendNow(release));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private appendNow(release: ReleaseInput): LedgerEntry {
    if (this._closed || this.store.readOnly) throw ledgerError('ERR_ARGUMENT', this.path, this._closed ? 'closed' : 'opened read-only');
    const e = checkReleaseInput(release, this._entries.length);
    // a release's step is its index (0, 1, 2, …): what the trainer and the dataset ledger write, and what a resume checks
    // (run-integrity.ts: ERR_LEDGER_MISMATCH). A step that went back or jumped was written, and left a run no resume accepts.
    // Not checked by wouldExceed/epsilonAfter: the dataset ledger asks them about a run's release, numbered in the run.
    if (e.step !== this._entries.length) throw argumentError('release.step', e.step, `${this._entries.length}, the number of releases before it (or absent)`);
    if (this.budgetCheck && this.budget) {
      const check = this.budgetCheck.check(releaseMechanism(e));
      if (check.exceeds) {
        const eps = check.epsilon ?? this.epsilonAfter(release, this.budget.delta);
        throw new PrivacyBudgetExceededError(
          `release at step ${e.step} refused: epsilon would be ${eps.toPrecision(6)} > budget ${this.budget.epsilon} at delta=${this.budget.delta} (${this.accountantKind} accountant, ${this._entries.length} releases so far)`,
          eps,
          this.budget,
        );
      }
    }
    const { line, entry } = releaseLine(e, this.lastLineHash);
    // durable first, then counted: a failed append (ERR_IO: disk full, read-only) leaves the history as the file holds it, so
    // the same step can be retried and the next line chains onto a line that exists (test/unit/privacy/ledger-mutants.test.ts)
    this.store.append(line);
    this.record(entry, line);
    return entry;
  }

  /** True while a torn tail accepted with repairTornTail: 'defer' is still in the file. */
  get tornTail(): boolean {
    return this.store.tornTail;
  }

  /** Cuts a deferred torn tail (see LedgerOpenOptions.repairTornTail). */
  repairTornTail(): void {
    this.store.repairTail();
  }

  /**
   * ε spent at δ (default: the budget's δ), by the ledger's accountant, with both accountants' values; with no releases ε is 0
   * by each, with no PLD interval nor RDP order (see {@link SpentResult}).
   */
  spent(delta?: number): SpentResult {
    const d = delta ?? this.budget?.delta;
    if (d === undefined) throw argumentError('delta', d, 'given (the ledger has no budget to take it from)');
    checkDelta(d);
    return spentOf(this.rdp, this.pld, d, this.accountantKind);
  }

  /** Every release so far, in order. */
  get entries(): readonly LedgerEntry[] {
    return this._entries;
  }

  /** Number of releases. */
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

  /** Waits for pending appends, then releases the file and its lock. Idempotent. */
  async close(): Promise<void> {
    await this.queue;
    if (!this._closed) await this.store.close();
    this._closed = true;
  }
}
