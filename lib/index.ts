// dpzo's public API: models (native core), data, privacy accounting, and the
// DP-ZO trainer. Everything the CLI does is reachable from here.
export { loadModel, NativeBackedModel, checkSeed } from './model/model.js';
export type * from './model/types.js';
export { DpzoError } from './errors.js';
export { native } from './native.js';
export * from './data/index.js';
export * from './privacy/index.js';
export * from './dpzo/index.js';
