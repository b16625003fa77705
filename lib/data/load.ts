// defines: loadDataset — file + task + model directory -> Dataset, picking the
// tokenizer only when the task needs text.
import type { ModelConfig } from '../model/types.js';
import { readRecords } from './read.js';
import { buildDataset, type Dataset, type TaskSpec } from './tasks.js';
import { loadTokenizer, type TextTokenizer } from './tokenizer.js';

export interface LoadDatasetOptions {
  task: TaskSpec;
  modelDir: string;
  config: Pick<ModelConfig, 'vocabSize' | 'maxPositions'>;
  maxLength?: number;
  limit?: number;
  /** Reuse an already loaded tokenizer. */
  tokenizer?: TextTokenizer | null;
}

export function loadDataset(file: string, opts: LoadDatasetOptions): Dataset {
  const tokenizer = opts.task.kind === 'tokens' ? null : (opts.tokenizer ?? loadTokenizer(opts.modelDir, `the ${opts.task.kind} task`));
  const maxLength = Math.min(opts.maxLength ?? 256, opts.config.maxPositions);
  return buildDataset(readRecords(file), opts.task, tokenizer, { maxLength, vocabSize: opts.config.vocabSize, limit: opts.limit });
}
