// defines: where a privacy ledger's lines live — the storage seam of PrivacyLedger. A file store (one writer
// at a time under a lock file holding the writer's pid and start time; created whole by link(2); lines appended
// through lib/io's AppendLog, each fsynced; a torn tail refused, or cut on request) or a memory store (API runs without a run directory:
// the same lines and checks, nothing written).
import { randomUUID } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';

import { fsyncDir } from '../io/fsync.js';
import { makeDirectories } from '../io/mkdirs.js';
import { AppendLog, cutTornTail, readJsonl } from '../io/jsonl.js';
import { ledgerError } from './ledger-format.js';

export interface LedgerStore {
  /** The file (absolute), or '(memory)'. */
  readonly path: string;
  /** The complete lines held when the store was opened, the header first. */
  readonly lines: readonly string[];
  readonly readOnly: boolean;
  /** Stores one line durably before returning (file: written whole and fsynced). */
  append(line: string): void;
  /** True while a torn tail found at open (repairTornTail: 'defer') is still in the file. */
  readonly tornTail: boolean;
  /** Cuts that tail now (no-op without one). */
  repairTail(): void;
  close(): Promise<void>;
}

export interface FileStoreOptions {
  /** Open for reading only (no lock, no create, append throws). */
  readOnly?: boolean;
  /** Create the file when missing (default true). */
  create?: boolean;
  /**
   * Truncate an incomplete final line (a crash mid-write) instead of failing with ERR_LEDGER_TORN; 'defer':
   * accept it but cut it only when repairTail() is called, so a caller can check everything else first and
   * change nothing when a check fails (appends are refused until then).
   */
  repairTornTail?: boolean | 'defer';
  /** The header line of a new file. */
  header: () => string;
}

/** A ledger held in memory: the same lines a file would hold, gone with the process. */
export function memoryStore(header: string): LedgerStore {
  const lines = [header];
  return {
    path: '(memory)',
    lines,
    readOnly: false,
    append: (line) => {
      lines.push(line);
    },
    tornTail: false,
    repairTail: () => undefined,
    close: async () => undefined,
  };
}

