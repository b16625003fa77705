// defines: writeJsonAtomic — a JSON file replaced whole or not at all (written to a temporary
// file, fsynced, renamed over the target), so a reader never sees half of it.
import { closeSync, fsyncSync, openSync, renameSync } from 'node:fs';

import { appendLineSync } from './write-all.js';

export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    appendLineSync(fd, JSON.stringify(value, null, 2) + '\n', tmp);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
