// The Model class: the typed public surface (types.ts) over a NativeModel.
// Native ops on one model run one at a time (a promise queue); an AbortSignal
// rejects queued work and cancels the running op through the native flag.
import { DpzoError } from '../errors.js';
import { unknownKey } from '../unknown-key.js';
import { resolveModelDir } from './hf-cache.js';
import { EMPTY_TRAINABLE } from './trainable.js';
import { autoCpuNotice, checkDevice } from './device.js';
import { nativeAddon, type NativeInfo, type NativeModel } from '../native.js';
import { checkBatchKeys, packLossBatch, packSequences } from './batch.js';
import type {
  CallOptions,
  ForwardCallOptions,
  GradientOptions,
  GradNormOptions,
  GradNormsResult,
  LoadOptions,
  LossGradientResult,
  LossBatch,
  LossOptions,
  LossResult,
  MemoryStats,
  Model,
  ModelConfig,
  Seed,
  SeedCoeff,
  TensorInfo,
  UpdateOptions,
  WeightDType,
} from './types.js';

/** Most threads a model may use (the native pool's kMaxThreads): more would only starve the machine. */
export const MAX_THREADS = 1024;

const DTYPE_CODE: Record<WeightDType, number> = { float32: 0, float16: 1, bfloat16: 2 };
const DTYPE_NAME: Record<string, WeightDType> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };
const MAX_SEED = (1n << 64n) - 1n;
const INT32_MAX = 2147483647;
/** The largest finite float32: the core takes coefficients as float32, so a larger finite double became ±inf there. */
const FLOAT32_MAX = 3.4028234663852886e38;
const LOAD_KEYS_OF: Record<keyof LoadOptions, true> = { device: true, dtype: true, threads: true, trainable: true, randomInit: true };
const LOAD_KEYS = new Set(Object.keys(LOAD_KEYS_OF));

/** Validates a seed: a bigint in [0, 2^64) or a non-negative safe integer. */
export function checkSeed(seed: unknown, what = 'seed'): Seed {
  if (typeof seed === 'bigint') {
    if (seed < 0n || seed > MAX_SEED) throw new DpzoError('ERR_SEED', `${what} must be in [0, 2^64) (got ${seed})`);
    return seed;
  }
  if (typeof seed === 'number') {
    if (!Number.isInteger(seed)) throw new DpzoError('ERR_SEED', `${what} must be an integer (got ${seed})`);
    if (seed < 0) throw new DpzoError('ERR_SEED', `${what} must be non-negative (got ${seed})`);
    if (!Number.isSafeInteger(seed)) throw new DpzoError('ERR_SEED', `${what} is not a safe integer; pass a bigint`);
    return seed;
  }
  throw new DpzoError('ERR_SEED', `${what} must be a bigint or a non-negative integer (got ${typeof seed})`);
}

/**
 * A coefficient the core can take: finite as a float32. A double beyond float32 (1e39) passed the finiteness check here and
 * was refused by the core as "update: coefficient 0 is not finite", naming update for a perturb or a forward's point.
 */
function checkCoeff(c: unknown, what: string): number {
  if (typeof c !== 'number' || !Number.isFinite(c)) throw new DpzoError('ERR_ARGUMENT', `${what} must be finite (got ${shown(c)})`);
  if (Math.abs(c) > FLOAT32_MAX) throw new DpzoError('ERR_ARGUMENT', `${what} must be within the float32 range ±${FLOAT32_MAX} (got ${c})`);
  return c;
}

/** A boolean option: { allRows: 'yes' } ran without it, as false. */
function checkFlag(v: unknown, what: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new DpzoError('ERR_ARGUMENT', `${what} must be a boolean (got ${shown(v)})`);
  return v;
}

