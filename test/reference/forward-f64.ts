// defines: RefModel, an independent float64 forward of GPT-2, OPT and Llama
// written plainly with loops, following transformers' modeling code
// (modeling_gpt2.py, modeling_opt.py, modeling_llama.py, modeling_qwen3.py); and the loss helpers
// (Hugging Face labels, candidate-set cross-entropy). Shares nothing with
// native/ or lib/: it reads config.json fields and state-dict tensors directly.

export interface RefTensor {
  shape: number[];
  values: Float64Array | Float32Array;
}

type Json = Record<string, unknown>;

// ---- small float64 kernels -------------------------------------------------

/** y = W x + b with nn.Linear's weight (out, in). */
function linear(x: Float64Array, w: RefTensor, b?: RefTensor): Float64Array {
  const [out, inn] = w.shape as [number, number];
  if (x.length !== inn) throw new Error(`linear: input ${x.length} != weight in ${inn}`);
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = 0;
    const row = o * inn;
    for (let i = 0; i < inn; i++) s += w.values[row + i]! * x[i]!;
    y[o] = s + (b ? b.values[o]! : 0);
  }
  return y;
}

/** y = x W + b with GPT-2's Conv1D weight (in, out). */
function conv1d(x: Float64Array, w: RefTensor, b: RefTensor): Float64Array {
  const [inn, out] = w.shape as [number, number];
  if (x.length !== inn) throw new Error(`conv1d: input ${x.length} != weight in ${inn}`);
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) y[o] = b.values[o]!;
  for (let i = 0; i < inn; i++) {
    const xi = x[i]!;
    const row = i * out;
    for (let o = 0; o < out; o++) y[o] += xi * w.values[row + o]!;
  }
  return y;
}

function layerNorm(x: Float64Array, w: RefTensor, b: RefTensor, eps: number): Float64Array {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i]!;
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i]! - mean) ** 2;
  v /= n; // biased variance, as torch.nn.LayerNorm
  const inv = 1 / Math.sqrt(v + eps);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = (x[i]! - mean) * inv * w.values[i]! + b.values[i]!;
  return y;
}

function rmsNorm(x: Float64Array, w: RefTensor, eps: number): Float64Array {
  const n = x.length;
  let ms = 0;
  for (let i = 0; i < n; i++) ms += x[i]! * x[i]!;
  ms /= n;
  const inv = 1 / Math.sqrt(ms + eps);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = w.values[i]! * (x[i]! * inv);
  return y;
}

/**
 * Qwen3Attention's q_norm / k_norm: the projection viewed as (heads, d), each head's d values RMS-normalised on
 * their own and scaled by the one weight of length d (Qwen3RMSNorm(head_dim)).
 */
function perHeadRmsNorm(x: Float64Array, heads: number, d: number, w: RefTensor, eps: number): Float64Array {
  if (w.values.length !== d) throw new Error(`perHeadRmsNorm: weight ${w.values.length} != head_dim ${d}`);
  const y = new Float64Array(x.length);
  for (let h = 0; h < heads; h++) {
    let ms = 0;
    for (let i = 0; i < d; i++) ms += x[h * d + i]! ** 2;
    const inv = 1 / Math.sqrt(ms / d + eps);
    for (let i = 0; i < d; i++) y[h * d + i] = w.values[i]! * (x[h * d + i]! * inv);
  }
  return y;
}

/** gelu_new / gelu_pytorch_tanh: 0.5 x (1 + tanh(sqrt(2/π)(x + 0.044715 x³))). */
function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}
const relu = (x: number) => (x > 0 ? x : 0);
const silu = (x: number) => x / (1 + Math.exp(-x));

/** erf in float64: 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3···(2n+1)), all terms positive (no cancellation). */
function erf(x: number): number {
  const a = Math.abs(x);
  if (a > 6) return Math.sign(x);
  let term = a;
  let sum = a;
  for (let n = 1; n < 200 && term > 1e-17 * sum; n++) {
    term *= (2 * a * a) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-a * a) * sum;
}
/** gelu (exact, nn.GELU()): x·Φ(x). */
const geluErf = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));

/** transformers' ACT2FN for the names the reference knows. */
function activation(name: string, family: string): (x: number) => number {
  if (name === 'gelu_new' || name === 'gelu_pytorch_tanh' || name === 'gelu_fast') return geluTanh;
  if (name === 'gelu') return geluErf;
  if (name === 'relu') return relu;
  if (name === 'silu' || name === 'swish') return silu;
  throw new Error(`RefModel: ${family} activation ${name}`);
}

