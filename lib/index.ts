// dpzo's public API.
export { loadModel, NativeBackedModel, checkSeed } from './model/model.js';
export type * from './model/types.js';
export { DpzoError } from './errors.js';
export { native } from './native.js';
