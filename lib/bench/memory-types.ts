// defines: the records `dpzo bench memory` passes between its parent and the
// process it starts per method (memory-child.ts), and what it reports.
import type { Device, WeightDType } from '../model/types.js';

/**
 * The methods measured. DP-SGD (per-example and ghost clipping) needs the backward pass of issue 13
 * and is not measured by this version: the report says so instead of computing a number.
 */
export const MEMORY_METHODS = ['inference', 'dpzo', 'dpzo-n4'] as const;
/** One measured method: a forward (inference), a DP-ZO step with 1 or 4 directions. */
export type MemoryMethod = (typeof MEMORY_METHODS)[number];

/** What the parent asks one child process to measure. */
export interface MemoryChildSpec {
  model: string;
  method: MemoryMethod;
  /** Sequences per step. */
  batch: number;
  /** Tokens per sequence (capped at the model's context). */
  seq: number;
  device: Device;
  threads?: number;
  dtype?: WeightDType;
}

/** One child's measurement (bytes and seconds). */
export interface MemoryChildResult {
  method: MemoryMethod;
  /** Bytes the backend holds right after load: the weights. */
  weightsBytes: number;
  /** The backend's high-water mark over two steps (host or device, whichever the model runs on). */
  peakBytes: number;
  hostPeakBytes: number;
  devicePeakBytes: number;
  /** The process's peak resident set (includes Node.js itself and the file read at load). */
  rssPeakBytes: number;
  /** Seconds of the second step. */
  stepSeconds: number;
  config: { hiddenSize: number; numLayers: number; vocabSize: number };
  numParams: number;
  dtype: WeightDType;
  seq: number;
}
