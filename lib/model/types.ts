// The public, typed surface of a loaded model (implemented in lib/model/model.ts
// over the native binding). Other layers (data, trainer, CLI) code against this.

/**
 * Where a model runs: `'cpu'`, `'cuda'` (= `'cuda:0'`; an error when the addon has no CUDA backend or sees no GPU), `'cuda:N'` (the N-th CUDA
 * device the process sees), or `'auto'` (CUDA device 0 when available, else CPU).
 */
export type Device = 'cpu' | 'cuda' | `cuda:${number}` | 'auto';
/** Storage type of the weights in memory (compute is float32 throughout). */
export type WeightDType = 'float32' | 'float16' | 'bfloat16';
/** A direction seed: a bigint in [0, 2^64) or a non-negative safe integer. */
export type Seed = bigint | number;

/** Options of {@link loadModel}. */
export interface LoadOptions {
  /** Backend to run on (default `'cpu'`). */
  device?: Device;
  /** Convert weights to this dtype on load (default: as stored in the file). */
  dtype?: WeightDType;
  /** Worker threads of the native pool (default 0: one per CPU the process may use). */
  threads?: number;
  /** Trainable tensors by name pattern ('*' wildcard, else substring match); default: all. An empty list is refused (`ERR_ARGUMENT`): it would select nothing. */
  trainable?: string[] | string;
  /**
   * Build the model from `config.json` alone, with seeded random weights, and read no weights file (for benchmarks of shapes not on disk):
   * matrices N(0, 0.02²) from the Philox directions keyed by `seed`, norm gains 1, biases 0, stored in `dtype` (default float32) rounded to
   * nearest; built directly on the device for CUDA. The same seed and dtype give the same weights (the same weightsHash) on every backend.
   */
  randomInit?: { seed: Seed };
}

/** config.json normalised across families (Hugging Face attribute names, camelCase). */
export interface ModelConfig {
  /** Model family: the engine's (Mistral, Qwen2 and Qwen3 checkpoints run as `'llama'`). */
  modelType: 'gpt2' | 'opt' | 'llama';
  /**
   * config.json's own `model_type` (e.g. `'mistral'`, `'qwen2'`, `'qwen3'`), which `modelType` maps to a family: a tool that
   * names the architecture to its user (as `dpzo info` does) reads it here. Present on every model {@link loadModel} returns.
   */
  configModelType?: string;
  /** Vocabulary size (token ids are in [0, vocabSize)). */
  vocabSize: number;
  /** Width of the residual stream (d_model). */
  hiddenSize: number;
  /** Number of transformer blocks. */
  numLayers: number;
  /** Attention heads (query heads). */
  numHeads: number;
  /** Key/value heads (fewer than numHeads for grouped-query attention; equal otherwise). */
  numKvHeads: number;
  /** Dimension of one attention head. */
  headDim: number;
  /** Width of the MLP's hidden layer. */
  intermediateSize: number;
  /**
   * Longest sequence the model takes, in tokens (position embeddings or the RoPE context; for Mistral, and Qwen2
   * when some layer is windowed (use_sliding_window with max_window_layers or layer_types), at most the sliding window:
   * within it sliding-window attention is full attention).
   */
  maxPositions: number;
  /** Whether the LM head shares the token embedding matrix. */
  tieWordEmbeddings: boolean;
  /** Beginning-of-sequence token id, if the config names one. */
  bosTokenId: number | null;
  /** End-of-sequence token id, if the config names one. */
  eosTokenId: number | null;
}

/** One parameter tensor of a loaded model, as {@link NativeBackedModel.tensors} lists it (canonical order). */
export interface TensorInfo {
  /** The canonical name (the one parameterNames() gives). */
  name: string;
  /** The name in the weights file (GPT-2's files may lack the `transformer.` prefix). */
  fileName: string;
  /** The Hugging Face shape. */
  shape: number[];
  /** Elements (the product of the shape). */
  numel: number;
  /** Whether the trainable patterns matched it. */
  trainable: boolean;
  /** Its first index in the flat trainable vector θ (getTrainable, a gradient); -1 for a frozen tensor. */
  globalOffset: number;
}

/** Bytes held by a model, as its backend accounts them (weights plus working buffers). */
export interface MemoryStats {
  /** Bytes held in host memory now. */
  hostBytes: number;
  /** Highest host bytes since load. */
  hostPeakBytes: number;
  /** Bytes held in GPU memory now (0 on the CPU backend). */
  deviceBytes: number;
  /** Highest GPU bytes since load (0 on the CPU backend). */
  devicePeakBytes: number;
}