function addInPlace(a: Float64Array, b: Float64Array): void {
  for (let i = 0; i < a.length; i++) a[i] += b[i]!;
}

/**
 * Causal multi-head attention over one sequence. q: T × (nh·d), k, v: T × (nkv·d);
 * query head h reads key/value head floor(h / (nh/nkv)) (repeat_kv). Scores are
 * scaled by `scale` and softmaxed in float64.
 */
/** Causal attention; with a window w, position t attends to s only when t − s < w (transformers' sliding_attention). */
function causalAttention(
  q: Float64Array[],
  k: Float64Array[],
  v: Float64Array[],
  nh: number,
  nkv: number,
  d: number,
  scale: number,
  window = Infinity,
): Float64Array[] {
  const T = q.length;
  const group = nh / nkv;
  const out: Float64Array[] = [];
  const scores = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    const o = new Float64Array(nh * d);
    for (let h = 0; h < nh; h++) {
      const kh = Math.floor(h / group);
      let max = -Infinity;
      for (let s = Math.max(0, t - window + 1); s <= t; s++) {
        let dot = 0;
        for (let i = 0; i < d; i++) dot += q[t]![h * d + i]! * k[s]![kh * d + i]!;
        scores[s] = dot * scale;
        if (scores[s]! > max) max = scores[s]!;
      }
      let sum = 0;
      for (let s = Math.max(0, t - window + 1); s <= t; s++) {
        scores[s] = Math.exp(scores[s]! - max);
        sum += scores[s]!;
      }
      for (let s = Math.max(0, t - window + 1); s <= t; s++) {
        const p = scores[s]! / sum;
        for (let i = 0; i < d; i++) o[h * d + i] += p * v[s]![kh * d + i]!;
      }
    }
    out.push(o);
  }
  return out;
}

/**
 * Rotate-half RoPE in place on each head: x' = (x cos + rotate_half(x) sin)·scale, pair i turning at invFreq[i] (scale:
 * the attention factor transformers multiplies cos and sin by, 1 but for yarn).
 */
function applyRope(x: Float64Array, pos: number, heads: number, d: number, invFreq: number[], scale = 1): void {
  const half = d / 2;
  for (let h = 0; h < heads; h++) {
    const base = h * d;
    for (let i = 0; i < half; i++) {
      const ang = pos * invFreq[i]!;
      const c = Math.cos(ang) * scale;
      const s = Math.sin(ang) * scale;
      const x1 = x[base + i]!;
      const x2 = x[base + i + half]!;
      x[base + i] = x1 * c - x2 * s;
      x[base + i + half] = x2 * c + x1 * s;
    }
  }
}

/**
 * RoPE's frequencies θ^(−2i/d) for a Llama config and the factor cos and sin are scaled by, as transformers' rope init
 * functions give them: rope_scaling (or rope_parameters) 'linear' divides all by factor; 'llama3'
 * (_compute_llama3_parameters) divides those whose wavelength exceeds original/low_freq_factor, keeps those below
 * original/high_freq_factor, and blends the two in between; 'dynamic' is the default within max_position_embeddings
 * (the only lengths accepted); 'yarn' see yarnInvFreq.
 */
export function ropeInvFreq(c: Json, d: number, theta: number): { invFreq: number[]; scale: number } {
  const base = Array.from({ length: d / 2 }, (_, i) => 1 / theta ** ((2 * i) / d));
  const rs = ((c.rope_scaling as Json | null | undefined) ?? (c.rope_parameters as Json | null | undefined)) || {};
  const type = (rs.rope_type ?? rs.type ?? 'default') as string;
  if (type === 'default' || type === 'dynamic') return { invFreq: base, scale: 1 };
  if (type === 'yarn') return yarnInvFreq(c, rs, base, d, theta);
  const factor = rs.factor as number;
  if (type === 'linear') return { invFreq: base.map((f) => f / factor), scale: 1 };
  if (type !== 'llama3') throw new Error(`RefModel: rope_type ${type}`);
  const low = rs.low_freq_factor as number;
  const high = rs.high_freq_factor as number;
  const old = rs.original_max_position_embeddings as number;
  const invFreq = base.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    const scaled = wavelen > old / low ? f / factor : f;
    const smooth = (old / wavelen - low) / (high - low);
    const medium = !(wavelen < old / high) && !(wavelen > old / low);
    return medium ? (1 - smooth) * (scaled / factor) + smooth * scaled : scaled;
  });
  return { invFreq, scale: 1 };
}

