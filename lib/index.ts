// dpzo's public API (the documented one: README "API", docs/training.md): models
// (native core), data, privacy accounting, the DP-ZO trainer with prepareRun, and
// non-private pretraining on public data (pretrain).
// The raw addon, the model's native binding and the crash repair stay internal.
export { loadModel, checkSeed } from './model/model.js';
// the class loadModel returns, as a type only: a caller names it (its backward-pass methods are not optional, as in
// Model), and constructs none (the native binding stays internal)
export type { NativeBackedModel } from './model/model.js';
export { checkDevice, MAX_CUDA_INDEX } from './model/device.js';
export { resolveModelDir, hubCacheDir } from './model/hf-cache.js';
export type * from './model/types.js';
export {
  DpzoError,
  NATIVE_ERROR_CODES,
  type ErrorCode,
  type NativeErrorCode,
  type DataErrorCode,
  type PrivacyErrorCode,
  type TrainErrorCode,
} from './errors.js';
export * from './data/index.js';
export * from './privacy/index.js';
export * from './dpzo/index.js';
export * from './audit/index.js';
export { pretrain, type PretrainOptions, type PretrainReport, type PretrainResult } from './pretrain/pretrain.js';
// Types that exported signatures use (options, results, union members, fields): a consumer must be able to name them.
// Re-exported here, not from the layers' index files, which other concerns own.
export type { LmFormat } from './data/tasks.js';
export type { CalibrationAccountant } from './privacy/calibrate.js';
export type { ComposeGroup, ComposeOptions } from './privacy/pld-compose.js';
export type { DiscretizeOptions } from './privacy/pld-discretize.js';
export type { NoNoiseMechanism } from './privacy/mechanism.js';
export type { RdpEpsilon, RdpDelta } from './privacy/rdp.js';
export { PldGridError, type ResolvedPldOptions } from './privacy/pld.js';
// thrown by discretizePair and composePlds (and caught by the accountants): a caller can test for it and read `needed`
export { GridTooLargeError } from './privacy/errors.js';
export type { ReleaseOrigin, Header as LedgerHeader } from './privacy/ledger-format.js';
export type { RunTrace } from './privacy/dataset-ledger.js';
export type { DatasetSpent } from './dpzo/report.js';
export type { StepForm } from './dpzo/update.js';
export type { TrajectoryRead, VoidRecord } from './dpzo/trajectory.js';
export type { PretrainSettings } from './pretrain/resume.js';
