// defines: writeRandomCheckpoint, which writes a real Hugging Face model
// directory (config.json in transformers' format + model.safetensors, or shards
// with model.safetensors.index.json) of a tiny random GPT-2 / OPT / Llama, and
// returns its config and the tensors as stored (float64 after dtype rounding).
// Tensor names and shapes are those of transformers' state dicts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Rng } from './prng.js';
import { type FloatDType, type RawTensor, encodeValues, roundTo, writeSafetensors } from './safetensors.js';

export type Family = 'gpt2' | 'opt' | 'llama';

export interface CheckpointOptions {
  family: Family;
  /** Stored dtype (default F32). */
  dtype?: FloatDType;
  seed?: number;
  vocabSize?: number;
  hiddenSize?: number;
  numLayers?: number;
  numHeads?: number;
  /** gpt2 n_inner, opt ffn_dim, llama intermediate_size. */
  intermediateSize?: number;
  maxPositions?: number;
  /** Tied LM head (default: true for gpt2/opt, false for llama). */
  tie?: boolean;
  /** With a tied head, also store a copy as lm_head.weight (as some exports do). */
  storeLmHead?: boolean;
  /** gpt2: names with the "transformer." prefix (default true; the hub's gpt2 file has none). */
  prefix?: boolean;
  /** gpt2: also store the attn.bias / attn.masked_bias buffers that old exports carry (not parameters). */
  gpt2Buffers?: boolean;
  /** opt: do_layer_norm_before (default true); false = post-LN (opt-350m). */
  preLayerNorm?: boolean;
  /** opt: word_embed_proj_dim; != hidden adds project_in/project_out. */
  wordEmbedProjDim?: number;
  /** opt: enable_bias (default true); false stores no attention or fc1/fc2 biases. */
  optBias?: boolean;
  /** opt: _remove_final_layer_norm (default false); true stores no decoder final_layer_norm. */
  removeFinalLayerNorm?: boolean;
  /** llama */
  numKvHeads?: number;
  headDim?: number;
  /** llama: bias on q/k/v only (Qwen2-style; used with model_type qwen2), config attention_bias stays false. */
  qkvBias?: boolean;
  /** llama: attention_bias = true, bias on q/k/v/o. */
  attentionBias?: boolean;
  /**
   * llama: a Qwen3 checkpoint (model_type qwen3, Qwen3ForCausalLM): self_attn.q_norm.weight and k_norm.weight
   * ([headDim], after o_proj as Qwen3Attention's state dict has them) and Qwen3Config's sliding-window fields.
   */
  qkNorm?: boolean;
  mlpBias?: boolean;
  ropeTheta?: number;
  normEps?: number;
  /** Split into this many shards with model.safetensors.index.json (default 1). */
  shards?: number;
  /** Order of tensors in the file: module order (default), byte-sorted, or shuffled. */
  order?: 'module' | 'sorted' | 'random';
  /** Merged into config.json last (e.g. to break it). */
  extraConfig?: Record<string, unknown>;
}

export interface StoredTensor {
  shape: number[];
  /** The values as stored in the file (after rounding to the dtype). */
  values: Float64Array;
}

export interface Checkpoint {
  dir: string;
  family: Family;
  dtype: FloatDType;
  config: Record<string, unknown>;
  /** Canonical names (gpt2 with "transformer."), tied head not repeated. */
  tensors: Map<string, StoredTensor>;
  /** Canonical name -> name as written in the file. */
  fileNames: Map<string, string>;
  /** Names in the file(s) that are buffers, not parameters (dropped on save). */
  buffers: string[];
  /** Safetensors files written (relative names). */
  files: string[];
}

/** Parameters of a linear map with fan-in `fanIn`, scaled so activations stay O(1). */
interface Gen {
  rng: Rng;
  dtype: FloatDType;
  out: Array<[string, number[], Float64Array]>;
}

function add(g: Gen, name: string, shape: number[], sample: () => number): void {
  const n = shape.reduce((s, d) => s * d, 1);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = roundTo(sample(), g.dtype);
  g.out.push([name, shape, v]);
}
const normal = (g: Gen, std: number) => () => std * g.rng.normal();
const linear = (g: Gen, fanIn: number) => normal(g, 0.9 / Math.sqrt(fanIn));
const bias = (g: Gen) => normal(g, 0.05);
const normWeight = (g: Gen) => () => 1 + 0.1 * g.rng.normal();

