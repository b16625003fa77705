// defines: makeDirectories — `mkdir -p` without Node's recursive mkdirSync, which never returns where mkdir fails
// with ENOENT under a parent that exists (procfs: `--out /proc/nope` spun at full CPU, deaf to Ctrl-C, in
// `dpzo train` and `dpzo demo`).
import { existsSync, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Makes `dir` and its missing parents, one mkdir each.
 *
 * @returns The directories made, outermost first (none when `dir` was there).
 * @throws The OS error of the first mkdir that fails (ENOENT, ENOTDIR, EACCES, EROFS, ENAMETOOLONG), after removing
 * the directories this call made before it (so a failed `--out a/b/<bad>` leaves no `a/b` behind).
 */
export function makeDirectories(dir: string): string[] {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) missing.unshift(d);
  const made: string[] = [];
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      // made meanwhile by another process: as good as made here
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(d).isDirectory()) continue;
      // innermost first; rmdir removes only what is still empty (nothing another process put there meanwhile)
      for (const m of made.reverse()) {
        try {
          rmdirSync(m);
        } catch {
          break;
        }
      }
      throw e;
    }
    made.push(d);
  }
  return made;
}