/**
 * A packed batch in Hugging Face conventions. `labels[t]` (same length as the
 * sequence) is predicted by the logits at t-1; -100 = not a target. Without
 * labels, every position from 1 on is a target.
 */
export interface LossBatch {
  /** Token ids of each sequence (each in [0, vocabSize), at most maxPositions long). */
  inputIds: ArrayLike<number>[];
  /**
   * Per sequence, same length as its inputIds: the target token at each position, or -100 for none. The first
   * position is never a target, but its label too must be a token id or -100 (else `ERR_TOKEN_RANGE`).
   */
  labels?: ArrayLike<number>[];
  /** Candidate-set mode: cross-entropy over these K token ids only at each target. */
  candidates?: ArrayLike<number>;
}

/** What {@link Model.perExampleLoss} returns, one entry per sequence of the batch. */
export interface LossResult {
  /** Per sequence: mean NLL over its targets (NaN when it has none). */
  loss: Float64Array;
  /** Per sequence: number of targets. */
  targets: Int32Array;
  /** Candidate mode: n × K candidate logits at each sequence's last target. */
  candidateLogits?: Float32Array;
}

/** Options every asynchronous model call takes. */
export interface CallOptions {
  /** Cancels the call: the native work stops at its next check and the promise rejects with `ERR_CANCELLED`. */
  signal?: AbortSignal;
}

/** Options of {@link Model.update}. */
export interface UpdateOptions extends CallOptions {
  /**
   * Decoupled weight decay fused into the same pass: θ ← decay·(θ + Σ c_k z_k) on trainable tensors of
   * rank ≥ 2 (never biases or norms), θ + Σ c_k z_k elsewhere. In (0, 1]; default 1 (no decay). For
   * float32 weights this is bit for bit `update` then `decay(decay)`; for bfloat16/float16 it rounds once.
   */
  decay?: number;
}

/** Options of a forward pass ({@link Model.perExampleLossAt}). */
export interface ForwardCallOptions extends CallOptions {
  /**
   * Run the LM head on every position after each sequence's first, targets or not (the others are
   * computed and discarded): the call's cost then depends on the batch's shape alone, not on how many
   * targets it holds (constant-time steps). The losses are the same.
   */
  allRows?: boolean;
}

/** Options of {@link Model.perExampleLoss}. */
export interface LossOptions extends ForwardCallOptions {
  /**
   * Evaluate at the virtual point θ + Σ_k coeff_k·z(seed_k) without writing θ (ARCHITECTURE §2,
   * exactness): every trainable weight is read as the float32 value fl(w + Σ c_k z_k). For float32 weights
   * and one pair this is bit for bit `perturb(seed, coeff)` followed by a forward, without the restore; for
   * bfloat16/float16 it is exact where the in-place perturb would round θ + c·z to the dtype.
   */
  at?: SeedCoeff[];
}

/** Options of `lossAndGradient`: which weighted sum of the per-example losses to differentiate. */
export interface GradientOptions extends CallOptions {
  /**
   * Per-example coefficients w_s: the gradient returned is that of Σ_s w_s·loss_s. Default: the mean over the
   * examples that have targets (1/n each; an example without targets has loss NaN and contributes nothing).
   * A one-hot vector gives one example's gradient (DP-SGD's per-example regime); min(1, C/‖g_s‖)/B gives
   * ghost clipping's reweighted backward.
   */
  weights?: ArrayLike<number>;
}

/** What `lossAndGradient` returns: the per-example losses of the forward and the gradient of their weighted sum. */
export interface LossGradientResult extends LossResult {
  /**
   * ∂(Σ_s w_s·loss_s)/∂θ over the trainable parameters, flat, in canonical order: element e of trainable
   * tensor j (row-major in its Hugging Face shape) at its globalOffset + e (ARCHITECTURE §2).
   */
  grad: Float32Array;
}

/** Options of `perExampleGradNorms`. */
export interface GradNormOptions extends CallOptions {
  /**
   * How a linear layer's per-example norm is computed: 'ghost' — the ghost norm Σ_{t,t'} (a_t·a_t')(g_t·g_t')
   * of its input rows a and output gradients g, O(T²(d_in + d_out)) per sequence; 'explicit' — the
   * per-sequence product ‖Σ_t g_t a_tᵀ‖_F, O(T·d_in·d_out); 'auto' (default) — explicit when d_in·d_out < T²,
   * per layer and sequence. All three give the same norms up to float32 rounding.
   */
  mode?: 'auto' | 'ghost' | 'explicit';
}

