// defines: writeDirectoryAtomic, STAGING_MARK — a directory written whole or not at all (an export, a pretraining
// checkpoint): filled under a staging name beside it, made durable, then renamed into place. A process killed (SIGKILL,
// a power loss) while writing left a model directory with model.safetensors and no config.json, or a tokenizer.json or
// README.md cut short, for a later load to trip over.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, rmdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import { DpzoError } from '../errors.js';
import { fsyncDir, fsyncFile } from './fsync.js';
import { makeDirectories } from './mkdirs.js';

/** In the name of every staging directory (`.<name>.partial-<uuid>`): what a killed write leaves behind. */
export const STAGING_MARK = '.partial-';

/** The staging directory for `dir` (or for a file of it): a hidden sibling, unique per call. */
export function stagingPath(dir: string): string {
  const abs = resolve(dir);
  return join(dirname(abs), `.${basename(abs)}${STAGING_MARK}${randomUUID()}`);
}

/** `dir` cannot be made: one line naming it, not the staging path (`mkdir '/proc/.x.partial-<uuid>'`) nobody asked for. */
function cannotCreate(dir: string, e: unknown): DpzoError {
  const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  return new DpzoError('ERR_IO', `${dir}: cannot create a directory there (${code})`);
}

/**
 * Checks, before the work that fills it, that `dir` can be made as {@link writeDirectoryAtomic} makes it: its missing
 * parents, then a probe directory beside it (where the staging directory will be), made and removed again (with the parents this call made). `dpzo export
 * --out /proc/x` failed only after the whole replay, with the staging path's ENOENT.
 *
 * @throws {@link DpzoError} `ERR_IO` naming `dir` (as `name`, e.g. `--out x`) and the OS error code.
 */
export function checkCreatable(dir: string, name = dir): void {
  // not named as a staging directory: what watches for one (a write under way) is not misled by the probe
  const abs = resolve(dir);
  const probe = join(dirname(abs), `.${basename(abs)}.probe-${randomUUID()}`);
  let made: string[] = [];
  try {
    made = makeDirectories(dirname(resolve(dir)));
    mkdirSync(probe);
    rmdirSync(probe);
  } catch (e) {
    throw cannotCreate(name, e);
  } finally {
    for (const m of made.reverse()) {
      try {
        rmdirSync(m);
      } catch {
        break;
      }
    }
  }
}

/**
 * A fresh staging directory for `dir` filled by `fill(staging)`, every file of it fsynced: its path, for the caller to
 * move into place. On a failure it is removed and the error rethrown.
 */
export async function stageDirectory(dir: string, fill: (staging: string) => Promise<void>): Promise<string> {
  const staging = stagingPath(dir);
  try {
    makeDirectories(dirname(resolve(dir))); // not mkdirSync's recursive form: it never returned under procfs (mkdirs.ts)
    // mkdirSync honours the umask (a model is for others to read); mkdtemp would make it 0700
    mkdirSync(staging);
  } catch (e) {
    throw cannotCreate(dir, e);
  }
  try {
    await fill(staging);
    for (const f of readdirSync(staging)) fsyncFile(join(staging, f));
    fsyncDir(staging);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  return staging;
}

/**
 * Makes `dir` by `fill(staging)` in a staging directory ({@link stageDirectory}), then `beforeRename()` (the caller's
 * last checks: a cancel, the target still empty), then the rename onto `dir`, which may not exist or be an empty
 * directory. On any failure the staging directory is removed and `dir` is as it was.
 */
export async function writeDirectoryAtomic(dir: string, fill: (staging: string) => Promise<void>, beforeRename?: () => void): Promise<void> {
  const staging = await stageDirectory(dir, fill);
  try {
    beforeRename?.();
    if (existsSync(dir)) rmdirSync(dir); // empty at most (rmdir refuses any other); a rename onto a directory is not portable
    renameSync(staging, dir);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  fsyncDir(dirname(resolve(dir))); // the rename itself
}
