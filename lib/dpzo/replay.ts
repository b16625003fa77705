// defines: replayTrajectory and exportRun — rebuild trained weights from a run
// directory: the base model (its hash checked against run.json) plus the
// recorded (seeds, ĝ, η) of each step, through the same walk as training.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { DpzoError } from '../errors.js';
import type { Model } from '../model/types.js';
import { type TrajectoryLine, isVoid, readTrajectory, readRunJson, seedsFromStrings } from './trajectory.js';
import type { RunRecord } from './trainer.js';
import { replayStep } from './walk.js';

export async function replayTrajectory(model: Model, lines: TrajectoryLine[], zoEps: number, signal?: AbortSignal, weightDecay = 0): Promise<number> {
  let applied = 0;
  for (const line of lines) {
    if (signal?.aborted) throw new DpzoError('ERR_CANCELLED', 'replay cancelled');
    if (isVoid(line)) continue;
    await replayStep(model, seedsFromStrings(line.seeds), line.g, line.lr, zoEps, weightDecay);
    applied++;
  }
  return applied;
}

/** Tokenizer and generation files copied next to the exported weights so the directory opens in transformers. */
const SIDE_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json', 'vocab.json', 'merges.txt', 'tokenizer.model'];

export interface ExportResult {
  outDir: string;
  steps: number;
  weightsHash: string;
}

/** Replays `runDir` onto `model` (freshly loaded from the run's base) and saves it as a Hugging Face directory. */
export async function exportRun(model: Model, runDir: string, outDir: string, signal?: AbortSignal): Promise<ExportResult> {
  const run = readRunJson<RunRecord>(runDir);
  const hash = await model.weightsHash();
  if (hash !== run.model.weightsHash) {
    throw new DpzoError('ERR_RUN_MISMATCH', `the base model's weights hash ${hash.slice(0, 12)}… is not the run's initial ${run.model.weightsHash.slice(0, 12)}… (${run.model.dir})`);
  }
  const names = model.trainableNames();
  if (JSON.stringify(names) !== JSON.stringify(run.model.trainableNames)) {
    throw new DpzoError('ERR_RUN_MISMATCH', `the model's trainable tensors differ from the run's (${names.length} vs ${run.model.trainableNames.length})`);
  }
  const read = readTrajectory(runDir);
  const steps = await replayTrajectory(model, read.lines, run.plan.zoEps, signal, run.plan.weightDecay ?? 0);
  mkdirSync(outDir, { recursive: true });
  await model.save(outDir);
  for (const f of SIDE_FILES) {
    const src = join(run.model.dir, f);
    if (existsSync(src)) copyFileSync(src, join(outDir, f));
  }
  return { outDir, steps, weightsHash: await model.weightsHash() };
}
