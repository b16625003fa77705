// defines: the completion record of `dpzo pretrain` (OUT/pretrain-result.json) — written last, atomically, once the
// final model, its card and the chart are in place, so a run is finished exactly when it is there. `--resume OUT` of a
// finished run found no marker: it trained again from the last checkpoint and wrote the final model over the one there.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import { DpzoError } from '../errors.js';
import { writeTextAtomic } from '../io/json-file.js';
import { type PretrainSettings, isCheckpointName } from './resume.js';

/** The completion record's name in a pretrain --out directory. */
export const PRETRAIN_RESULT_FILE = 'pretrain-result.json';
const FORMAT = 'dpzo-pretrain-result/1';

/** OUT/pretrain-result.json: the settings the run was made with (a resume checks them) and what it printed. */
export interface PretrainResultRecord {
  format: typeof FORMAT;
  settings: PretrainSettings;
  /** The object `--json` printed at the end of the run. */
  result: Record<string, unknown>;
}

/** Writes the completion record of the finished run in `out` (last: the run is finished once it is there). */
export function writePretrainResult(out: string, settings: PretrainSettings, result: object): void {
  const record = { format: FORMAT, settings, result };
  writeTextAtomic(join(out, PRETRAIN_RESULT_FILE), JSON.stringify(record, null, 1) + '\n');
}

/**
 * The finished run that `--resume path` names (`path` its --out, or one of its checkpoint-<step> directories) and its
 * record, or undefined when that run is not finished.
 * @throws {@link DpzoError} `ERR_RUN_CORRUPT` naming the record when it is not one.
 */
export function findFinishedPretrain(path: string): { out: string; record: PretrainResultRecord } | undefined {
  const candidates = [resolve(path), ...(isCheckpointName(path) ? [dirname(resolve(path))] : [])];
  const out = candidates.find((d) => existsSync(join(d, PRETRAIN_RESULT_FILE)));
  if (out === undefined) return undefined;
  const file = join(out, PRETRAIN_RESULT_FILE);
  let r: Partial<PretrainResultRecord> | null;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as Partial<PretrainResultRecord> | null;
  } catch {
    throw new DpzoError('ERR_RUN_CORRUPT', `${file}: not valid JSON`);
  }
  if (r === null || typeof r !== 'object' || r.format !== FORMAT) throw new DpzoError('ERR_RUN_CORRUPT', `${file}: not a ${FORMAT} record`);
  for (const k of ['settings', 'result'] as const)
    if (typeof r[k] !== 'object' || r[k] === null || Array.isArray(r[k])) throw new DpzoError('ERR_RUN_CORRUPT', `${file}: ${k} is not an object`);
  return { out, record: r as PretrainResultRecord };
}