function checkPairs(pairs: SeedCoeff[], what: string): { seeds: Seed[]; coeffs: number[] } {
  if (!Array.isArray(pairs)) throw new DpzoError('ERR_ARGUMENT', `${what} must be an array of { seed, coeff }`);
  pairs.forEach((p, i) => {
    if (typeof p !== 'object' || p === null) throw new DpzoError('ERR_ARGUMENT', `${what}[${i}] must be a { seed, coeff }`);
  });
  const seeds = pairs.map((p, i) => checkSeed(p.seed, `${what}[${i}].seed`));
  const coeffs = pairs.map((p, i) => checkCoeff(p.coeff, `${what}[${i}].coeff`));
  return { seeds, coeffs };
}

function checkDecay(factor: number): void {
  if (!(Number.isFinite(factor) && factor > 0 && factor <= 1)) throw new DpzoError('ERR_ARGUMENT', `decay factor must be in (0, 1] (got ${factor})`);
}

/** An AbortSignal, or what reads as one (what the queue calls of it); anything else failed as a TypeError inside the queue. */
function checkSignal(signal: unknown): void {
  if (signal === undefined) return;
  const s = signal as Partial<AbortSignal> | null;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.aborted !== 'boolean' ||
    typeof s.addEventListener !== 'function' ||
    typeof s.removeEventListener !== 'function'
  )
    throw new DpzoError('ERR_ARGUMENT', 'signal must be an AbortSignal');
}

/**
 * The options of one call: a misspelt name was ignored ({ At } evaluated at θ, { decy } did not decay, { weight } gave the
 * mean gradient, not the weighted one).
 */
function checkOptions(opts: object | undefined, keys: readonly string[], what: string): void {
  if (opts === undefined) return;
  if (typeof opts !== 'object' || opts === null) throw new DpzoError('ERR_ARGUMENT', `${what} options must be an object`);
  const unknown = unknownKey(opts, [...keys, 'signal']);
  if (unknown !== undefined) throw new DpzoError('ERR_ARGUMENT', `${unknown} is not an option of ${what} (misspelt?)`);
}

/** An argument as an error message shows it: the string '3' read as the number 3 ("must be an integer (got 3)"). */
function shown(v: unknown): string {
  return typeof v === 'string' ? `the string ${JSON.stringify(v.slice(0, 40))}` : String(v);
}

/**
 * A prompt as the core takes it. packSequences names a sequence of a batch, and a prompt is not one: its errors named
 * `promptIds[0][i]` for element i (and `promptIds[0]` for the prompt itself), an element that does not exist.
 */
function promptTokens(promptIds: ArrayLike<number>): Int32Array {
  try {
    return packSequences([promptIds], 'promptIds').tokens;
  } catch (e) {
    if (e instanceof DpzoError && e.message.startsWith('promptIds[0]')) throw new DpzoError(e.code, 'promptIds' + e.message.slice('promptIds[0]'.length));
    throw e;
  }
}

function cancelledError(): DpzoError {
  return new DpzoError('ERR_CANCELLED', 'the operation was cancelled');
}

/**
 * The {@link Model} that {@link loadModel} returns: weights in the native core, on the CPU or a CUDA device. Every optional
 * method of Model is present (`lossAndGradient`, `perExampleGradNorms`, `getTrainable`, `setTrainable`, `addDense`),
 * so no `!` is needed to call them; the backward-pass ones refuse a CUDA model with `ERR_DEVICE`. Exported as a type
 * only: models are made by {@link loadModel}, not constructed.
 */
export class NativeBackedModel implements Model {
  readonly dir: string;
  readonly config: ModelConfig;
  readonly dtype: WeightDType;
  /** The backend the native core chose (device 'auto' may give either). */
  readonly backend: 'cpu' | 'cuda';
  readonly threads: number;
  readonly numParameters: number;
  readonly numTrainable: number;
  private handle: NativeModel | null;
  private readonly info: NativeInfo;
  private readonly byName: Map<string, NativeInfo['tensors'][number]>;
  private queue: Promise<unknown> = Promise.resolve();

