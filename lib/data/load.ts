// defines: loadDataset — file + task + model directory -> Dataset, picking the
// tokenizer only when the task needs text.
import type { ModelConfig } from '../model/types.js';
import { readRecords } from './read.js';
import { DpzoError } from '../errors.js';
import { checkString } from './errors.js';
import { unknownKey } from '../unknown-key.js';
import { buildDataset, type Dataset, type TaskKind, type TaskSpec } from './tasks.js';
import { loadTokenizer, type TextTokenizer } from './tokenizer.js';

/** Options of {@link loadDataset}. */
export interface LoadDatasetOptions {
  /** How rows become examples (lm, classification or tokens, and the field names). */
  task: TaskSpec;
  /** The model directory whose tokenizer.json tokenizes text tasks. */
  modelDir: string;
  /** The model's vocabulary size and context length (`model.config`): ids are checked against the first, lengths capped by the second. */
  config: Pick<ModelConfig, 'vocabSize' | 'maxPositions'>;
  /**
   * Longest sequence in tokens (default 256, capped at the model's maxPositions): longer text is cut (lm: its end; prompt/completion:
   * the prompt's start; classification: the sentence's start), longer pre-tokenized `tokens` rows are refused.
   */
  maxLength?: number;
  /** Keep only the first n rows (default: all). */
  limit?: number;
  /** Reuse an already loaded tokenizer. */
  tokenizer?: TextTokenizer | null;
}

const OPTION_KEYS: Record<keyof LoadDatasetOptions, true> = { task: true, modelDir: true, config: true, maxLength: true, limit: true, tokenizer: true };
const TASK_KEYS: { [K in TaskKind]: Record<keyof Extract<TaskSpec, { kind: K }>, true> } = {
  lm: { kind: true, format: true, textField: true, promptField: true, completionField: true },
  classification: { kind: true, textField: true, labelField: true, template: true, labelWords: true },
  tokens: { kind: true, inputField: true, labelsField: true },
};

function bad(message: string): DpzoError {
  return new DpzoError('ERR_ARGUMENT', message);
}


/** The options, before any file is read: a misspelt name was ignored (maxLenght, labelWord: the defaults applied), a missing one a TypeError. */
function checkOptions(opts: LoadDatasetOptions): void {
  if (typeof opts !== 'object' || opts === null) throw bad('loadDataset options must be an object { task, modelDir, config }');
  const key = unknownKey(opts, OPTION_KEYS);
  if (key !== undefined) throw bad(`${key} is not an option of loadDataset (misspelt?)`);
  const task = opts.task as TaskSpec | null;
  if (typeof task !== 'object' || task === null || !Object.hasOwn(TASK_KEYS, task.kind))
    throw bad("task must be { kind: 'lm' | 'classification' | 'tokens', ... }");
  const taskKey = unknownKey(task, TASK_KEYS[task.kind]);
  if (taskKey !== undefined) throw bad(`task.${taskKey} is not a field of the ${task.kind} task (misspelt?)`);
  if (typeof opts.modelDir !== 'string') throw bad(`modelDir must be a string: the model directory (got ${typeof opts.modelDir})`);
  const tok = opts.tokenizer as Partial<TextTokenizer> | null | undefined;
  if (tok !== undefined && tok !== null && (typeof tok !== 'object' || typeof tok.encode !== 'function'))
    throw bad('tokenizer must be a tokenizer (loadTokenizer), null or left out');
  const c = opts.config as LoadDatasetOptions['config'] | null;
  if (typeof c !== 'object' || c === null || !(Number.isInteger(c.vocabSize) && c.vocabSize > 0) || !(Number.isInteger(c.maxPositions) && c.maxPositions > 0))
    throw bad("config must hold the model's vocabSize and maxPositions (model.config)");
  for (const k of ['maxLength', 'limit'] as const) {
    const v = opts[k];
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw bad(`${k} must be a positive integer (got ${v})`);
  }
}

/**
 * Reads a data file (.jsonl, .json, .csv, .tsv) and turns its rows into a {@link Dataset} for the task: tokenized with the model's tokenizer (text tasks) or
 * taken as token ids (`tokens`), with labels -100 where a position is not a target.
 *
 * @param file The data file; its path is the dataset's `source` (which keys the dataset ledger in training).
 * @param opts Task, model directory and config, length and row limits.
 * @throws {@link DpzoError} `ERR_ARGUMENT` for a file that is not a string, a bad option (a name that is not one, a task field that is not the task's, a length or limit that is not a
 * positive integer); {@link DataError} `ERR_DATA_FORMAT`, `ERR_DATA_EMPTY`, `ERR_DATA_FIELD`, `ERR_DATA_LABEL`, `ERR_DATA_TEMPLATE`, `ERR_DATA_TOKENS` (each naming the
 * file and line), `ERR_NO_TOKENIZER`.
 * @example
 * ```ts
 * import { loadDataset, loadModel } from 'dpzo';
 *
 * const dir = 'models/tiny-gpt2';
 * const model = await loadModel(dir);
 * // rows like {"sentence": "a gripping film", "label": 1}
 * const train = loadDataset('sst2-train.jsonl', {
 *   task: { kind: 'classification', labelWords: [' terrible', ' great'] },
 *   modelDir: dir,
 *   config: model.config,
 *   maxLength: 128,
 * });
 * console.log(train.examples.length, train.candidates);
 * ```
 */
export function loadDataset(file: string, opts: LoadDatasetOptions): Dataset {
  // a number was Node's TypeError ERR_INVALID_ARG_TYPE from deep in node:fs, no DpzoError
  checkString('loadDataset', 'file', file);
  checkOptions(opts);
  const tokenizer = opts.task.kind === 'tokens' ? null : (opts.tokenizer ?? loadTokenizer(opts.modelDir, `the ${opts.task.kind} task`));
  const maxLength = Math.min(opts.maxLength ?? 256, opts.config.maxPositions);
  return buildDataset(readRecords(file), opts.task, tokenizer, { maxLength, vocabSize: opts.config.vocabSize, limit: opts.limit });
}