/**
 * YaRN (Peng et al. 2023) as transformers' _compute_yarn_parameters computes it. Pair i turns L·f_i/(2π) times in the
 * original context L; the (fractional) pair index turning exactly r times is d·ln(L/(2πr))/(2 ln θ). Pairs up to the
 * index for beta_fast rotations (rounded down) keep f_i, pairs from the index for beta_slow (rounded up) take f_i/s,
 * and the weight of f_i/s rises linearly in the index between; cos and sin are scaled by the attention factor
 * (given, else 0.1·ln s + 1, or its mscale / mscale_all_dim ratio).
 */
function yarnInvFreq(c: Json, rs: Json, base: number[], d: number, theta: number): { invFreq: number[]; scale: number } {
  const maxPos = c.max_position_embeddings as number;
  const L = (c.original_max_position_embeddings as number | undefined) ?? (rs.original_max_position_embeddings as number | null | undefined) ?? maxPos;
  const s = (rs.factor as number | null) ?? maxPos / L;
  const betaFast = (rs.beta_fast as number | null | undefined) || 32;
  const betaSlow = (rs.beta_slow as number | null | undefined) || 1;
  const truncate = rs.truncate === undefined ? true : rs.truncate === true;
  const indexTurning = (r: number) => (d * Math.log(L / (2 * Math.PI * r))) / (2 * Math.log(theta));
  let lo = indexTurning(betaFast);
  let hi = indexTurning(betaSlow);
  if (truncate) {
    lo = Math.floor(lo);
    hi = Math.ceil(hi);
  }
  lo = Math.max(lo, 0);
  hi = Math.min(hi, d - 1);
  if (lo === hi) hi += 0.001;
  const invFreq = base.map((f, i) => {
    const w = Math.min(1, Math.max(0, (i - lo) / (hi - lo))); // weight of the interpolated f/s
    return (f / s) * w + f * (1 - w);
  });
  const mscale = (m: number) => (s <= 1 ? 1 : 0.1 * m * Math.log(s) + 1);
  const ms = rs.mscale as number | null | undefined;
  const msAll = rs.mscale_all_dim as number | null | undefined;
  const given = rs.attention_factor as number | null | undefined;
  const scale = given ?? (ms && msAll ? mscale(ms) / mscale(msAll) : mscale(1));
  return { invFreq, scale };
}

/** A config flag as transformers tests it: absent → the class default, null (Python None) → false. */
function flag(c: Json, key: string, dflt: boolean): boolean {
  const v = c[key];
  return v === undefined ? dflt : v === null ? false : (v as boolean);
}

/**
 * Each layer's attention window (Infinity: full attention), as transformers builds it. MistralConfig: sliding_window
 * (absent: 4096, null: none) on every layer. Qwen2Config: sliding_window only with use_sliding_window, on the layers
 * whose layer_types entry is "sliding_attention", by default those with index >= max_window_layers (default 28).
 */
function slidingWindows(c: Json, L: number): number[] {
  const mt = c.model_type as string;
  const size = (c.sliding_window === undefined ? 4096 : (c.sliding_window as number | null)) ?? Infinity;
  if (mt === 'mistral') return new Array<number>(L).fill(size);
  if (mt !== 'qwen2' && mt !== 'qwen3') return new Array<number>(L).fill(Infinity); // Qwen3Config windows as Qwen2Config
  const w = flag(c, 'use_sliding_window', false) ? size : Infinity;
  const mwl = (c.max_window_layers as number | null | undefined) ?? 28;
  const types =
    (c.layer_types as string[] | null | undefined) ??
    Array.from({ length: L }, (_, i) => (w !== Infinity && i >= mwl ? 'sliding_attention' : 'full_attention'));
  if (types.length !== L) throw new Error(`RefModel: ${types.length} layer_types for ${L} layers`);
  return types.map((t) => {
    if (t === 'full_attention') return Infinity;
    if (t !== 'sliding_attention') throw new Error(`RefModel: layer type ${t}`);
    if (w === Infinity) throw new Error('RefModel: sliding_attention without a sliding_window');
    return w;
  });
}

