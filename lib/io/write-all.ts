// defines: appendLineSync, appendBytesSync — one whole line (or buffer) appended to an open file, or nothing. writeSync may
// write fewer bytes than asked (a full disk, a signal); a caller that ignores its count leaves a
// torn line and goes on as if the write had happened. Here a short write is continued, and a
// failed one is undone (the file is cut back to its length before the line) and reported with
// its path, so the run stops at the first failed write with its files still consistent.
import { fstatSync, ftruncateSync, writeSync } from 'node:fs';

import { DpzoError } from '../errors.js';

export type WriteFn = (fd: number, buffer: Uint8Array, offset: number, length: number) => number;

const defaultWrite: WriteFn = (fd, buffer, offset, length) => writeSync(fd, buffer, offset, length);

/** Writes all of `text` at the end of `fd` (opened for append); throws ERR_IO naming `path` and leaves the file as it was. */
export function appendLineSync(fd: number, text: string, path: string, write: WriteFn = defaultWrite): void {
  appendBytesSync(fd, Buffer.from(text, 'utf8'), path, write);
}

/** Writes all of `buf` at the end of `fd`, as appendLineSync writes a line: continued after a short write, undone after a failed one. */
export function appendBytesSync(fd: number, buf: Uint8Array, path: string, write: WriteFn = defaultWrite): void {
  const before = fstatSync(fd).size;
  let done = 0;
  try {
    while (done < buf.length) {
      const n = write(fd, buf, done, buf.length - done);
      if (n <= 0) throw Object.assign(new Error('no progress'), { code: 'EIO' });
      done += n;
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    try {
      ftruncateSync(fd, before);
    } catch {
      // the original error is the one to report; a torn tail is still detected and dropped on resume
    }
    throw new DpzoError('ERR_IO', `${path}: write failed after ${done} of ${buf.length} bytes (${code}); nothing further was written`);
  }
}
