// defines: datasetKey — the name a training file's dataset ledger goes by, HMAC-SHA256(the home's secret, the
// file's SHA-256), and the secret itself (<home>/dataset-key, 32 bytes from the CSPRNG, made on first use).
// Why not the plain SHA-256: it is a deterministic function of every private example, so anyone holding it and
// all examples but one can test guesses of the last one (the DP adversary does exactly that). It sat in
// run.json and in the ledger's path, both of which users copy around (a run directory is what replays); the
// keyed name tells nothing without the secret, which never leaves DPZO_HOME.
import { createHmac, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import { fsyncDir } from '../io/fsync.js';
import { makeDirectories } from '../io/mkdirs.js';
import { PrivacyError } from './errors.js';

/** The secret's file in a dpzo home. */
export const DATASET_SECRET_FILE = 'dataset-key';
const SECRET_BYTES = 32;
/** A keyed ledger's directory under <home>/datasets is `k-<key>`; a bare 64-hex name is an older dpzo's (plain SHA-256). */
export const KEYED_PREFIX = 'k-';

/** `home`'s secret, or undefined when it has none yet (then no keyed dataset ledger can exist there). */
function readSecret(home: string): Buffer | undefined {
  const file = join(home, DATASET_SECRET_FILE);
  if (!existsSync(file)) return undefined;
  let b: Buffer;
  try {
    b = readFileSync(file);
  } catch (e) {
    throw new PrivacyError('ERR_IO', `${file}: cannot read the dataset ledgers' key (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (b.length !== SECRET_BYTES) throw new PrivacyError('ERR_LEDGER_CORRUPT', `${file}: the dataset ledgers' key is ${b.length} bytes, not ${SECRET_BYTES}`);
  return b;
}

/**
 * `home`'s secret, made when missing: written whole to a file of its own, then linked into place, so that a
 * concurrent run never reads a half-written key (the loser of a race reads the winner's).
 */
function secretOf(home: string): Buffer {
  const have = readSecret(home);
  if (have) return have;
  const file = join(home, DATASET_SECRET_FILE);
  // keyed ledgers without their key: a new key would start every dataset's ε again from 0
  const datasets = join(home, 'datasets');
  const orphans = existsSync(datasets) ? readdirSync(datasets).filter((d) => d.startsWith(KEYED_PREFIX)).length : 0;
  if (orphans > 0)
    throw new PrivacyError(
      'ERR_LEDGER_CORRUPT',
      `${file}: missing, but ${datasets} holds ${orphans} dataset ledger(s) named by it: restore it from a backup (a new key would count their datasets' releases from zero)`,
    );
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    makeDirectories(home);
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, randomBytes(SECRET_BYTES));
      // on disk before it is linked: a key lost in a crash would orphan every ledger named by it
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    fsyncDir(home);
  } catch (e) {
    if (e instanceof PrivacyError) throw e;
    throw new PrivacyError('ERR_IO', `${file}: cannot make the dataset ledgers' key (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  } finally {
    if (existsSync(tmp)) unlinkSync(tmp);
  }
  return readSecret(home)!;
}

/**
 * The key of the training file with SHA-256 `sha256` in `home`: HMAC-SHA256(home's secret, sha256), 64 hex digits.
 * With `create` false and no secret in `home` yet: undefined (no dataset ledger of the new kind is there).
 */
export function datasetKey(home: string, sha256: string, create = true): string | undefined {
  const secret = create ? secretOf(home) : readSecret(home);
  return secret && createHmac('sha256', secret).update(sha256, 'utf8').digest('hex');
}