// ---- the model ---------------------------------------------------------------

export type RefFamily = 'gpt2' | 'opt' | 'llama';

export class RefModel {
  readonly family: RefFamily;
  readonly vocabSize: number;
  readonly maxPositions: number;
  private readonly cfg: Json;
  private readonly tensors: Map<string, RefTensor>;

  constructor(config: Json, tensors: Map<string, RefTensor>) {
    this.cfg = config;
    this.tensors = tensors;
    const mt = config.model_type;
    // mistral, qwen2 and qwen3 are Llama-shaped (biases and qwen3's q/k norms differ: see llama())
    const llamaLike = mt === 'mistral' || mt === 'qwen2' || mt === 'qwen3';
    if (mt !== 'gpt2' && mt !== 'opt' && mt !== 'llama' && !llamaLike) throw new Error(`RefModel: model_type ${String(mt)}`);
    this.family = llamaLike ? 'llama' : mt;
    this.vocabSize = config.vocab_size as number;
    this.maxPositions = (mt === 'gpt2' ? config.n_positions : config.max_position_embeddings) as number;
  }

  /** A tensor by its state-dict name; GPT-2 names are also tried without "transformer.". */
  private t(name: string): RefTensor {
    const t = this.tensors.get(name) ?? (name.startsWith('transformer.') ? this.tensors.get(name.slice(12)) : undefined);
    if (!t) throw new Error(`RefModel: tensor ${name} missing`);
    return t;
  }
  private has(name: string): boolean {
    return this.tensors.has(name) || (name.startsWith('transformer.') && this.tensors.has(name.slice(12)));
  }
  private tied(): boolean {
    return flag(this.cfg, 'tie_word_embeddings', this.family !== 'llama');
  }

  /** Logits (T × vocab) of one sequence, positions 0..T-1. */
  logits(ids: ArrayLike<number>): Float64Array[] {
    const T = ids.length;
    if (T > this.maxPositions) throw new Error(`RefModel: ${T} tokens > ${this.maxPositions} positions`);
    for (let t = 0; t < T; t++) if (!(ids[t]! >= 0 && ids[t]! < this.vocabSize)) throw new Error(`RefModel: token ${ids[t]}`);
    if (this.family === 'gpt2') return this.gpt2(ids);
    if (this.family === 'opt') return this.opt(ids);
    return this.llama(ids);
  }

  private embed(table: RefTensor, id: number): Float64Array {
    const H = table.shape[1]!;
    return Float64Array.from(table.values.subarray(id * H, (id + 1) * H));
  }

  /** logits = h · E^T for the head E (vocab, dim). */
  private head(h: Float64Array[], E: RefTensor): Float64Array[] {
    return h.map((x) => linear(x, E));
  }

  // modeling_gpt2.py: pre-LN blocks, learned positions, gelu_new, tied head.
  private gpt2(ids: ArrayLike<number>): Float64Array[] {
    const c = this.cfg;
    const H = c.n_embd as number;
    const nh = c.n_head as number;
    const L = c.n_layer as number;
    const eps = (c.layer_norm_epsilon as number | undefined) ?? 1e-5;
    const d = H / nh;
    const act = activation((c.activation_function as string | undefined) ?? 'gelu_new', 'gpt2');
    const wte = this.t('transformer.wte.weight');
    const wpe = this.t('transformer.wpe.weight');
    let x = Array.from({ length: ids.length }, (_, t) => {
      const e = this.embed(wte, ids[t]!);
      addInPlace(e, this.embed(wpe, t));
      return e;
    });
    for (let l = 0; l < L; l++) {
      const p = `transformer.h.${l}.`;
      const a = x.map((v) => layerNorm(v, this.t(p + 'ln_1.weight'), this.t(p + 'ln_1.bias'), eps));
      const qkv = a.map((v) => conv1d(v, this.t(p + 'attn.c_attn.weight'), this.t(p + 'attn.c_attn.bias')));
      const q = qkv.map((v) => v.subarray(0, H));
      const k = qkv.map((v) => v.subarray(H, 2 * H));
      const vv = qkv.map((v) => v.subarray(2 * H, 3 * H));
      const att = causalAttention(q, k, vv, nh, nh, d, 1 / Math.sqrt(d));
      x = x.map((v, t) => {
        const o = conv1d(att[t]!, this.t(p + 'attn.c_proj.weight'), this.t(p + 'attn.c_proj.bias'));
        addInPlace(o, v);
        return o;
      });
      x = x.map((v) => {
        const m = conv1d(layerNorm(v, this.t(p + 'ln_2.weight'), this.t(p + 'ln_2.bias'), eps), this.t(p + 'mlp.c_fc.weight'), this.t(p + 'mlp.c_fc.bias'));
        for (let i = 0; i < m.length; i++) m[i] = act(m[i]!);
        const o = conv1d(m, this.t(p + 'mlp.c_proj.weight'), this.t(p + 'mlp.c_proj.bias'));
        addInPlace(o, v);
        return o;
      });
    }
    const h = x.map((v) => layerNorm(v, this.t('transformer.ln_f.weight'), this.t('transformer.ln_f.bias'), eps));
    return this.head(h, this.tied() ? wte : this.t('lm_head.weight'));
  }

