// defines: writeTextAtomic, writeFileAtomic — a file replaced whole or not at all (written to a temporary file of this process's
// own, fsynced, renamed over the target), so a reader never sees half of it; createJsonExclusive.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { fsyncDir } from './fsync.js';
import { infinityReplacer } from './json-infinity.js';
import { appendBytesSync, appendLineSync } from './write-all.js';

/** A temporary name beside `path` that no other process or call uses (a shared `path.tmp` raced: see writeTextAtomic). */
function ownTemp(path: string): string {
  return `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

/**
 * Replaces `path` with `text` whole. The temporary file is this call's own (two processes replacing one file shared
 * `path.tmp`, and the later rename failed with ENOENT once the first had moved it away) and is removed when the write
 * fails. Throws the file system's error.
 */
export function writeTextAtomic(path: string, text: string): void {
  writeFileAtomic(path, [Buffer.from(text, 'utf8')]);
}

/**
 * Replaces `path` with the concatenation of `parts`, whole, as writeTextAtomic does: written to `tmp` (by default a
 * name of this call's own beside `path`; a caller that cleans up after crashes names its own), fsynced, renamed over
 * `path`, the directory fsynced. `tmp` is removed when the write fails. Throws the file system's error (or ERR_IO for
 * a short write).
 */
export function writeFileAtomic(path: string, parts: readonly Uint8Array[], tmp = ownTemp(path)): void {
  try {
    const fd = openSync(tmp, 'wx');
    try {
      for (const p of parts) appendBytesSync(fd, p, tmp);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dirname(path)); // the rename itself
}

/**
 * Creates `path` holding `value`, whole, only if it does not exist yet: written to a file of this
 * process's own and linked into place (link(2) fails when the name exists), so of two processes
 * creating the same file exactly one succeeds and the other changes nothing. False when it existed.
 */
export function createJsonExclusive(path: string, value: unknown): boolean {
  const tmp = ownTemp(path);
  const fd = openSync(tmp, 'wx');
  try {
    try {
      appendLineSync(fd, JSON.stringify(value, infinityReplacer, 2) + '\n', tmp);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, path);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** How long a createJsonExclusive temporary file lives at most (it is written, fsynced and linked in milliseconds). */
const EXCLUSIVE_TMP_LIFETIME_MS = 60_000;

/**
 * Whether `name`, in `dir`, is a temporary file createJsonExclusive left for `target` (the basename it creates) when its
 * process died between writing it and linking it into place: named as that function names them and older than any
 * creation takes. Such a file made a fresh run directory "not empty" (refused) and left it without run.json (no resume).
 */
export function isExclusiveLeftover(dir: string, name: string, target: string): boolean {
  if (!name.startsWith(`${target}.`) || !/^\.\d+\.[0-9a-f]{12}\.tmp$/.test(name.slice(target.length))) return false;
  const st = statSync(join(dir, name), { throwIfNoEntry: false });
  return st !== undefined && st.isFile() && Date.now() - st.mtimeMs > EXCLUSIVE_TMP_LIFETIME_MS;
}
