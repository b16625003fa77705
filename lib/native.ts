// Loads the addon (found by addon-path.ts: DPZO_ADDON, build/, prebuilds/) and declares the typed
// surface of everything it exposes. The rest of lib/ never touches untyped
// native objects.
import { createRequire } from 'node:module';

import { resolveAddonPath } from './addon-path.js';
import { DpzoError, NATIVE_ERROR_CODES, type NativeErrorCode } from './errors.js';
import type { ModelConfig, TensorInfo } from './model/types.js';

const require = createRequire(import.meta.url);

/** Stable codes carried by errors from the native core: lib/errors.ts NATIVE_ERROR_CODES (one list). */
export type DpzoErrorCode = NativeErrorCode;

/** The public ModelConfig plus config.json's own model_type (e.g. "mistral" for the llama family). */
export type NativeConfig = ModelConfig & { rawModelType: string };

export interface NativeInfo {
  dir: string;
  config: NativeConfig;
  dtype: 'F32' | 'F16' | 'BF16';
  threads: number;
  /** The backend running this model. */
  backend: 'cpu' | 'cuda';
  numParameters: number;
  numTrainable: number;
  tensors: TensorInfo[];
}

/** A packed batch: concatenated tokens, n+1 offsets, optional labels/candidates. */
export interface NativeBatch {
  tokens: Int32Array;
  offsets: Int32Array;
  labels?: Int32Array;
  candidates?: Int32Array;
}

export interface NativeLossResult {
  loss: Float64Array;
  targets: Int32Array;
  candidateLogits?: Float32Array;
}

export interface NativeLossGradient {
  loss: Float64Array;
  targets: Int32Array;
  grad: Float32Array;
}

export interface NativeGradNorms {
  loss: Float64Array;
  targets: Int32Array;
  norms: Float64Array;
}

export interface NativeModel {
  info(): NativeInfo;
  getParameter(name: string): Float32Array;
  perturb(seed: bigint | number, scale: number): Promise<void>;
  update(seeds: (bigint | number)[], coeffs: number[], opts?: { decay?: number }): Promise<void>;
  decay(factor: number): Promise<void>;
  /** θ ← f·(θ + delta) over the trainable parameters in canonical order (F32 weights, CPU). */
  addDense(delta: Float32Array, opts?: { decay?: number }): Promise<void>;
  /** The trainable parameters, flat in canonical order (F32 weights, CPU). */
  getTrainable(): Promise<Float32Array>;
  /** θ ← values over the trainable parameters, bit for bit (F32 weights, CPU). */
  setTrainable(values: Float32Array): Promise<void>;
  perExampleLoss(batch: NativeBatch, opts?: { allRows?: boolean }): Promise<NativeLossResult>;
  perExampleLoss(batch: NativeBatch, opts: { points: { seeds: (bigint | number)[]; coeffs: number[] }[]; allRows?: boolean }): Promise<NativeLossResult[]>;
  /** Forward + backward at θ: per-example losses and the gradient of Σ_s weights[s]·loss_s (F32 weights). */
  lossAndGradient(batch: NativeBatch, opts?: { weights?: Float64Array }): Promise<NativeLossGradient>;
  /** Per-example gradient norms ‖∂loss_s/∂θ‖₂ from one forward + backward (ghost clipping); mode 0 auto, 1 ghost, 2 explicit. */
  perExampleGradNorms(batch: NativeBatch, opts?: { mode?: number }): Promise<NativeGradNorms>;
  logits(batch: NativeBatch, positions: Int32Array): Promise<Float32Array>;
  generate(prompt: Int32Array, maxNewTokens: number, eosTokenId?: number): Promise<Int32Array>;
  save(dir: string): Promise<void>;
  weightsHash(): Promise<string>;
  memory(): { hostBytes: number; hostPeakBytes: number; deviceBytes: number; devicePeakBytes: number };
  /** Flags every in-flight native op of this model; they reject with ERR_CANCELLED. */
  cancel(): void;
  dispose(): void;
}

export interface NativeLoadOptions {
  threads?: number;
  /** -1 = as stored, 0 = F32, 1 = F16, 2 = BF16 */
  dtype?: number;
  trainable?: string[];
  /** 'cpu' | 'cuda' | 'cuda:N' | 'auto': chosen by the native backend registry (ERR_DEVICE says why one cannot run). */
  device?: string;
  /** Present: a model from config.json alone with seeded random weights (dpzo/random_init.h). */
  randomInitSeed?: bigint | number;
}