  // modeling_opt.py: positions offset by 2, pre-LN or post-LN, ReLU, project_in/out.
  private opt(ids: ArrayLike<number>): Float64Array[] {
    const c = this.cfg;
    const H = c.hidden_size as number;
    const nh = c.num_attention_heads as number;
    const L = c.num_hidden_layers as number;
    const pre = flag(c, 'do_layer_norm_before', true);
    const act = activation((c.activation_function as string | undefined) ?? 'relu', 'opt');
    // enable_bias = false: no bias on the attention projections nor fc1/fc2
    const bias = flag(c, 'enable_bias', true);
    const b = (name: string) => (bias ? this.t(name) : undefined);
    const eps = 1e-5; // nn.LayerNorm default; OPT has no epsilon in its config
    const d = H / nh;
    const dp = 'model.decoder.';
    const embed = this.t(dp + 'embed_tokens.weight');
    const pos = this.t(dp + 'embed_positions.weight');
    const projIn = this.has(dp + 'project_in.weight') ? this.t(dp + 'project_in.weight') : undefined;
    const projOut = this.has(dp + 'project_out.weight') ? this.t(dp + 'project_out.weight') : undefined;
    let x = Array.from({ length: ids.length }, (_, t) => {
      let e = this.embed(embed, ids[t]!);
      if (projIn) e = linear(e, projIn);
      addInPlace(e, this.embed(pos, t + 2)); // OPTLearnedPositionalEmbedding offset
      return e;
    });
    for (let l = 0; l < L; l++) {
      const p = `${dp}layers.${l}.`;
      const ln1 = (v: Float64Array) => layerNorm(v, this.t(p + 'self_attn_layer_norm.weight'), this.t(p + 'self_attn_layer_norm.bias'), eps);
      const ln2 = (v: Float64Array) => layerNorm(v, this.t(p + 'final_layer_norm.weight'), this.t(p + 'final_layer_norm.bias'), eps);
      const a = pre ? x.map(ln1) : x;
      // OPTAttention scales q (with its bias) by head_dim^-0.5 before the dot product
      const q = a.map((v) => linear(v, this.t(p + 'self_attn.q_proj.weight'), b(p + 'self_attn.q_proj.bias')));
      const k = a.map((v) => linear(v, this.t(p + 'self_attn.k_proj.weight'), b(p + 'self_attn.k_proj.bias')));
      const vv = a.map((v) => linear(v, this.t(p + 'self_attn.v_proj.weight'), b(p + 'self_attn.v_proj.bias')));
      const att = causalAttention(q, k, vv, nh, nh, d, 1 / Math.sqrt(d));
      x = x.map((v, t) => {
        const o = linear(att[t]!, this.t(p + 'self_attn.out_proj.weight'), b(p + 'self_attn.out_proj.bias'));
        addInPlace(o, v);
        return pre ? o : ln1(o);
      });
      x = x.map((v) => {
        const m = linear(pre ? ln2(v) : v, this.t(p + 'fc1.weight'), b(p + 'fc1.bias'));
        for (let i = 0; i < m.length; i++) m[i] = act(m[i]!);
        const o = linear(m, this.t(p + 'fc2.weight'), b(p + 'fc2.bias'));
        addInPlace(o, v);
        return pre ? o : ln2(o);
      });
    }
    // OPTDecoder.final_layer_norm exists only with do_layer_norm_before and not _remove_final_layer_norm
    if (pre && !flag(c, '_remove_final_layer_norm', false)) {
      x = x.map((v) => layerNorm(v, this.t(dp + 'final_layer_norm.weight'), this.t(dp + 'final_layer_norm.bias'), eps));
    }
    if (projOut) x = x.map((v) => linear(v, projOut));
    return this.head(x, this.tied() ? embed : this.t('lm_head.weight'));
  }