  /** @internal models come from {@link loadModel}: the handle is the addon's, which is not public */
  constructor(handle: NativeModel) {
    this.handle = handle;
    this.info = handle.info();
    const { rawModelType, ...config } = this.info.config;
    this.config = { ...config, configModelType: rawModelType };
    this.dir = this.info.dir;
    this.dtype = DTYPE_NAME[this.info.dtype];
    this.threads = this.info.threads;
    this.backend = this.info.backend;
    this.numParameters = this.info.numParameters;
    this.numTrainable = this.info.numTrainable;
    this.byName = new Map();
    for (const t of this.info.tensors) {
      this.byName.set(t.name, t);
      if (t.fileName !== t.name) this.byName.set(t.fileName, t);
    }
  }

  private native(): NativeModel {
    if (!this.handle) throw new DpzoError('ERR_DISPOSED', 'the model was disposed');
    return this.handle;
  }

  /** Runs native ops one at a time; honours an AbortSignal before and during the op. */
  private enqueue<T>(op: (m: NativeModel) => Promise<T>, signal?: AbortSignal): Promise<T> {
    checkSignal(signal);
    const m = this.native();
    let started = false;
    const run = async (): Promise<T> => {
      if (signal?.aborted) throw cancelledError();
      started = true;
      const onAbort = () => m.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        return await op(m);
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    if (!signal) return p;
    // still queued when the signal aborts: reject now (run() then never starts the op), not when the ops ahead of it end;
    // a started op settles with its native work (an update that completed has written θ)
    return new Promise<T>((resolve, reject) => {
      const onQueuedAbort = () => {
        if (!started) reject(cancelledError());
      };
      signal.addEventListener('abort', onQueuedAbort, { once: true });
      p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onQueuedAbort));
    });
  }

  /** Every parameter tensor in canonical order: its names, shape, whether it is trained and where it lies in θ. */
  tensors(): TensorInfo[] {
    return this.info.tensors.map((t) => ({ ...t, shape: [...t.shape] }));
  }

  parameterNames(): string[] {
    return this.info.tensors.map((t) => t.name);
  }

  trainableNames(): string[] {
    return this.info.tensors.filter((t) => t.trainable).map((t) => t.name);
  }

  parameterShape(name: string): number[] {
    const t = this.byName.get(name);
    if (!t) throw new DpzoError('ERR_TENSOR_UNKNOWN', `no parameter named '${name}' in ${this.dir}`);
    return [...t.shape];
  }

  getParameter(name: string): Float32Array {
    return this.native().getParameter(name);
  }

  // async: bad arguments reject the promise rather than throwing synchronously
  async perturb(seed: Seed, scale: number, opts?: CallOptions): Promise<void> {
    checkOptions(opts, [], 'perturb');
    const s = checkSeed(seed);
    checkCoeff(scale, 'scale');
    return this.enqueue((m) => m.perturb(s, scale), opts?.signal);
  }

  async update(pairs: SeedCoeff[], opts?: UpdateOptions): Promise<void> {
    checkOptions(opts, ['decay'], 'update');
    const { seeds, coeffs } = checkPairs(pairs, 'pairs');
    const decay = opts?.decay ?? 1;
    checkDecay(decay);
    return this.enqueue((m) => m.update(seeds, coeffs, { decay }), opts?.signal);
  }

  async addDense(delta: Float32Array, opts?: UpdateOptions): Promise<void> {
    checkOptions(opts, ['decay'], 'addDense');
    if (!(delta instanceof Float32Array)) throw new DpzoError('ERR_ARGUMENT', 'addDense(delta) takes a Float32Array');
    const decay = opts?.decay ?? 1;
    checkDecay(decay);
    return this.enqueue((m) => m.addDense(delta, { decay }), opts?.signal);
  }

  async getTrainable(opts?: CallOptions): Promise<Float32Array> {
    checkOptions(opts, [], 'getTrainable');
    return this.enqueue((m) => m.getTrainable(), opts?.signal);
  }

  async setTrainable(values: Float32Array, opts?: CallOptions): Promise<void> {
    checkOptions(opts, [], 'setTrainable');
    if (!(values instanceof Float32Array)) throw new DpzoError('ERR_ARGUMENT', 'setTrainable(values) takes a Float32Array');
    return this.enqueue((m) => m.setTrainable(values), opts?.signal);
  }

  async decay(factor: number, opts?: CallOptions): Promise<void> {
    checkOptions(opts, [], 'decay');
    checkDecay(factor);
    return this.enqueue((m) => m.decay(factor), opts?.signal);
  }

  async perExampleLoss(batch: LossBatch, opts?: LossOptions): Promise<LossResult> {
    checkOptions(opts, ['at', 'allRows'], 'perExampleLoss');
    const packed = packLossBatch(batch);
    const allRows = checkFlag(opts?.allRows, 'allRows');
    if (opts?.at === undefined) return this.enqueue((m) => m.perExampleLoss(packed, { allRows }), opts?.signal);
    const at = checkPairs(opts.at, 'at');
    const [r] = await this.enqueue((m) => m.perExampleLoss(packed, { points: [at], allRows }), opts?.signal);
    return r!;
  }

  async perExampleLossAt(batch: LossBatch, points: SeedCoeff[][], opts?: ForwardCallOptions): Promise<LossResult[]> {
    checkOptions(opts, ['allRows'], 'perExampleLossAt');
    const packed = packLossBatch(batch);
    if (!Array.isArray(points) || points.length === 0) throw new DpzoError('ERR_ARGUMENT', 'points must be a non-empty array of [{ seed, coeff }]');
    const pts = points.map((p, i) => checkPairs(p, `points[${i}]`));
    const allRows = checkFlag(opts?.allRows, 'allRows');
    return this.enqueue((m) => m.perExampleLoss(packed, { points: pts, allRows }), opts?.signal);
  }

  async lossAndGradient(batch: LossBatch, opts?: GradientOptions): Promise<LossGradientResult> {
    checkOptions(opts, ['weights'], 'lossAndGradient');
    const packed = packLossBatch(batch);
    let weights: Float64Array | undefined;
    if (opts?.weights !== undefined) {
      weights = Float64Array.from(opts.weights);
      if (weights.length !== batch.inputIds.length) {
        throw new DpzoError('ERR_ARGUMENT', 'weights must have one entry per example');
      }
      const bad = weights.findIndex((w) => !Number.isFinite(w));
      if (bad >= 0) throw new DpzoError('ERR_ARGUMENT', `weights[${bad}] must be finite`);
    }
    return this.enqueue((m) => m.lossAndGradient(packed, { weights }), opts?.signal);
  }

  async perExampleGradNorms(batch: LossBatch, opts?: GradNormOptions): Promise<GradNormsResult> {
    checkOptions(opts, ['mode'], 'perExampleGradNorms');
    const packed = packLossBatch(batch);
    const modes = { auto: 0, ghost: 1, explicit: 2 } as const;
    const mode = opts?.mode ?? 'auto';
    if (!Object.hasOwn(modes, mode)) throw new DpzoError('ERR_ARGUMENT', `mode must be 'auto', 'ghost' or 'explicit', got ${String(mode)}`);
    return this.enqueue((m) => m.perExampleGradNorms(packed, { mode: modes[mode] }), opts?.signal);
  }

  async logits(batch: { inputIds: ArrayLike<number>[]; positions?: number[][] }, opts?: CallOptions): Promise<Float32Array[]> {
    checkOptions(opts, [], 'logits');
    if (typeof batch !== 'object' || batch === null) throw new DpzoError('ERR_BATCH', 'a batch must be an object { inputIds, positions? }');
    checkBatchKeys(batch, ['inputIds', 'positions']);
    const packed = packSequences(batch.inputIds);
    // one list per sequence, as labels: a missing, null or short positions read as "every position" for the sequences it
    // did not cover (a wrong-sized result), and a longer one dropped its extra lists without a word
    const given = batch.positions;
    if (given !== undefined && (!Array.isArray(given) || given.length !== batch.inputIds.length)) {
      throw new DpzoError('ERR_BATCH', 'positions must be an array with one list of positions per sequence of inputIds');
    }
    const perSeq: number[][] = given ?? batch.inputIds.map((s) => Array.from({ length: s.length }, (_, t) => t));
    const notList = batch.inputIds.findIndex((_, i) => !Array.isArray(perSeq[i]));
    if (notList >= 0) throw new DpzoError('ERR_BATCH', `positions[${notList}] must be an array of positions`);
    const global: number[] = [];
    perSeq.forEach((ps, i) => {
      const n = packed.offsets[i + 1] - packed.offsets[i];
      for (const p of ps) {
        if (!Number.isInteger(p) || p < 0 || p >= n) {
          // neither the position nor the length: an out-of-range position tells the sequence's private length
          throw new DpzoError('ERR_BATCH', `positions[${i}] holds a position outside sequence ${i} (or not an integer)`);
        }
        global.push(packed.offsets[i] + p);
      }
    });
    // the rows per sequence as asked now: the caller's lists may change while the call is queued
    const counts = perSeq.map((ps) => ps.length);
    const flat = await this.enqueue((m) => m.logits(packed, Int32Array.from(global)), opts?.signal);
    const V = this.config.vocabSize;
    const out: Float32Array[] = [];
    let row = 0;
    for (const n of counts) {
      out.push(flat.slice(row * V, (row + n) * V));
      row += n;
    }
    return out;
  }

  async generate(promptIds: ArrayLike<number>, maxNewTokens: number, opts?: CallOptions & { eosTokenId?: number }): Promise<number[]> {
    checkOptions(opts, ['eosTokenId'], 'generate');
    const prompt = promptTokens(promptIds);
    // the core counts tokens in a C int
    if (!(Number.isInteger(maxNewTokens) && maxNewTokens >= 0 && maxNewTokens <= INT32_MAX)) {
      throw new DpzoError('ERR_ARGUMENT', `maxNewTokens must be an integer in [0, ${INT32_MAX}] (got ${shown(maxNewTokens)})`);
    }
    const eos = opts?.eosTokenId ?? -1;
    if (!(Number.isInteger(eos) && eos >= -1 && eos <= INT32_MAX)) throw new DpzoError('ERR_ARGUMENT', `eosTokenId must be a token id (got ${shown(eos)})`);
    const r = await this.enqueue((m) => m.generate(prompt, maxNewTokens, eos), opts?.signal);
    return Array.from(r);
  }

  async weightsHash(): Promise<string> {
    return this.enqueue((m) => m.weightsHash());
  }

  memory(): MemoryStats {
    return this.native().memory();
  }

  async save(dir: string): Promise<void> {
    return this.enqueue((m) => m.save(dir));
  }

  dispose(): void {
    this.handle?.dispose();
    this.handle = null;
  }
}

