// defines: DatasetLedger — a privacy ledger per private dataset, outside every run directory:
// <home>/datasets/<sha256 of the training file>/ledger.jsonl. Every release of every run on that
// file is appended to it too (with its run's id and the hash of the run ledger's line), so
//  - runs on the same private data compose: its ε is the dataset's, not one run's, and an optional
//    dataset budget refuses the release that would exceed it, whichever run makes it;
//  - a run directory cannot be rolled back unnoticed: the dataset ledger keeps, for each run, how
//    many releases it made and their hashes, and a run whose own ledger holds fewer or other lines
//    is refused (ERR_LEDGER_ROLLBACK).
// It is the same hash-chained file format and budget rule as a run's ledger (ledger.ts). What it
// cannot stop is a user who rewrites every file on their own machine (docs/privacy.md, threat model).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

import { PrivacyError } from './errors.js';
import { unknownKey } from '../unknown-key.js';
import { type Budget, type LedgerEntry, type ReleaseInput, ledgerError } from './ledger-format.js';
import { PrivacyLedger } from './ledger.js';

/** Where dpzo keeps user-level state: $DPZO_HOME, else ~/.dpzo. */
export function dpzoHome(env: NodeJS.ProcessEnv = process.env): string {
  const h = env.DPZO_HOME;
  return h !== undefined && h !== '' ? h : join(homedir(), '.dpzo');
}

/** The dataset ledger file of the training file with SHA-256 `datasetHash`. */
export function datasetLedgerFile(home: string, datasetHash: string): string {
  if (!/^[0-9a-f]{64}$/.test(datasetHash)) throw new PrivacyError('ERR_ARGUMENT', 'a dataset ledger is keyed by a SHA-256 (64 hex digits)');
  return join(home, 'datasets', datasetHash, 'ledger.jsonl');
}

/** The home a dataset ledger file lies in: the inverse of {@link datasetLedgerFile}. */
export function datasetLedgerHome(file: string): string {
  return dirname(dirname(dirname(file)));
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
  hashes: string[];
}

/**
 * A privacy ledger per private training file, outside every run directory (`<home>/datasets/<sha256>/ledger.jsonl`, home = $DPZO_HOME or ~/.dpzo). Every
 * release of every run on that file is appended to it too, so runs on the same data compose (an optional dataset budget refuses the release that would exceed
 * it, whichever run makes it) and a rolled-back run directory is refused (`ERR_LEDGER_ROLLBACK`). It cannot stop a user who rewrites every file on their own
 * machine (docs/privacy.md).
 */
export class DatasetLedger {
  private constructor(
    /** SHA-256 (hex) of the training file this ledger belongs to. */
    readonly datasetHash: string,
    /** The underlying hash-chained ledger (PLD accountant). */
    readonly ledger: PrivacyLedger,
  ) {}

  /** Opens (creating it, unless read-only) the ledger of the dataset with SHA-256 `datasetHash`; one writer at a time. */
  static async open(datasetHash: string, opts: DatasetLedgerOptions = {}): Promise<DatasetLedger> {
    // a misspelt name was ignored: { budgett } set no dataset budget
    const unknown = unknownKey(opts, ['home', 'budget', 'readOnly']);
    if (unknown !== undefined) throw new PrivacyError('ERR_ARGUMENT', `${unknown} is not an option of the dataset ledger (misspelt?)`);
    const file = datasetLedgerFile(opts.home ?? dpzoHome(), datasetHash);
    // a new ledger's header takes the requested budget; an existing one's header governs and must agree
    const fresh = !opts.readOnly && !existsSync(file);
    const ledger = await PrivacyLedger.open(file, {
      readOnly: opts.readOnly,
      create: !opts.readOnly,
      accountant: 'pld',
      ...(fresh && opts.budget ? { budget: opts.budget } : {}),
    });
    if (opts.budget !== undefined && !sameBudget(ledger.budget, opts.budget)) {
      await ledger.close();
      throw ledgerError(
        'ERR_ARGUMENT',
        file,
        `the dataset budget is ${describe(ledger.budget)}: it is fixed when the dataset's first run starts and cannot become ${describe(opts.budget)}`,
      );
    }
    return new DatasetLedger(datasetHash, ledger);
  }

  /** The ledger file. */
  get path(): string {
    return this.ledger.path;
  }

  /** The dataset budget (fixed when the ledger was created), or null. */
  get budget(): Budget | null {
    return this.ledger.budget;
  }

  /** Whether one more `release` would exceed the dataset budget (false without one). */
  wouldExceed(release: ReleaseInput): boolean {
    return this.ledger.wouldExceed(release);
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

  /** Appends run `runId`'s release `entry` (already in the run's ledger), subject to the dataset budget. */
  async record(runId: string, entry: LedgerEntry): Promise<void> {
    const { prevHash: _p, hash, step: _s, ...release } = entry;
    await this.ledger.append({ ...release, step: this.ledger.length, origin: { run: runId, hash } });
  }

  /** Releases the file and its lock. */
  close(): Promise<void> {
    return this.ledger.close();
  }
}

function sameBudget(a: Budget | null, b: Budget): boolean {
  return a !== null && a.epsilon === b.epsilon && a.delta === b.delta;
}

function describe(b: Budget | null): string {
  return b ? `ε ${b.epsilon} at δ ${b.delta}` : 'none';
}
