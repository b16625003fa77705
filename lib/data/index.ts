// defines: the data layer's public surface (datasets, tokenizer, Poisson sampler).
export { DataError, type DataErrorCode } from './errors.js';
export { readRecords, formatOf, type Records, type Row, type FileFormat } from './read.js';
export { loadTokenizer, hasTokenizer, type TextTokenizer } from './tokenizer.js';
export {
  buildDataset, validateTemplate, IGNORE, DEFAULT_TEMPLATE, DEFAULT_LABEL_WORDS,
  type TaskSpec, type TaskKind, type LmTask, type ClassificationTask, type TokensTask, type Example, type Dataset, type BuildOptions,
} from './tasks.js';
export { PoissonSampler, cryptoUniform, type UniformSource } from './poisson.js';
export { loadDataset, type LoadDatasetOptions } from './load.js';
