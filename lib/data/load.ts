// defines: loadDataset — file + task + model directory -> Dataset, picking the
// tokenizer only when the task needs text.
import type { ModelConfig } from '../model/types.js';
import { readRecords } from './read.js';
import { buildDataset, type Dataset, type TaskSpec } from './tasks.js';
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

/**
 * Reads a data file (.jsonl, .json, .csv, .tsv) and turns its rows into a {@link Dataset} for the task: tokenized with the model's tokenizer (text tasks) or
 * taken as token ids (`tokens`), with labels -100 where a position is not a target.
 *
 * @param file The data file; its path is the dataset's `source` (which keys the dataset ledger in training).
 * @param opts Task, model directory and config, length and row limits.
 * @throws {@link DataError} `ERR_DATA_FORMAT`, `ERR_DATA_EMPTY`, `ERR_DATA_FIELD`, `ERR_DATA_LABEL`, `ERR_DATA_TEMPLATE`, `ERR_DATA_TOKENS` (each naming the
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
  const tokenizer = opts.task.kind === 'tokens' ? null : (opts.tokenizer ?? loadTokenizer(opts.modelDir, `the ${opts.task.kind} task`));
  const maxLength = Math.min(opts.maxLength ?? 256, opts.config.maxPositions);
  return buildDataset(readRecords(file), opts.task, tokenizer, { maxLength, vocabSize: opts.config.vocabSize, limit: opts.limit });
}
