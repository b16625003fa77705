// defines: writeTextAtomic / writeJsonAtomic — a file replaced whole or not at all (written to a temporary
// file, fsynced, renamed over the target), so a reader never sees half of it; createJsonExclusive.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { fsyncDir } from './fsync.js';
import { infinityReplacer } from './json-infinity.js';
import { appendLineSync } from './write-all.js';

export function writeJsonAtomic(path: string, value: unknown): void {
  writeTextAtomic(path, JSON.stringify(value, infinityReplacer, 2) + '\n');
}

export function writeTextAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    appendLineSync(fd, text, tmp);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dirname(path)); // the rename itself
}

/**
 * Creates `path` holding `value`, whole, only if it does not exist yet: written to a file of this
 * process's own and linked into place (link(2) fails when the name exists), so of two processes
 * creating the same file exactly one succeeds and the other changes nothing. False when it existed.
 */
export function createJsonExclusive(path: string, value: unknown): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
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
