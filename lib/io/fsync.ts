// defines: fsyncFile and fsyncDir — making a file's data, and a directory's entries (a rename or link in it),
// reach the disk. The one place for both: the export, the DP-SGD checkpoint, run.json and the ledgers use them.
import { closeSync, fsyncSync, openSync } from 'node:fs';

/** Makes the data of the file at `path` durable. */
export function fsyncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes the entries of directory `path` durable where the file system can: some refuse fsync on a directory (the files themselves are synced). */
export function fsyncDir(path: string): void {
  try {
    fsyncFile(path);
  } catch {
    // best effort, as the native save does
  }
}