/** What `perExampleGradNorms` returns: the per-example losses of the forward and each example's gradient norm. */
export interface GradNormsResult extends LossResult {
  /**
   * Per example s: ‖∂loss_s/∂θ‖₂ over the trainable parameters — the norm of what `lossAndGradient` returns
   * with the one-hot weights for s (0 for an example without targets).
   */
  norms: Float64Array;
}

/** A scaled direction: `coeff · z(seed)`, where z(seed) is the standard Gaussian direction over the trainable weights that `seed` generates (Philox4x32-10, Box–Muller). */
export interface SeedCoeff {
  /** The direction's seed. */
  seed: Seed;
  /** The direction's coefficient (finite). */
  coeff: number;
}

/**
 * A loaded transformer language model (GPT-2, OPT or Llama family) with weights in native memory, as {@link loadModel} returns it. Native calls of one model
 * run one at a time, in call order, off the event loop; every error is a {@link DpzoError} with a code. Call {@link Model.dispose} when done: it frees the
 * weights at once instead of whenever the garbage collector reclaims the object.
 */
export interface Model {
  /** The directory the model was loaded from. */
  readonly dir: string;
  /** The model's config.json, normalised. */
  readonly config: ModelConfig;
  /** Storage type of the weights. */
  readonly dtype: WeightDType;
  /** The backend the model runs on. */
  readonly backend: 'cpu' | 'cuda';
  /** Worker threads of the native pool. */
  readonly threads: number;
  /** Number of parameters (elements; tied weights once). */
  readonly numParameters: number;
  /** Number of trainable parameters (elements of the tensors matched by the trainable patterns). */
  readonly numTrainable: number;
  /** All parameter names in canonical order (byte-sorted, tied weights once). */
  parameterNames(): string[];
  /** Trainable parameter names, canonical order. */
  trainableNames(): string[];
  /**
   * A float32 copy of a parameter in its Hugging Face shape (row-major). Synchronous:
   * throws ERR_BUSY while a native operation of this model runs (await it first).
   */
  getParameter(name: string): Float32Array;
  /**
   * The Hugging Face shape of a parameter.
   * @throws {@link DpzoError} `ERR_TENSOR_UNKNOWN` for an unknown name.
   */
  parameterShape(name: string): number[];
  /**
   * θ += scale · z(seed), in place over the trainable tensors, rounded to nearest: in float16/bfloat16 a
   * walk of perturbs drifts (θ + εz − εz ≠ θ), which is why the trainer evaluates at virtual points
   * (`perExampleLoss` with `at`) and never calls this. For float32 tools that perturb in place it is exact
   * enough and bit for bit what a forward at `at: [{ seed, coeff: scale }]` reads.
   */
  perturb(seed: Seed, scale: number, opts?: CallOptions): Promise<void>;
  /**
   * θ += Σ coeff_k · z(seed_k), one pass over memory (with opts.decay: fused decoupled weight decay). In
   * float16/bfloat16 the result is rounded stochastically with rounding bits drawn from the first pair's
   * seed (ARCHITECTURE §2), so updates far below an ulp still move θ in expectation and a replay of the same
   * calls reproduces the weights bit for bit; float32 rounds to nearest. Use a fresh seed per call.
   */
  update(pairs: SeedCoeff[], opts?: UpdateOptions): Promise<void>;
  /**
   * A dense step for gradient methods (`dpzo pretrain`): θ ← f·(θ + delta) over the trainable parameters,
   * delta flat in canonical order (the layout of {@link LossGradientResult.grad}, length numTrainable), with
   * f = opts.decay (default 1) on weight matrices as in {@link Model.update}. CPU backend, float32 weights;
   * ERR_DTYPE, ERR_DEVICE or ERR_ARGUMENT (wrong length, a non-finite value) otherwise. Optional: test doubles
   * leave it out. `delta` is read when the call runs, not copied when it is made (it is P floats): leave it unchanged
   * until the promise settles.
   */
  addDense?(delta: Float32Array, opts?: UpdateOptions): Promise<void>;
  /**
   * A float32 copy of the trainable parameters, flat in canonical order (the layout of
   * {@link LossGradientResult.grad}): what a DP-SGD checkpoint stores. Same availability and errors as
   * {@link Model.addDense}.
   */
  getTrainable?(opts?: CallOptions): Promise<Float32Array>;
  /**
   * θ ← values over the trainable parameters (flat, canonical order, length numTrainable), bit for bit:
   * how a DP-SGD checkpoint is restored on resume and export. Same availability and errors as
   * {@link Model.addDense}; every value must be finite (checked before anything is written). As with addDense, `values`
   * is read when the call runs: leave it unchanged until the promise settles.
   */
  setTrainable?(values: Float32Array, opts?: CallOptions): Promise<void>;
  /**
   * Decoupled weight decay: θ ← factor·θ on trainable tensors of rank ≥ 2
   * (biases and norm weights are never decayed). factor in (0, 1].
   */
  decay(factor: number, opts?: CallOptions): Promise<void>;
  /**
   * Mean negative log-likelihood (nats) per sequence of a packed batch (or, with `candidates`, cross-entropy over the candidate ids), at θ or at the virtual
   * point `opts.at`.
   * @throws {@link DpzoError} `ERR_BATCH`, `ERR_TOKEN_RANGE`, `ERR_SEQUENCE_LENGTH` for a malformed batch, `ERR_CANCELLED`, `ERR_OUT_OF_MEMORY`.
   */
  perExampleLoss(batch: LossBatch, opts?: LossOptions): Promise<LossResult>;
  /**
   * The losses of one batch at several virtual points (as `perExampleLoss` with `at`), in one pass that
   * reads each weight once and generates each distinct direction once: a DP-ZO step evaluates its +εz and
   * −εz points this way. Each result is bit for bit what `perExampleLoss(batch, { at })` gives alone.
   * At most 8 points; activations grow with their number.
   */
  perExampleLossAt(batch: LossBatch, points: SeedCoeff[][], opts?: ForwardCallOptions): Promise<LossResult[]>;
  /**
   * Forward + backward at θ (CPU backend, float32 weights, every family: gpt2, opt, llama; ERR_DTYPE or
   * ERR_DEVICE otherwise): the per-example losses of `perExampleLoss` (bit for bit) and the gradient of
   * their weighted sum. With `candidates` the loss is the candidate-set cross-entropy of `perExampleLoss`, whose
   * head gradient touches the K candidate rows only. Optional: models without a backward
   * (test doubles) leave it out.
   */
  lossAndGradient?(batch: LossBatch, opts?: GradientOptions): Promise<LossGradientResult>;
  /**
   * Per-example gradient norms without per-example gradients (ghost clipping: Li et al. 2021; Bu et al. 2022,
   * book-keeping), from ONE forward + backward of the batch: for each example s, ‖∂loss_s/∂θ‖₂ over the
   * trainable parameters — linear layers from their input rows and output gradients, norms' weights and
   * biases, embeddings (repeated tokens add; a tied head's cross term included) and the head exactly. With
   * them, `lossAndGradient` weighted min(1, C/norm_s)/B gives DP-SGD's clipped sum in one more backward.
   * Same availability and errors as `lossAndGradient`; optional likewise.
   */
  perExampleGradNorms?(batch: LossBatch, opts?: GradNormOptions): Promise<GradNormsResult>;
  /** Full-vocabulary logits at `positions` (indices into each sequence); n × vocab per sequence. */
  logits(batch: { inputIds: ArrayLike<number>[]; positions?: number[][] }, opts?: CallOptions): Promise<Float32Array[]>;
  /** Greedy decoding: up to `maxNewTokens` tokens after the prompt, stopping at `opts.eosTokenId`. Returns the generated token ids (not the prompt). */
  generate(promptIds: ArrayLike<number>, maxNewTokens: number, opts?: CallOptions & { eosTokenId?: number }): Promise<number[]>;
  /** SHA-256 (hex) of all parameter bytes in canonical order. */
  weightsHash(): Promise<string>;
  /** Bytes held now and at peak. */
  memory(): MemoryStats;
  /**
   * Writes config.json and model.safetensors (the same tensor names and dtype as loaded) into `dir`, atomically (temporary files renamed into place), so the
   * result opens in Hugging Face transformers. The tokenizer is not copied.
   * @throws {@link DpzoError} `ERR_IO`.
   */
  save(dir: string): Promise<void>;
  /**
   * Frees the native weights and buffers now. Any later call that reaches them (the losses, perturb, update, getParameter, memory,
   * save, weightsHash, ...) throws `ERR_DISPOSED`; the metadata read at load (dir, config, parameterNames, parameterShape)
   * stays readable. Calling dispose again does nothing.
   */
  dispose(): void;
}
