// defines: saveCheckpointDirectory, saveModelInto — `dpzo pretrain`'s saves, whole or not at all. Both write the model
// (weights, config.json, tokenizer files) into a staging directory of their own, fsync it, and only then move it into
// place: a process killed (SIGKILL, a power loss) while saving left a checkpoint or --out with model.safetensors and no
// config.json, or a tokenizer.json cut short, that `dpzo train --model` then tried to load.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, rmdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import { saveModelDirectory } from '../dpzo/replay.js';
import { fsyncDir, fsyncFile } from '../io/fsync.js';
import type { Model } from '../model/types.js';

/** The prefix of every staging directory these saves make (a leftover of a killed save starts with it). */
export const STAGING_PREFIX = '.partial-';

/** Saves `model` into a new directory `staging` and makes all of it durable. */
async function saveStaged(model: Model, staging: string): Promise<void> {
  // mkdirSync honours the umask (a model is for others to read); mkdtemp would make it 0700
  mkdirSync(staging);
  await saveModelDirectory(model, staging);
  for (const f of readdirSync(staging)) fsyncFile(join(staging, f));
  fsyncDir(staging);
}

/**
 * Saves `model` as the new directory `dir` (a checkpoint), atomically: written beside it under a staging name and
 * renamed to `dir` once complete, so `dir` either does not exist or holds the whole model. Throws when `dir` exists.
 */
export async function saveCheckpointDirectory(model: Model, dir: string): Promise<void> {
  const parent = dirname(resolve(dir));
  const staging = join(parent, `${STAGING_PREFIX}${basename(resolve(dir))}-${randomUUID()}`);
  mkdirSync(parent, { recursive: true }); // the library's outDir need not exist yet
  try {
    await saveStaged(model, staging);
    renameSync(staging, dir); // onto an empty directory at most; the checkpoint name is new in a fresh --out
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  fsyncDir(parent); // the rename itself
}

/**
 * Saves `model` into the existing directory `dir` (the final model of --out, beside the metrics and checkpoints): staged
 * complete in a subdirectory of `dir`, then each file renamed into `dir` with config.json last. config.json is what
 * makes a directory a model (a loader reads it first, and refuses a directory without one), so `dir` is a model only
 * once every other file of it is in place, complete and durable; a save killed before that leaves no config.json.
 */
export async function saveModelInto(model: Model, dir: string): Promise<void> {
  const staging = join(dir, `${STAGING_PREFIX}model-${randomUUID()}`);
  try {
    await saveStaged(model, staging);
    const files = readdirSync(staging).sort((a, b) => Number(a === 'config.json') - Number(b === 'config.json'));
    for (const f of files) renameSync(join(staging, f), join(dir, f));
    rmdirSync(staging);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  fsyncDir(dir); // the renames
}
