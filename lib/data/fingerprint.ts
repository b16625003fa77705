// defines: fileSha256 — the SHA-256 of a data file's bytes, the key of its dataset
// ledger (lib/privacy/dataset-ledger.ts). Read in fixed chunks so a large file costs
// no more memory than a small one.
import { closeSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';

import { DataError } from './errors.js';

const CHUNK = 1 << 20;

/** Hex SHA-256 of the file at `path`; ERR_DATA naming the path when it cannot be read. */
export function fileSha256(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new DataError('ERR_DATA', `${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, CHUNK, null);
      } catch (e) {
        // a directory opens, then fails here: a bare EISDIR naming no path
        throw new DataError('ERR_DATA', `${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}
