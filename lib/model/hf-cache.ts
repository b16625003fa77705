// defines: resolveModelDir — `--model org/name` (or loadModel('org/name')) as
// Hugging Face users write it: when no such local directory exists, the model is
// looked up in the local Hugging Face hub cache (HF_HUB_CACHE, else
// HF_HOME/hub, else ~/.cache/huggingface/hub), in its models--org--name /
// refs/<revision> → snapshots/<commit> layout. dpzo never downloads: a model that
// is not there is an error that says how to fetch it.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import { DpzoError } from '../errors.js';

/** org/name or name, with an optional @revision (a branch, tag or commit): the Hub's repository id rules. */
const REPO_ID = /^(?:([A-Za-z0-9][\w.-]{0,95})\/)?([A-Za-z0-9][\w.-]{0,95})(?:@([\w.-]{1,128}))?$/;

/** The hub cache directory the Hugging Face libraries use, from the same environment variables. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, 'hub');
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg ? xdg : join(homedir(), '.cache'), 'huggingface', 'hub');
}

/**
 * The Hub repository a directory is a cached snapshot of (`…/models--org--name/snapshots/<commit>`, as
 * resolveModelDir returns it), or null for any other directory.
 */
export function hubSnapshotOf(dir: string): { id: string; commit: string } | null {
  const m = /(?:^|[\\/])models--([^\\/]+)[\\/]snapshots[\\/]([0-9a-f]{7,64})[\\/]?$/.exec(dir);
  if (!m) return null;
  const parts = m[1]!.split('--');
  if (parts.length > 2 || parts.some((p) => !REPO_ID.test(p))) return null;
  return { id: parts.join('/'), commit: m[2]! };
}

/**
 * The directory to load for `given`: itself when it exists (a local path always wins), else the cached
 * snapshot of the Hub repository id it names. Throws ERR_CONFIG_MISSING when neither exists, ERR_ARGUMENT when `given`
 * is not a string.
 */
export function resolveModelDir(given: string, env: NodeJS.ProcessEnv = process.env): string {
  // exported: a number failed as a TypeError ("given.includes is not a function"); '' comes back for the loader to refuse
  if (typeof given !== 'string') throw new DpzoError('ERR_ARGUMENT', `resolveModelDir takes a string: a directory path or a Hub id (got ${typeof given})`);
  if (existsSync(given)) return given;
  const m = REPO_ID.exec(given);
  // a path-like name that is not a repository id (./x, /a/b, a/b/c): the native loader's own error names it
  if (!m || given.includes('..')) return given;
  const [, org, name, revision = 'main'] = m;
  const cache = hubCacheDir(env);
  const repo = join(cache, `models--${org ? `${org}--` : ''}${name}`);
  const id = org ? `${org}/${name}` : name;
  const missing = (why: string): DpzoError =>
    new DpzoError(
      'ERR_CONFIG_MISSING',
      `${given}: no such directory, and ${why} in the Hugging Face cache ${cache} (dpzo never downloads: run \`huggingface-cli download ${id}${revision !== 'main' ? ` --revision ${revision}` : ''}\`, or give a local directory)`,
    );
  if (!existsSync(repo)) throw missing(`${id} is not`);
  // a revision is a ref (refs/<name> holds the commit) or the commit itself
  const ref = join(repo, 'refs', revision);
  const commit = existsSync(ref) && statSync(ref).isFile() ? readFileSync(ref, 'utf8').trim() : revision;
  if (!/^[0-9a-f]{7,64}$/.test(commit)) throw missing(`revision '${revision}' of ${id} is not`);
  const snapshot = join(repo, 'snapshots', commit);
  if (!existsSync(snapshot)) throw missing(`the snapshot ${commit} of ${id} is not`);
  return snapshot;
}
