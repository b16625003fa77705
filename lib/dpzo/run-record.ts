// defines: RunRecord — run.json, what a run directory started from (the model and its
// weights hash, the trainable tensors) and how it trains (the plan) — and the names of
// the files of a run directory. Read by resume (run-directory.ts), replay and export.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DpzoError } from '../errors.js';
import type { TrainPlan } from './options.js';

export const RUN_FILE = 'run.json';
export const TRAJECTORY_FILE = 'trajectory.jsonl';
export const LEDGER_FILE = 'ledger.jsonl';
export const RUN_FORMAT = 'dpzo-run/1';

export interface RunRecord {
  format: typeof RUN_FORMAT;
  createdAt: string;
  /** A random id: the dataset ledger keys this run's releases by it (absent in runs made before it existed). */
  runId?: string;
  /** The training file's SHA-256, which keys the dataset ledger the run's releases also went to. */
  dataset?: { sha256: string };
  private: boolean;
  model: { dir: string; weightsHash: string; dtype: string; trainable: string[] | null; trainableNames: string[]; numTrainable: number };
  plan: TrainPlan;
  meta: Record<string, unknown>;
}

export function readRunJson<T = RunRecord>(runDir: string): T {
  const path = join(runDir, RUN_FILE);
  if (!existsSync(path)) throw new DpzoError('ERR_RUN_MISSING', `${runDir} is not a dpzo run directory (no ${RUN_FILE})`);
  const v = JSON.parse(readFileSync(path, 'utf8')) as { format?: string };
  if (v.format !== RUN_FORMAT) throw new DpzoError('ERR_RUN_CORRUPT', `${path}: format '${v.format}' is not ${RUN_FORMAT}`);
  return v as T;
}
