// defines: the records `dpzo bench memory` passes between its parent and the
// process it starts per method (memory-child.ts), and what it reports.
import type { Device, WeightDType } from '../model/types.js';

/**
 * The methods measured: a forward, a DP-ZO step with 1 and 4 directions, a DP-SGD step (Adam) with every
 * per-example gradient of the batch materialised (Opacus' regime), and one with ghost clipping (per-example
 * norms in one pass, then one reweighted backward).
 */
export const MEMORY_METHODS = ['inference', 'dpzo', 'dpzo-n4', 'dpsgd-per-example', 'dpsgd-ghost'] as const;
/** `dpzo train`'s default most tokens per native call (TrainOptions.maxBatchTokens). */
export const DEFAULT_MAX_BATCH_TOKENS = 16384;

/** One measured method. */
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
  /** Most tokens per native call, as `dpzo train --max-batch-tokens` (default 16384; DP-ZO's two-point calls take half). */
  maxBatchTokens?: number;
  /** DP-SGD per-example: gradients held at once (default: the whole batch, Opacus' GradSampleModule regime). */
  microBatch?: number;
  /** Build the model from config.json alone with seeded random weights (LoadOptions.randomInit), this seed. */
  randomInit?: number;
}

/** One child's measurement (bytes and seconds). */
export interface MemoryChildResult {
  method: MemoryMethod;
  /** The backend the model loaded on (what --device auto picked): its bytes are host memory on 'cpu', GPU memory on 'cuda'. */
  backend: 'cpu' | 'cuda';
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
  /**
   * Bytes held in JavaScript at the step's peak, by what holds them (DP-SGD: the per-example gradients of
   * the batch, the released sum and the step, Adam's two moments); 0 for inference and DP-ZO.
   */
  js: { perExample: number; gradients: number; optimizerState: number };
  /**
   * The gradient buffer the backend holds during a backward (P floats; 0 without one, and 0 in the per-example
   * regime, where that buffer is handed to JavaScript as one of the per-example gradients and counted there).
   */
  backendGradientBytes: number;
  config: { hiddenSize: number; numLayers: number; vocabSize: number };
  numParams: number;
  numTrainable: number;
  dtype: WeightDType;
  seq: number;
}