/**
 * Loads a Hugging Face model directory (config.json, model.safetensors or its shards with model.safetensors.index.json) of the GPT-2, OPT or Llama family
 * into native memory. The safetensors header is checked strictly (offsets, sizes, coverage) before any weight is read; the work runs off the event loop.
 * A `dir` that does not exist but reads as a Hub id (`org/name`, `org/name@revision`) is taken from the local Hugging Face cache
 * ({@link resolveModelDir}); nothing is ever downloaded.
 *
 * Defaults: device `'cpu'`; dtype as stored in the file; threads 0 (one per CPU the process may use: its affinity mask and cgroup CPU quota; at most 1024); every tensor trainable. With `randomInit`, only
 * config.json is read and the weights are seeded random values (see {@link LoadOptions.randomInit}).
 *
 * @param dir The model directory, or a Hub id cached locally.
 * @param options Device, dtype, threads and trainable patterns.
 * @returns The loaded model, a {@link NativeBackedModel} (a {@link Model} whose backward-pass methods are all present); call `dispose()` when done.
 * @throws {@link DpzoError} `ERR_ARGUMENT` (a bad option, or a name that is not an option), `ERR_ADDON` (the native addon could not be loaded), `ERR_DEVICE` (`'cuda'` without a CUDA build or
 * GPU), `ERR_CONFIG_MISSING` / `ERR_CONFIG` / `ERR_MODEL_TYPE` (no such directory or cached id; config.json missing, invalid or of an unsupported family), `ERR_SAFETENSORS_*`,
 * `ERR_SHARD_MISSING`, `ERR_TENSOR_*` (weights file), `ERR_DTYPE`, `ERR_IO`, `ERR_OUT_OF_MEMORY`.
 * @example
 * ```ts
 * import { loadModel } from 'dpzo';
 *
 * const model = await loadModel('models/opt-125m', { dtype: 'bfloat16', trainable: ['q_proj', 'v_proj'] });
 * try {
 *   console.log(model.backend, model.numTrainable, model.config.maxPositions);
 *   const { loss } = await model.perExampleLoss({ inputIds: [[2, 100, 200, 300]] });
 *   console.log(loss[0]); // mean NLL in nats over positions 1..3
 * } finally {
 *   model.dispose();
 * }
 * ```
 */
