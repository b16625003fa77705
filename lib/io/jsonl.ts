// defines: the one append-only JSONL file of a run (the privacy ledger and the
// trajectory are both written through it): readJsonl splits a file into its
// complete lines and reports a torn tail (a crash inside a write leaves a last
// line without its newline), cutTornTail drops that tail durably, and AppendLog
// appends whole lines, each one fsynced before append returns, so a line that
// append acknowledged survives a crash and the next action may depend on it.
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, truncateSync } from 'node:fs';

import { DpzoError } from '../errors.js';
import { type WriteFn, appendLineSync } from './write-all.js';

export interface JsonlRead {
  /** The complete lines (without their newlines), in order. */
  lines: string[];
  /** Bytes of the complete lines; anything after them is a torn write. */
  validBytes: number;
  /** Bytes after the last newline (0 when the file ends with one). */
  tornBytes: number;
}

/** The complete lines of `path`; a missing file has none. Nothing is parsed here: each format checks its own lines. */
export function readJsonl(path: string): JsonlRead {
  if (!existsSync(path)) return { lines: [], validBytes: 0, tornBytes: 0 };
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    // a directory in a run where ledger.jsonl or trajectory.jsonl belongs was a bare EISDIR naming no file
    throw new DpzoError('ERR_IO', `${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const lines: string[] = [];
  let at = 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, at);
    if (nl < 0) break;
    lines.push(buf.subarray(at, nl).toString('utf8'));
    at = nl + 1;
  }
  return { lines, validBytes: at, tornBytes: buf.length - at };
}

/** Cuts the torn tail of `read` off `path` and makes the cut durable. */
export function cutTornTail(path: string, read: Pick<JsonlRead, 'validBytes' | 'tornBytes'>): void {
  if (read.tornBytes === 0) return;
  truncateSync(path, read.validBytes);
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface AppendLogOptions {
  /** The write call (tests inject short or failing writes). */
  write?: WriteFn;
  /** The flush to stable storage (tests observe it). */
  sync?: (fd: number) => void;
}

/** An open JSONL file that only grows, by whole fsynced lines. */
export class AppendLog {
  readonly path: string;
  private fd: number | null;
  private readonly write?: WriteFn;
  private readonly sync: (fd: number) => void;
  /** Where the last line appended by this log starts (null: none, or already dropped). */
  private lastStart: number | null = null;
  /** Why this log takes no more lines: a failed fsync left the file's end unknown (null: it is known). */
  private broken: string | null = null;

  constructor(path: string, opts: AppendLogOptions = {}) {
    this.path = path;
    this.write = opts.write;
    this.sync = opts.sync ?? fsyncSync;
    this.fd = openSync(path, 'a');
  }

  get closed(): boolean {
    return this.fd === null;
  }

  /**
   * Appends `line` (one line of text, no newline in it) and its newline, then fsyncs.
   * A short write is continued; a failed one is undone and thrown (ERR_IO with the path).
   */
  append(line: string): void {
    if (this.fd === null) throw new DpzoError('ERR_IO', `${this.path}: append after close`);
    if (this.broken !== null) throw new DpzoError('ERR_IO', `${this.path}: ${this.broken}; reopen it to go on`);
    const start = fstatSync(this.fd).size;
    appendLineSync(this.fd, `${line}\n`, this.path, this.write);
    try {
      this.sync(this.fd);
    } catch (e) {
      // The line is written but not known durable (after a failed fsync the kernel may drop the dirty pages), so the
      // file's end is unknown: nothing more goes through this handle. It threw Node's bare EIO, and a retry of the same
      // record appended a second line after the first (a ledger's hash chain then broke). A reader that reopens the
      // file sees what reached the disk: at most this line more than the caller counted, never less.
      this.broken = `an fsync failed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}) after a line was written`;
      throw new DpzoError('ERR_IO', `${this.path}: ${this.broken}`);
    }
    this.lastStart = start;
  }

  /**
   * Cuts off the line this log appended last (durably), for a record that turned out not to hold: the
   * only exception to "only grows". A crash during the cut leaves that line whole or gone, never torn.
   */
  dropLast(): void {
    if (this.fd === null) throw new DpzoError('ERR_IO', `${this.path}: dropLast after close`);
    if (this.lastStart === null) throw new DpzoError('ERR_IO', `${this.path}: no line appended to drop`);
    ftruncateSync(this.fd, this.lastStart);
    this.sync(this.fd);
    this.lastStart = null;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
