// defines: removeOldCheckpoints — `dpzo pretrain --save-total-limit N` (transformers' save_total_limit): every
// checkpoint of a run was kept, each about 4× the float32 weights (the model, then θ, Adam's m and v in checkpoint.bin:
// about 2 GB for GPT-2-124M), so a long run filled the disk. Only the newest N of the run's checkpoints stay.
import { lstatSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { DpzoError } from '../errors.js';
import { fsyncDir } from '../io/fsync.js';
import { stagingPath } from '../io/staged-directory.js';
import { PRETRAIN_STATE_FILE, checkpointStepOf } from './resume.js';

/** Whether `dir` is a checkpoint of run `runId`: its trainer_state.json says so (one that cannot be read is not proven ours). */
function ofRun(dir: string, runId: string): boolean {
  try {
    const s = JSON.parse(readFileSync(join(dir, PRETRAIN_STATE_FILE), 'utf8')) as { runId?: unknown } | null;
    return s !== null && typeof s === 'object' && s.runId === runId;
  } catch {
    return false;
  }
}

/**
 * Removes the checkpoints of run `runId` in `outDir` beyond the newest `limit`: `justSaved` (the step of the checkpoint
 * just renamed into place) is always kept, with the `limit` − 1 others of the highest steps. Only real directories
 * named checkpoint-<step> whose trainer_state.json has this run's id are touched (never another run's, a symlink, a
 * checkpoint-x or any other file). Each is first renamed to a hidden staging name and the renames made durable, then
 * removed: a process killed while removing one leaves no half checkpoint under a checkpoint-<step> name that --resume
 * would take as the latest. Returns the directories removed, oldest first.
 * @throws {@link DpzoError} `ERR_IO` naming the checkpoint that could not be moved aside.
 */
export function removeOldCheckpoints(outDir: string, runId: string, limit: number, justSaved: number): string[] {
  const others: number[] = [];
  for (const name of readdirSync(outDir)) {
    const step = checkpointStepOf(name);
    if (step === undefined || step === justSaved) continue;
    const dir = join(outDir, name);
    if (lstatSync(dir).isDirectory() && ofRun(dir, runId)) others.push(step);
  }
  const doomed = others.sort((a, b) => b - a).slice(Math.max(0, limit - 1));
  if (doomed.length === 0) return [];
  const moved: [string, string][] = [];
  try {
    for (const step of doomed.reverse()) {
      const dir = join(outDir, `checkpoint-${step}`);
      const aside = stagingPath(dir);
      try {
        renameSync(dir, aside);
      } catch (e) {
        throw new DpzoError('ERR_IO', `${dir}: cannot remove it (--save-total-limit): ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
      moved.push([dir, aside]);
    }
  } finally {
    // (those moved aside before a failure too: under a staging name they are no checkpoint any more)
    fsyncDir(outDir); // the renames reach the disk before any file of a checkpoint is removed
    for (const [, aside] of moved) rmSync(aside, { recursive: true, force: true });
  }
  return moved.map(([dir]) => dir);
}
