// defines: the inputs of a resumed run that moved — its base model directory and its training file, renamed or moved since
// the run started. run.json records their paths, and `dpzo train --resume` took them from there only, so a user who moved
// either could not continue. checkResumeInputs takes --model / --data in their place when they are verifiably the run's own
// (the model by the weights hash run.json records of its base, the training file by the dataset key it records: never its
// plain SHA-256); recordMovedInputs writes the new paths into run.json once a resume has checked them, so that the next
// resume, export and eval --run find them without the flags.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DpzoError } from '../errors.js';
import { writeTextAtomic } from '../io/json-file.js';
import { infinityReplacer, infinityReviver } from '../io/json-infinity.js';
import type { Model } from '../model/types.js';
import { datasetLedgerHome } from '../privacy/index.js';
import { RUN_FILE, type RunRecord, sameTrainingFile } from './run-record.js';

/** The base model and training file a resume was given in place of the recorded ones (--model, --data). */
export interface ResumeInputs {
  /** The base model directory given, and its loaded model. */
  model?: { dir: string; loaded: Model };
  /** The training file given, and the SHA-256 of the bytes loaded from it (kept in memory only). */
  data?: { file: string; sha256: string | undefined };
}

/**
 * Refuses a --model or --data given with --resume that is not the run's own, naming what differs: a model whose weights hash
 * is not the initial one run.json records, a training file whose dataset key is not the one it records (or that cannot be
 * checked: a run that recorded none, or one whose key was made under a dpzo home not on this machine). The key is an HMAC
 * of the file's SHA-256 under that home's secret, so the check writes and prints nothing of the file's hash.
 * @throws {@link DpzoError} `ERR_RUN_MISMATCH`.
 */
export async function checkResumeInputs(runDir: string, run: RunRecord, given: ResumeInputs): Promise<void> {
  const refuse = (flag: string, path: string, why: string) => new DpzoError('ERR_RUN_MISMATCH', `cannot resume ${runDir} with ${flag} ${path}: ${why}`);
  if (given.model) {
    const hash = await given.model.loaded.weightsHash();
    if (hash !== run.model.weightsHash)
      throw refuse(
        '--model',
        given.model.dir,
        `its weights hash ${hash.slice(0, 12)}… is not the run's base model's ${run.model.weightsHash.slice(0, 12)}… (run.json model.weightsHash)`,
      );
  }
  if (given.data) {
    const { file, sha256 } = given.data;
    const ref = run.dataset;
    if (!ref || (ref.sha256 === undefined && (ref.key === undefined || ref.ledger === undefined)))
      throw refuse('--data', file, 'its run.json records no dataset key to check a training file against (a run of an older dpzo): give the recorded path');
    const same = sameTrainingFile(ref, sha256);
    if (same === false) throw refuse('--data', file, "it is not the run's training file (its contents differ from the file the run's dataset key was made of)");
    if (same === undefined)
      throw refuse(
        '--data',
        file,
        `the run's dataset key was made under the dpzo home ${datasetLedgerHome(ref.ledger!)}, which is not on this machine, so the file cannot be checked`,
      );
  }
}

/**
 * Records in run.json the base model directory and training file a resume has checked ({@link checkResumeInputs}, RunDirectory.resume):
 * `model.dir`, `meta.config.model` and `meta.config.data`, nothing else (the plan, the weights hash and the dataset reference every
 * check reads stay as they are). run.json is replaced whole (a temporary file renamed over it): a crash leaves the old or the new one.
 * @returns Whether run.json changed.
 * @throws {@link DpzoError} `ERR_IO` when run.json cannot be written.
 */
export function recordMovedInputs(runDir: string, moved: { model?: string; data?: string }): boolean {
  const path = join(runDir, RUN_FILE);
  const v = JSON.parse(readFileSync(path, 'utf8'), infinityReviver) as { model: { dir?: unknown }; meta?: { config?: Record<string, unknown> } };
  let changed = false;
  const set = (o: Record<string, unknown>, k: string, to: string | undefined) => {
    if (to === undefined || typeof o[k] !== 'string' || o[k] === to) return;
    o[k] = to;
    changed = true;
  };
  set(v.model as Record<string, unknown>, 'dir', moved.model);
  const config = v.meta?.config;
  if (config !== null && typeof config === 'object' && !Array.isArray(config)) {
    set(config, 'model', moved.model);
    set(config, 'data', moved.data);
  }
  if (!changed) return false;
  try {
    writeTextAtomic(path, JSON.stringify(v, infinityReplacer, 2) + '\n');
  } catch (e) {
    throw new DpzoError('ERR_IO', `${path}: cannot record the run's new model and data paths (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return true;
}
