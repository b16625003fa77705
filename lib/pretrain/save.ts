// defines: saveCheckpointDirectory, saveModelInto — `dpzo pretrain`'s saves, whole or not at all (the model's weights,
// config.json and tokenizer files written complete and durable before they take their final names): a process killed
// while saving left a checkpoint or --out with model.safetensors and no config.json, or a tokenizer.json cut short,
// that `dpzo train --model` then tried to load.
import { existsSync, readdirSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { saveModelDirectory } from '../dpzo/replay.js';
import { fsyncDir } from '../io/fsync.js';
import { stageDirectory, stagingPath, writeDirectoryAtomic } from '../io/staged-directory.js';
import type { Model } from '../model/types.js';

/**
 * Saves `model` as the directory `dir` (a checkpoint), atomically: `dir` holds the whole model, with what
 * `extra(staging)` writes beside it (the trainer and optimizer state a resume needs), or what it held before. A `dir`
 * there already (a run resumed from an earlier checkpoint takes the later steps again) is replaced: moved aside under a
 * staging name just before the new one takes its place, then removed; the rename onto a non-empty directory failed.
 */
export async function saveCheckpointDirectory(model: Model, dir: string, extra?: (staging: string) => Promise<void>): Promise<void> {
  let old: string | undefined;
  await writeDirectoryAtomic(
    dir,
    async (staging) => {
      await saveModelDirectory(model, staging);
      await extra?.(staging);
    },
    () => {
      if (!existsSync(dir)) return;
      old = stagingPath(dir);
      renameSync(dir, old);
    },
  );
  if (old) rmSync(old, { recursive: true, force: true });
}

/**
 * Saves `model` into the existing directory `dir` (the final model of --out, beside the metrics and checkpoints, so it
 * cannot be renamed into place whole): staged complete in a sibling of it, then each file renamed into `dir` with
 * config.json last. config.json is what makes a directory a model (a loader reads it first, and refuses a directory
 * without one), so `dir` is a model only once every other file of it is in place, complete and durable. `files`
 * (name → text: the model card) are written with the model's own.
 */
export async function saveModelInto(model: Model, dir: string, files: Record<string, string> = {}): Promise<void> {
  // a hidden sibling of the model's files inside --out (.model.partial-<uuid>): the renames stay on one file system
  const staging = await stageDirectory(join(dir, 'model'), async (s) => {
    await saveModelDirectory(model, s);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(s, name), text);
  });
  try {
    const staged = readdirSync(staging).sort((a, b) => Number(a === 'config.json') - Number(b === 'config.json'));
    for (const f of staged) renameSync(join(staging, f), join(dir, f));
    rmdirSync(staging);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  fsyncDir(dir); // the renames
}