  // modeling_llama.py: RMSNorm, rotate-half RoPE, GQA, SwiGLU, optional biases.
  private llama(ids: ArrayLike<number>): Float64Array[] {
    const c = this.cfg;
    const H = c.hidden_size as number;
    const nh = c.num_attention_heads as number;
    const mt = c.model_type as string;
    // an absent num_key_value_heads is the config class's default (MistralConfig 8, Qwen2Config and Qwen3Config 32); null: nh
    const nkv =
      (c.num_key_value_heads !== undefined ? (c.num_key_value_heads as number | null) : mt === 'mistral' ? 8 : mt === 'qwen2' || mt === 'qwen3' ? 32 : null) ??
      nh;
    // Qwen3Config's head_dim defaults to 128, not hidden_size / heads
    const d = (c.head_dim === undefined && mt === 'qwen3' ? 128 : (c.head_dim as number | null | undefined)) ?? H / nh;
    const qkNorm = mt === 'qwen3'; // modeling_qwen3.py: q_norm / k_norm per head, after the projection, before RoPE
    const L = c.num_hidden_layers as number;
    const eps = (c.rms_norm_eps as number | undefined) ?? 1e-6;
    // transformers v5 writes rope_parameters {rope_type, rope_theta}; earlier versions a top-level rope_theta
    const theta = ((c.rope_parameters as Json | null | undefined)?.rope_theta as number | undefined) ?? (c.rope_theta as number | undefined) ?? 10000;
    const { invFreq, scale: ropeScale } = ropeInvFreq(c, d, theta);
    const act = (c.hidden_act as string | undefined) ?? 'silu';
    if (act !== 'silu') throw new Error(`RefModel: llama activation ${act}`);
    // modeling_mistral.py has no bias at all; modeling_qwen2.py bias on q/k/v only (required); modeling_llama.py
    // q/k/v/o bias with attention_bias, MLP bias with mlp_bias: a bias tensor the config switches off is unused
    const opt = (name: string) => {
      if (mt === 'mistral') return undefined;
      if (mt === 'qwen2') return /\.(q|k|v)_proj\.bias$/.test(name) ? this.t(name) : undefined;
      if (mt === 'qwen3') return /\.(q|k|v|o)_proj\.bias$/.test(name) && flag(c, 'attention_bias', false) ? this.t(name) : undefined;
      const on = /\.(q|k|v|o)_proj\.bias$/.test(name) ? flag(c, 'attention_bias', false) : flag(c, 'mlp_bias', false);
      return on ? this.t(name) : undefined;
    };
    const windows = slidingWindows(c, L);
    const embed = this.t('model.embed_tokens.weight');
    let x = Array.from({ length: ids.length }, (_, t) => this.embed(embed, ids[t]!));
    for (let l = 0; l < L; l++) {
      const p = `model.layers.${l}.`;
      const a = x.map((v) => rmsNorm(v, this.t(p + 'input_layernorm.weight'), eps));
      const q = a.map((v, t) => {
        let y = linear(v, this.t(p + 'self_attn.q_proj.weight'), opt(p + 'self_attn.q_proj.bias'));
        if (qkNorm) y = perHeadRmsNorm(y, nh, d, this.t(p + 'self_attn.q_norm.weight'), eps);
        applyRope(y, t, nh, d, invFreq, ropeScale);
        return y;
      });
      const k = a.map((v, t) => {
        let y = linear(v, this.t(p + 'self_attn.k_proj.weight'), opt(p + 'self_attn.k_proj.bias'));
        if (qkNorm) y = perHeadRmsNorm(y, nkv, d, this.t(p + 'self_attn.k_norm.weight'), eps);
        applyRope(y, t, nkv, d, invFreq, ropeScale);
        return y;
      });
      const vv = a.map((v) => linear(v, this.t(p + 'self_attn.v_proj.weight'), opt(p + 'self_attn.v_proj.bias')));
      const att = causalAttention(q, k, vv, nh, nkv, d, 1 / Math.sqrt(d), windows[l]);
      x = x.map((v, t) => {
        const o = linear(att[t]!, this.t(p + 'self_attn.o_proj.weight'), opt(p + 'self_attn.o_proj.bias'));
        addInPlace(o, v);
        return o;
      });
      x = x.map((v) => {
        const hN = rmsNorm(v, this.t(p + 'post_attention_layernorm.weight'), eps);
        const g = linear(hN, this.t(p + 'mlp.gate_proj.weight'), opt(p + 'mlp.gate_proj.bias'));
        const u = linear(hN, this.t(p + 'mlp.up_proj.weight'), opt(p + 'mlp.up_proj.bias'));
        for (let i = 0; i < g.length; i++) g[i] = silu(g[i]!) * u[i]!;
        const o = linear(g, this.t(p + 'mlp.down_proj.weight'), opt(p + 'mlp.down_proj.bias'));
        addInPlace(o, v);
        return o;
      });
    }
    const h = x.map((v) => rmsNorm(v, this.t('model.norm.weight'), eps));
    return this.head(h, this.tied() ? embed : this.t('lm_head.weight'));
  }
}