export interface NativeAddon {
  loadModel(dir: string, opts: NativeLoadOptions): Promise<NativeModel>;
  philox(counter: Uint32Array, key: Uint32Array): Uint32Array;
  /** Tests: each value rounded to bf16/f16 with its stochastic-rounding word, widened back. */
  roundStochastic(values: Float32Array, words: Uint32Array, dtype: 'bf16' | 'f16'): Float32Array;
  direction(seed: bigint | number, g0: bigint | number, count: number): Float32Array;
  directionIsa(): string;
  /** Comma-separated backends compiled in, e.g. "cpu" or "cpu,cuda". */
  backends: string;
  /** CUDA devices this process can use: 0 without a CUDA build or a visible GPU (absent in older addons). */
  cudaDevices?(): number;
  /** The CUDA devices this process sees, index = the N of 'cuda:N' (empty without a CUDA build or GPU; absent in older addons). */
  cudaDeviceList?(): { index: number; name: string; totalBytes: number }[];
  /** The CPUs a model's `threads: 0` runs on: the affinity mask, capped by a cgroup CPU quota (native/core/thread_pool.cpp). */
  usableCpus?(): number;
  /** Times a plain m×k by k×n GEMM with the core's kernel; GFLOP/s (present when the GEMM exposes it). */
  gemmBench?(m: number, n: number, k: number, threads: number, iters: number): number;
}

const NATIVE_CODES: ReadonlySet<string> = new Set(NATIVE_ERROR_CODES);

/**
 * An error of the addon as the API documents it: the binding throws plain `Error`s with a `code`, so `e instanceof DpzoError`
 * was false for every native error (ERR_CONFIG_MISSING, ERR_TOKEN_RANGE, ERR_CANCELLED, ...) and an asynchronous one had no
 * stack. Anything else is returned as it is.
 */
export function asDpzoError(e: unknown): unknown {
  if (e instanceof DpzoError || !(e instanceof Error)) return e;
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string' || !NATIVE_CODES.has(code)) return e;
  return new DpzoError(code as NativeErrorCode, e.message);
}

/**
 * `obj` with every method's error (thrown, or a rejection of its promise) turned into a DpzoError by asDpzoError; `models`:
 * what `loadModel` resolves to is wrapped too. The methods run on `obj` itself (the addon's classes unwrap `this`).
 */
function withDpzoErrors<T extends object>(obj: T, models = false): T {
  return new Proxy(obj, {
    get(target, prop) {
      const v: unknown = Reflect.get(target, prop, target);
      // a class (the addon's NativeModel) stays itself: a wrapper could not be constructed nor serve instanceof
      if (typeof v !== 'function' || /^[A-Z]/.test(String(prop))) return v;
      return (...args: unknown[]): unknown => {
        let r: unknown;
        try {
          r = Reflect.apply(v, target, args);
        } catch (e) {
          throw asDpzoError(e);
        }
        if (!(r instanceof Promise)) return r;
        return r.then(
          (x: unknown) => (models && prop === 'loadModel' ? withDpzoErrors(x as object) : x),
          (e: unknown) => {
            throw asDpzoError(e);
          },
        );
      };
    },
  });
}

function load(): NativeAddon {
  // DPZO_ADDON, then build/, then prebuilds/<platform>-<arch>-<libc> (lib/addon-path.ts)
  return withDpzoErrors(require(resolveAddonPath()) as NativeAddon, true);
}

let cached: NativeAddon | undefined;

/** The addon, loaded on first use (so that pure-TS parts work without a build). */
export function nativeAddon(): NativeAddon {
  if (!cached) {
    try {
      cached = load();
    } catch (e) {
      throw new DpzoError('ERR_ADDON', `the native addon is not built (${(e as Error).message.split('\n')[0]}). Run \`npm run build:native\`.`, { cause: e });
    }
  }
  return cached;
}

/** Lazy proxy: `native.philox(...)` loads the addon on first property access. */
export const native: NativeAddon = new Proxy({} as NativeAddon, {
  get(_t, prop) {
    return (nativeAddon() as unknown as Record<string | symbol, unknown>)[prop];
  },
});