function gpt2Tensors(
  g: Gen,
  c: Required<Pick<CheckpointOptions, 'vocabSize' | 'hiddenSize' | 'numLayers' | 'intermediateSize' | 'maxPositions'>>,
  tie: boolean,
): void {
  const { vocabSize: V, hiddenSize: H, numLayers: L, intermediateSize: F, maxPositions: P } = c;
  add(g, 'transformer.wte.weight', [V, H], normal(g, 0.3));
  add(g, 'transformer.wpe.weight', [P, H], normal(g, 0.1));
  for (let i = 0; i < L; i++) {
    const p = `transformer.h.${i}.`;
    add(g, p + 'ln_1.weight', [H], normWeight(g));
    add(g, p + 'ln_1.bias', [H], bias(g));
    add(g, p + 'attn.c_attn.weight', [H, 3 * H], linear(g, H)); // Conv1D: (in, out)
    add(g, p + 'attn.c_attn.bias', [3 * H], bias(g));
    add(g, p + 'attn.c_proj.weight', [H, H], linear(g, H));
    add(g, p + 'attn.c_proj.bias', [H], bias(g));
    add(g, p + 'ln_2.weight', [H], normWeight(g));
    add(g, p + 'ln_2.bias', [H], bias(g));
    add(g, p + 'mlp.c_fc.weight', [H, F], linear(g, H));
    add(g, p + 'mlp.c_fc.bias', [F], bias(g));
    add(g, p + 'mlp.c_proj.weight', [F, H], linear(g, F));
    add(g, p + 'mlp.c_proj.bias', [H], bias(g));
  }
  add(g, 'transformer.ln_f.weight', [H], normWeight(g));
  add(g, 'transformer.ln_f.bias', [H], bias(g));
  if (!tie) add(g, 'lm_head.weight', [V, H], normal(g, 0.3));
}

function optTensors(
  g: Gen,
  c: Required<
    Pick<
      CheckpointOptions,
      'vocabSize' | 'hiddenSize' | 'numLayers' | 'intermediateSize' | 'maxPositions' | 'preLayerNorm' | 'wordEmbedProjDim' | 'optBias' | 'removeFinalLayerNorm'
    >
  >,
  tie: boolean,
): void {
  const { vocabSize: V, hiddenSize: H, numLayers: L, intermediateSize: F, maxPositions: P, wordEmbedProjDim: W } = c;
  const d = 'model.decoder.';
  add(g, d + 'embed_tokens.weight', [V, W], normal(g, 0.3));
  add(g, d + 'embed_positions.weight', [P + 2, H], normal(g, 0.1)); // OPT offsets positions by 2
  if (W !== H) {
    add(g, d + 'project_out.weight', [W, H], linear(g, H)); // nn.Linear(hidden, word_embed_proj_dim): (out, in)
    add(g, d + 'project_in.weight', [H, W], linear(g, W));
  }
  if (c.preLayerNorm && !c.removeFinalLayerNorm) {
    add(g, d + 'final_layer_norm.weight', [H], normWeight(g));
    add(g, d + 'final_layer_norm.bias', [H], bias(g));
  }
  for (let i = 0; i < L; i++) {
    const p = `${d}layers.${i}.`;
    for (const proj of ['k_proj', 'v_proj', 'q_proj', 'out_proj']) {
      add(g, `${p}self_attn.${proj}.weight`, [H, H], linear(g, H));
      if (c.optBias) add(g, `${p}self_attn.${proj}.bias`, [H], bias(g));
    }
    add(g, p + 'self_attn_layer_norm.weight', [H], normWeight(g));
    add(g, p + 'self_attn_layer_norm.bias', [H], bias(g));
    add(g, p + 'fc1.weight', [F, H], linear(g, H));
    if (c.optBias) add(g, p + 'fc1.bias', [F], bias(g));
    add(g, p + 'fc2.weight', [H, F], linear(g, F));
    if (c.optBias) add(g, p + 'fc2.bias', [H], bias(g));
    add(g, p + 'final_layer_norm.weight', [H], normWeight(g));
    add(g, p + 'final_layer_norm.bias', [H], bias(g));
  }
  if (!tie) add(g, 'lm_head.weight', [V, W], normal(g, 0.3));
}