// ---- losses ------------------------------------------------------------------

/** log Σ exp(x_i) over the given indices (all when omitted), stable in float64. */
export function logSumExp(x: ArrayLike<number>, idx?: ArrayLike<number>): number {
  const n = idx ? idx.length : x.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, x[idx ? idx[i]! : i]!);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(x[idx ? idx[i]! : i]! - max);
  return max + Math.log(s);
}

/** Positions t (1..T-1) whose label is a target; labels default to the ids. */
export function targetPositions(ids: ArrayLike<number>, labels?: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let t = 1; t < ids.length; t++) if ((labels ? labels[t]! : ids[t]!) !== -100) out.push(t);
  return out;
}

export interface RefLoss {
  loss: number; // mean NLL over targets, NaN without targets
  targets: number;
}

/** Hugging Face causal-LM loss of one sequence: logits at t-1 predict labels[t], -100 ignored. */
export function sequenceLoss(logits: Float64Array[], ids: ArrayLike<number>, labels?: ArrayLike<number>): RefLoss {
  const ts = targetPositions(ids, labels);
  let s = 0;
  for (const t of ts) {
    const y = labels ? labels[t]! : ids[t]!;
    const row = logits[t - 1]!;
    s += logSumExp(row) - row[y]!;
  }
  return { loss: ts.length ? s / ts.length : NaN, targets: ts.length };
}

export interface RefCandidateLoss extends RefLoss {
  /** K candidate logits at the last target position (NaN without targets). */
  candidateLogits: Float64Array;
}

/** Candidate-set cross-entropy: softmax over the K candidate ids only at each target. */
export function candidateLoss(logits: Float64Array[], ids: ArrayLike<number>, candidates: ArrayLike<number>, labels?: ArrayLike<number>): RefCandidateLoss {
  const ts = targetPositions(ids, labels);
  let s = 0;
  for (const t of ts) {
    const y = labels ? labels[t]! : ids[t]!;
    const row = logits[t - 1]!;
    s += logSumExp(row, candidates) - row[y]!;
  }
  const cl = new Float64Array(candidates.length).fill(NaN);
  if (ts.length) {
    const row = logits[ts[ts.length - 1]! - 1]!;
    for (let k = 0; k < candidates.length; k++) cl[k] = row[candidates[k]!]!;
  }
  return { loss: ts.length ? s / ts.length : NaN, targets: ts.length, candidateLogits: cl };
}

/** Entropy (nats) of softmax(row). */
export function entropy(row: ArrayLike<number>): number {
  const lse = logSumExp(row);
  let h = 0;
  for (let i = 0; i < row.length; i++) {
    const lp = row[i]! - lse;
    h -= Math.exp(lp) * lp;
  }
  return h;
}

/** Greedy decoding with the reference: append argmax n times. */
export function greedy(model: RefModel, prompt: ArrayLike<number>, n: number, eos = -1): number[] {
  const seq = Array.from(prompt);
  const out: number[] = [];
  for (let i = 0; i < n && seq.length < model.maxPositions; i++) {
    const row = model.logits(seq)[seq.length - 1]!;
    let best = 0;
    for (let v = 1; v < row.length; v++) if (row[v]! > row[best]!) best = v;
    out.push(best);
    seq.push(best);
    if (best === eos) break;
  }
  return out;
}