export async function loadModel(dir: string, options: LoadOptions = {}): Promise<NativeBackedModel> {
  if (typeof dir !== 'string' || dir.length === 0) throw new DpzoError('ERR_ARGUMENT', 'loadModel needs a directory path');
  if (typeof options !== 'object' || options === null) throw new DpzoError('ERR_ARGUMENT', 'loadModel options must be an object');
  // a misspelt option was ignored: { trainabel: [...] } trained every tensor
  const unknown = unknownKey(options, LOAD_KEYS);
  if (unknown !== undefined) throw new DpzoError('ERR_ARGUMENT', `${unknown} is not an option of loadModel (misspelt?)`);
  dir = resolveModelDir(dir);
  const device = checkDevice(options.device ?? 'cpu');
  const addon = nativeAddon();
  // own keys only: 'toString' in DTYPE_CODE held, and the core was handed a function ("dtype must be an integer")
  if (options.dtype !== undefined && !(typeof options.dtype === 'string' && Object.hasOwn(DTYPE_CODE, options.dtype))) {
    throw new DpzoError('ERR_ARGUMENT', `dtype must be float32, float16 or bfloat16 (got '${options.dtype}')`);
  }
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 0 || options.threads > MAX_THREADS)) {
    throw new DpzoError('ERR_ARGUMENT', `threads must be an integer in [0, ${MAX_THREADS}] (0 = one per usable CPU; got ${options.threads})`);
  }
  const trainable = options.trainable === undefined ? [] : Array.isArray(options.trainable) ? options.trainable : [options.trainable];
  // natively an empty list means every tensor: an empty selection passed in must not silently train them all
  if (options.trainable !== undefined && trainable.length === 0) throw new DpzoError('ERR_ARGUMENT', `trainable ${EMPTY_TRAINABLE}`);
  // the core said "trainable[i] must be a string", naming no entry
  const badPattern = trainable.findIndex((t) => typeof t !== 'string');
  if (badPattern >= 0) throw new DpzoError('ERR_ARGUMENT', `trainable[${badPattern}] must be a string pattern (got ${shown(trainable[badPattern])})`);
  const handle = await addon.loadModel(dir, {
    threads: options.threads ?? 0,
    dtype: options.dtype === undefined ? -1 : DTYPE_CODE[options.dtype],
    trainable,
    // the native registry picks the backend (and says why a device cannot run)
    device,
    ...(options.randomInit === undefined ? {} : { randomInitSeed: randomInitSeed(options.randomInit) }),
  });
  const model = new NativeBackedModel(handle);
  if (device === 'auto' && model.backend === 'cpu' && addon.backends.split(',').includes('cuda'))
    autoCpuNotice('this dpzo build has CUDA but no CUDA device is visible');
  return model;
}

function randomInitSeed(r: unknown): bigint | number {
  const seed = typeof r === 'object' && r !== null ? (r as { seed?: unknown }).seed : undefined;
  if ((typeof seed === 'bigint' && seed >= 0n && seed < 1n << 64n) || (typeof seed === 'number' && Number.isSafeInteger(seed) && seed >= 0)) return seed;
  throw new DpzoError('ERR_ARGUMENT', 'randomInit must be { seed } with seed a bigint in [0, 2^64) or a non-negative safe integer');
}