function llamaTensors(
  g: Gen,
  c: Required<
    Pick<
      CheckpointOptions,
      'vocabSize' | 'hiddenSize' | 'numLayers' | 'numHeads' | 'numKvHeads' | 'headDim' | 'intermediateSize' | 'qkvBias' | 'attentionBias' | 'mlpBias' | 'qkNorm'
    >
  >,
  tie: boolean,
): void {
  const { vocabSize: V, hiddenSize: H, numLayers: L, numHeads: NH, numKvHeads: NKV, headDim: D, intermediateSize: F } = c;
  add(g, 'model.embed_tokens.weight', [V, H], normal(g, 0.3));
  const qkvBias = c.qkvBias || c.attentionBias;
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}.`;
    add(g, p + 'input_layernorm.weight', [H], normWeight(g));
    add(g, p + 'self_attn.q_proj.weight', [NH * D, H], linear(g, H));
    if (qkvBias) add(g, p + 'self_attn.q_proj.bias', [NH * D], bias(g));
    add(g, p + 'self_attn.k_proj.weight', [NKV * D, H], linear(g, H));
    if (qkvBias) add(g, p + 'self_attn.k_proj.bias', [NKV * D], bias(g));
    add(g, p + 'self_attn.v_proj.weight', [NKV * D, H], linear(g, H));
    if (qkvBias) add(g, p + 'self_attn.v_proj.bias', [NKV * D], bias(g));
    add(g, p + 'self_attn.o_proj.weight', [H, NH * D], linear(g, NH * D));
    if (c.attentionBias) add(g, p + 'self_attn.o_proj.bias', [H], bias(g));
    if (c.qkNorm) {
      add(g, p + 'self_attn.q_norm.weight', [D], normWeight(g));
      add(g, p + 'self_attn.k_norm.weight', [D], normWeight(g));
    }
    add(g, p + 'post_attention_layernorm.weight', [H], normWeight(g));
    add(g, p + 'mlp.gate_proj.weight', [F, H], linear(g, H));
    if (c.mlpBias) add(g, p + 'mlp.gate_proj.bias', [F], bias(g));
    add(g, p + 'mlp.up_proj.weight', [F, H], linear(g, H));
    if (c.mlpBias) add(g, p + 'mlp.up_proj.bias', [F], bias(g));
    add(g, p + 'mlp.down_proj.weight', [H, F], linear(g, F));
    if (c.mlpBias) add(g, p + 'mlp.down_proj.bias', [H], bias(g));
  }
  add(g, 'model.norm.weight', [H], normWeight(g));
  if (!tie) add(g, 'lm_head.weight', [V, H], normal(g, 0.3));
}

const TORCH_DTYPE: Record<FloatDType, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

function configJson(o: CheckpointOptions, r: ResolvedSizes, tie: boolean, dtype: FloatDType): Record<string, unknown> {
  const common = { torch_dtype: TORCH_DTYPE[dtype], transformers_version: '4.44.0', use_cache: true };
  if (o.family === 'gpt2') {
    return {
      activation_function: 'gelu_new',
      architectures: ['GPT2LMHeadModel'],
      attn_pdrop: 0.1,
      bos_token_id: r.vocabSize - 1,
      embd_pdrop: 0.1,
      eos_token_id: r.vocabSize - 1,
      initializer_range: 0.02,
      layer_norm_epsilon: r.normEps,
      model_type: 'gpt2',
      n_ctx: r.maxPositions,
      n_embd: r.hiddenSize,
      n_head: r.numHeads,
      n_inner: o.intermediateSize === undefined ? null : r.intermediateSize,
      n_layer: r.numLayers,
      n_positions: r.maxPositions,
      reorder_and_upcast_attn: false,
      resid_pdrop: 0.1,
      scale_attn_by_inverse_layer_idx: false,
      scale_attn_weights: true,
      summary_activation: null,
      summary_first_dropout: 0.1,
      summary_proj_to_labels: true,
      summary_type: 'cls_index',
      summary_use_proj: true,
      ...(tie ? {} : { tie_word_embeddings: false }),
      ...common,
      vocab_size: r.vocabSize,
    };
  }
  if (o.family === 'opt') {
    return {
      _remove_final_layer_norm: r.removeFinalLayerNorm,
      activation_dropout: 0.0,
      activation_function: 'relu',
      architectures: ['OPTForCausalLM'],
      attention_dropout: 0.0,
      bos_token_id: 2,
      do_layer_norm_before: r.preLayerNorm,
      dropout: 0.1,
      enable_bias: r.optBias,
      eos_token_id: 2,
      ffn_dim: r.intermediateSize,
      hidden_size: r.hiddenSize,
      init_std: 0.02,
      layer_norm_elementwise_affine: true,
      layerdrop: 0.0,
      max_position_embeddings: r.maxPositions,
      model_type: 'opt',
      num_attention_heads: r.numHeads,
      num_hidden_layers: r.numLayers,
      pad_token_id: 1,
      prefix: '</s>',
      ...(tie ? {} : { tie_word_embeddings: false }),
      ...common,
      vocab_size: r.vocabSize,
      word_embed_proj_dim: r.wordEmbedProjDim,
    };
  }
  return {
    architectures: ['LlamaForCausalLM'],
    attention_bias: r.attentionBias,
    attention_dropout: 0.0,
    bos_token_id: 1,
    eos_token_id: 2,
    // Qwen3 configs always name head_dim (Qwen3Config's default is 128, not hidden / heads)
    ...(o.headDim !== undefined || r.qkNorm ? { head_dim: r.headDim } : {}),
    hidden_act: 'silu',
    hidden_size: r.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: r.intermediateSize,
    max_position_embeddings: r.maxPositions,
    mlp_bias: r.mlpBias,
    model_type: 'llama',
    num_attention_heads: r.numHeads,
    num_hidden_layers: r.numLayers,
    num_key_value_heads: r.numKvHeads,
    pretraining_tp: 1,
    rms_norm_eps: r.normEps,
    rope_scaling: null,
    rope_theta: r.ropeTheta,
    tie_word_embeddings: tie,
    ...common,
    vocab_size: r.vocabSize,
    // Qwen3Config: no mlp_bias or pretraining_tp; Qwen2-style sliding-window fields (hub files have them all)
    ...(r.qkNorm
      ? { architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', max_window_layers: r.numLayers, sliding_window: null, use_sliding_window: false }
      : {}),
  };
}

type ResolvedSizes = Required<
  Pick<
    CheckpointOptions,
    | 'vocabSize'
    | 'hiddenSize'
    | 'numLayers'
    | 'numHeads'
    | 'numKvHeads'
    | 'headDim'
    | 'intermediateSize'
    | 'maxPositions'
    | 'preLayerNorm'
    | 'wordEmbedProjDim'
    | 'optBias'
    | 'removeFinalLayerNorm'
    | 'qkvBias'
    | 'attentionBias'
    | 'mlpBias'
    | 'qkNorm'
    | 'ropeTheta'
    | 'normEps'
  >
>;

function resolve(o: CheckpointOptions): ResolvedSizes {
  const hiddenSize = o.hiddenSize ?? 32;
  const numHeads = o.numHeads ?? 4;
  return {
    vocabSize: o.vocabSize ?? 96,
    hiddenSize,
    numLayers: o.numLayers ?? 2,
    numHeads,
    numKvHeads: o.family === 'llama' ? (o.numKvHeads ?? numHeads) : numHeads,
    headDim: o.family === 'llama' ? (o.headDim ?? hiddenSize / numHeads) : hiddenSize / numHeads,
    intermediateSize: o.intermediateSize ?? (o.family === 'gpt2' ? 4 * hiddenSize : o.family === 'opt' ? 4 * hiddenSize : 3 * hiddenSize),
    maxPositions: o.maxPositions ?? 64,
    preLayerNorm: o.preLayerNorm ?? true,
    wordEmbedProjDim: o.wordEmbedProjDim ?? hiddenSize,
    optBias: o.optBias ?? true,
    removeFinalLayerNorm: o.removeFinalLayerNorm ?? false,
    qkvBias: o.qkvBias ?? false,
    attentionBias: o.attentionBias ?? false,
    mlpBias: o.mlpBias ?? false,
    qkNorm: o.family === 'llama' && (o.qkNorm ?? false),
    ropeTheta: o.ropeTheta ?? 10000,
    normEps: o.normEps ?? (o.family === 'llama' ? 1e-6 : 1e-5),
  };
}

/** Write a tiny random checkpoint of `opts.family` into `dir` (created if needed). */
export function writeRandomCheckpoint(dir: string, opts: CheckpointOptions): Checkpoint {
  const dtype = opts.dtype ?? 'F32';
  const tie = opts.tie ?? opts.family !== 'llama';
  const r = resolve(opts);
  const g: Gen = { rng: new Rng(opts.seed ?? 1), dtype, out: [] };
  if (opts.family === 'gpt2') gpt2Tensors(g, r, tie);
  else if (opts.family === 'opt') optTensors(g, r, tie);
  else llamaTensors(g, r, tie);

  const tensors = new Map<string, StoredTensor>();
  const fileNames = new Map<string, string>();
  const entries: Array<[string, RawTensor]> = [];
  const prefix = opts.prefix ?? true;
  for (const [name, shape, values] of g.out) {
    tensors.set(name, { shape, values });
    const fileName = opts.family === 'gpt2' && !prefix ? name.replace(/^transformer\./, '') : name;
    fileNames.set(name, fileName);
    entries.push([fileName, { dtype, shape, data: encodeValues(values, dtype) }]);
  }
  if (tie && opts.storeLmHead) {
    const emb = g.out[0]!; // the token embedding is always generated first
    entries.push(['lm_head.weight', { dtype, shape: emb[1], data: encodeValues(emb[2], dtype) }]);
  }
  if (opts.family === 'gpt2' && opts.gpt2Buffers) {
    const P = r.maxPositions;
    const mask = new Float64Array(P * P);
    for (let i = 0; i < P; i++) for (let j = 0; j <= i; j++) mask[i * P + j] = 1;
    for (let l = 0; l < r.numLayers; l++) {
      const p = `${prefix ? 'transformer.' : ''}h.${l}.attn.`;
      entries.push([p + 'bias', { dtype, shape: [1, 1, P, P], data: encodeValues(mask, dtype) }]);
      entries.push([p + 'masked_bias', { dtype, shape: [], data: encodeValues([-1e4], dtype) }]);
    }
  }
  if (opts.order === 'sorted') entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  else if (opts.order === 'random') g.rng.shuffle(entries);

  mkdirSync(dir, { recursive: true });
  const config = { ...configJson(opts, r, tie, dtype), ...(opts.extraConfig ?? {}) };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');

  const nShards = opts.shards ?? 1;
  const files: string[] = [];
  if (nShards <= 1) {
    writeSafetensors(join(dir, 'model.safetensors'), entries);
    files.push('model.safetensors');
  } else {
    const pad = (k: number) => String(k).padStart(5, '0');
    const weightMap: Record<string, string> = {};
    let totalSize = 0;
    for (let s = 0; s < nShards; s++) {
      const file = `model-${pad(s + 1)}-of-${pad(nShards)}.safetensors`;
      // contiguous slices, as transformers' size-based sharding produces
      const lo = Math.floor((s * entries.length) / nShards);
      const hi = Math.floor(((s + 1) * entries.length) / nShards);
      const part = entries.slice(lo, hi);
      for (const [name, t] of part) {
        weightMap[name] = file;
        totalSize += t.data.length;
      }
      writeSafetensors(join(dir, file), part);
      files.push(file);
    }
    const sortedMap = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : 1)));
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: sortedMap }, null, 2) + '\n');
  }
  const buffers = entries.map(([n]) => n).filter((n) => /\.attn\.(masked_)?bias$/.test(n) && opts.family === 'gpt2');
  return { dir, family: opts.family, dtype, config, tensors, fileNames, buffers, files };
}

/** A fresh temporary directory; `cleanup()` removes it and everything below. */
export function makeTempDir(tag = 'dpzo-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), tag));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Named variants covering every code path of the three families. */
export const VARIANTS: Record<string, Omit<CheckpointOptions, 'dtype' | 'seed'>> = {
  gpt2: { family: 'gpt2' },
  'gpt2-noprefix-lmhead': { family: 'gpt2', prefix: false, storeLmHead: true, gpt2Buffers: true, hiddenSize: 24, numHeads: 3 },
  'opt-preln': { family: 'opt' },
  'opt-postln': { family: 'opt', preLayerNorm: false },
  'opt-project': { family: 'opt', preLayerNorm: false, wordEmbedProjDim: 16, hiddenSize: 32 },
  'opt-preln-project': { family: 'opt', wordEmbedProjDim: 24 },
  'llama-gqa-untied': { family: 'llama', numHeads: 4, numKvHeads: 2, tie: false },
  'llama-tied-mha': { family: 'llama', numHeads: 4, numKvHeads: 4, tie: true, ropeTheta: 500000 },
  // bias on q/k/v only: Qwen2's attention (transformers' LlamaAttention, with attention_bias false, leaves such biases unused)
  'llama-qkv-bias': {
    family: 'llama',
    numHeads: 4,
    numKvHeads: 1,
    qkvBias: true,
    headDim: 12,
    tie: true,
    extraConfig: { model_type: 'qwen2', use_sliding_window: false },
  },
  'llama-attn-bias': { family: 'llama', numHeads: 2, numKvHeads: 2, attentionBias: true, mlpBias: true, tie: false },
  // Qwen3 (Qwen3-0.6B's shape in small): per-head q/k norms, head_dim 12 != hidden/heads 8 (q_proj 32 -> 48), GQA, tied
  qwen3: { family: 'llama', qkNorm: true, numHeads: 4, numKvHeads: 2, headDim: 12, tie: true, ropeTheta: 1000000 },
};
