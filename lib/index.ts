// dpzo's public API (the documented one: README "API", docs/training.md): models
// (native core), data, privacy accounting, the DP-ZO trainer with prepareRun, and
// non-private pretraining on public data (pretrain).
// The raw addon, the model's native binding and the crash repair stay internal.
export { loadModel, checkSeed } from './model/model.js';
export { checkDevice, MAX_CUDA_INDEX } from './model/device.js';
export { resolveModelDir, hubCacheDir } from './model/hf-cache.js';
export type * from './model/types.js';
export { DpzoError, type ErrorCode, type NativeErrorCode, type DataErrorCode, type PrivacyErrorCode, type TrainErrorCode } from './errors.js';
export * from './data/index.js';
export * from './privacy/index.js';
export * from './dpzo/index.js';
export * from './audit/index.js';
export { pretrain, type PretrainOptions, type PretrainReport } from './pretrain/pretrain.js';