/** Opens (creating when allowed) the ledger file `file`, reads its complete lines and takes the writer's lock. */
export async function openFileStore(file: string, opts: FileStoreOptions): Promise<LedgerStore> {
  const abs = path.resolve(file);
  if (!opts.readOnly && opts.create !== false) {
    // one mkdir at a time (mkdirs.ts): Node's recursive mkdir never settled under procfs (a DPZO_HOME of /proc/x)
    try {
      makeDirectories(path.dirname(abs));
    } catch (e) {
      throw ledgerError('ERR_IO', abs, `cannot create its directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  const lockPath = opts.readOnly ? null : await lock(abs);
  let log: AppendLog | null = null;
  try {
    if (!(await exists(abs))) {
      if (opts.readOnly || opts.create === false) throw ledgerError('ERR_IO', abs, 'no such file');
      await createFile(abs, opts.header());
    }
    const read = readJsonl(abs);
    if (read.tornBytes > 0) {
      if (!opts.repairTornTail || opts.readOnly || read.validBytes === 0) {
        throw ledgerError(
          'ERR_LEDGER_TORN',
          abs,
          `the last line is incomplete (${read.tornBytes} bytes without a newline: a crash during a write). ` +
            "That release was never acknowledged. To drop it, reopen with { repairTornTail: true } (CLI: `dpzo account --ledger FILE --repair-torn-tail`; `dpzo train --resume` repairs a run's ledger too), which truncates only that incomplete line.",
        );
      }
      if (opts.repairTornTail !== 'defer') cutTornTail(abs, read);
    }
    let torn = opts.repairTornTail === 'defer' && read.tornBytes > 0;
    if (read.lines.length === 0) throw ledgerError('ERR_LEDGER_CORRUPT', abs, 'empty file (no header line)');
    log = opts.readOnly ? null : new AppendLog(abs);
    const writer = log;
    return {
      path: abs,
      lines: read.lines,
      readOnly: writer === null,
      get tornTail() {
        return torn;
      },
      repairTail: () => {
        if (torn) cutTornTail(abs, read);
        torn = false;
      },
      append: (line) => {
        if (!writer || writer.closed) throw ledgerError('ERR_ARGUMENT', abs, writer ? 'closed' : 'opened read-only');
        if (torn) throw ledgerError('ERR_ARGUMENT', abs, 'its torn tail must be repaired before an append');
        writer.append(line);
      },
      close: async () => {
        writer?.close();
        if (lockPath) await fsp.rm(lockPath, { force: true });
      },
    };
  } catch (e) {
    // a corrupt or mismatched ledger must not leave its file handle or lock behind
    log?.close();
    if (lockPath) await fsp.rm(lockPath, { force: true });
    throw e;
  }
}

async function exists(abs: string): Promise<boolean> {
  try {
    await fsp.access(abs);
    return true;
  } catch {
    return false;
  }
}

/** A lock file with no readable pid younger than this is one being written, not a stale one. */
const LOCK_UNREADABLE_GRACE_MS = 10_000;

/**
 * One writer at a time: a lock file holding the writer's pid, created whole (written to a file of its own, then
 * link(2)ed into place), so a reader never sees it half-written — a lock read as empty was taken for a stale one
 * and deleted under its writer. A stale lock (its process dead) is removed only under a second lock, the
 * takeover lock, and only if it still holds what was read: two processes taking over one stale lock at once
 * each deleted the other's fresh lock, and both wrote.
 */
async function lock(abs: string): Promise<string> {
  const lockPath = `${abs}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createPidFile(abs, lockPath)) return lockPath;
    const held = await fsp.readFile(lockPath, 'utf8').catch(() => null);
    if (held === null) continue; // released meanwhile
    const pid = Number.parseInt(held, 10);
    if (Number.isInteger(pid) && lockHolderAlive(pid, held)) {
      throw ledgerError('ERR_LEDGER_LOCKED', abs, `opened for writing by process ${pid} (lock ${lockPath})`);
    }
    if (!Number.isInteger(pid)) {
      const age = await fsp.stat(lockPath).then(
        (st) => Date.now() - st.mtimeMs,
        () => Infinity,
      );
      if (age < LOCK_UNREADABLE_GRACE_MS) throw ledgerError('ERR_LEDGER_LOCKED', abs, `its lock ${lockPath} is being written by another process`);
    }
    await removeStale(abs, lockPath, held);
  }
  throw ledgerError('ERR_LEDGER_LOCKED', abs, `cannot take lock ${lockPath} (another process is taking it)`);
}

/** Links a complete file holding this pid into place at `target`; false when a file is there already. */
async function createPidFile(abs: string, target: string): Promise<boolean> {
  const mine = `${target}.${process.pid}.${randomUUID()}.tmp`;
  try {
    await fsp.writeFile(mine, LOCK_CONTENT, { flag: 'wx' });
    await fsp.link(mine, target);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw ledgerError('ERR_IO', abs, `cannot create lock ${target}: ${(e as Error).message}`);
  } finally {
    await fsp.rm(mine, { force: true });
  }
}

/**
 * Removes the lock read as `stale`, under the takeover lock: only a lock's owner or the takeover lock's holder ever
 * removes a lock, so while the holder sees `stale` there it stays the dead process's until removed. Another process
 * holding the takeover lock: nothing is done (the caller tries again); a holder that died in it is cleared.
 */
async function removeStale(abs: string, lockPath: string, stale: string): Promise<void> {
  const takeover = `${lockPath}.takeover`;
  if (!(await createPidFile(abs, takeover))) {
    const text = await fsp.readFile(takeover, 'utf8').catch(() => '');
    const holder = Number.parseInt(text, 10);
    // a takeover that crashed inside its few milliseconds
    if (Number.isInteger(holder) && !lockHolderAlive(holder, text)) await fsp.rm(takeover, { force: true });
    return;
  }
  try {
    if ((await fsp.readFile(lockPath, 'utf8').catch(() => null)) === stale) await fsp.rm(lockPath, { force: true });
  } finally {
    await fsp.rm(takeover, { force: true });
  }
}

/** Writes the header to a temporary file and links it into place, so a ledger file always starts complete. */
async function createFile(abs: string, header: string): Promise<void> {
  makeDirectories(path.dirname(abs));
  const tmp = `${abs}.${process.pid}.tmp`;
  const h = await fsp.open(tmp, 'w');
  try {
    await h.writeFile(`${header}\n`, 'utf8');
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
  fsyncDir(path.dirname(abs));
}

/**
 * When process `pid` started (clock ticks after boot: /proc/<pid>/stat field 22), or null where /proc does not tell
 * (no such process, not Linux).
 */
function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // field 2, the command, is in parentheses and may hold spaces: fields 3, 4, … follow the last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * What a lock file holds: this process's pid and, where known, its start time. A pid alone is reused: after kill -9 and a
 * restart (a container's entry point gets the same low pid each time) the lock of the dead trainer named a live process,
 * often the resuming one itself, and every --resume was refused as "opened for writing by process N" until the lock was
 * deleted by hand.
 */
const LOCK_CONTENT = ((start) => (start === null ? `${process.pid}\n` : `${process.pid} ${start}\n`))(processStart(process.pid));

/** Whether the process that wrote the lock `held` (pid `pid`) still runs: a lock with a start time must match it. */
/**
 * The pid of a live process holding ledger `file`'s writer lock, or null: a reader that finds the run's files out of
 * step (its trajectory ahead of the ledger it read a moment before) can then say the run is still training rather
 * than damaged.
 */
export function liveLedgerWriter(file: string): number | null {
  let held: string;
  try {
    held = readFileSync(`${path.resolve(file)}.lock`, 'utf8');
  } catch {
    return null;
  }
  const pid = Number(held.trim().split(/\s+/)[0]);
  return Number.isInteger(pid) && pid > 0 && lockHolderAlive(pid, held) ? pid : null;
}

function lockHolderAlive(pid: number, held: string): boolean {
  const start = held.trim().split(/\s+/)[1];
  const now = start === undefined ? null : processStart(pid);
  if (now !== null) return now === start;
  return pid === process.pid || pidAlive(pid);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
