// defines: llamaConfig and writeRandomLlama — a Llama checkpoint with random
// weights in Hugging Face's layout (config.json + model.safetensors, float32),
// the starting point `dpzo pretrain` trains the demo model from. The weights come
// from a seeded generator so the whole demo model is reproducible from scratch.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDirectories } from '../io/mkdirs.js';

import { mulberry32 } from '../mulberry32.js';

/** The shape of a small Llama. */
export interface LlamaShape {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  /** Input embedding and LM head share one matrix (halves the file for a word-level vocabulary). */
  tie: boolean;
}

/** config.json of a Llama of this shape (transformers' LlamaConfig fields; ids as in word-vocab.ts). */
export function llamaConfig(s: LlamaShape): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0,
    bos_token_id: 1,
    eos_token_id: 2,
    hidden_act: 'silu',
    hidden_size: s.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: s.intermediateSize,
    max_position_embeddings: s.maxPositions,
    mlp_bias: false,
    model_type: 'llama',
    num_attention_heads: s.numHeads,
    num_hidden_layers: s.numLayers,
    num_key_value_heads: s.numHeads,
    pretraining_tp: 1,
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: 10000,
    tie_word_embeddings: s.tie,
    torch_dtype: 'float32',
    transformers_version: '4.44.0',
    use_cache: true,
    vocab_size: s.vocabSize,
  };
}

/** mulberry32 → Box–Muller: a seeded standard normal stream (public initialisation: reproducibility wanted, no secrecy). */
export function seededNormal(seed: number): () => number {
  const next = mulberry32(seed);
  const uniform = () => (next() + 0.5) / 4294967296;
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** The tensors (transformers' names, shapes) and their initial values: N(0, 0.02²) matrices (GPT-2/Llama's init; output projections scaled by 1/√(2L)), norms 1. */
export function llamaTensors(s: LlamaShape, seed: number): [string, number[], Float32Array][] {
  const normal = seededNormal(seed);
  const out: [string, number[], Float32Array][] = [];
  const H = s.hiddenSize;
  const F = s.intermediateSize;
  const add = (name: string, shape: number[], std: number | 'ones') => {
    const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < v.length; i++) v[i] = std === 'ones' ? 1 : std * normal();
    out.push([name, shape, v]);
  };
  const std = 0.02;
  const resid = std / Math.sqrt(2 * s.numLayers);
  add('model.embed_tokens.weight', [s.vocabSize, H], std);
  for (let i = 0; i < s.numLayers; i++) {
    const p = `model.layers.${i}.`;
    add(p + 'input_layernorm.weight', [H], 'ones');
    for (const q of ['q_proj', 'k_proj', 'v_proj']) add(`${p}self_attn.${q}.weight`, [H, H], std);
    add(p + 'self_attn.o_proj.weight', [H, H], resid);
    add(p + 'post_attention_layernorm.weight', [H], 'ones');
    add(p + 'mlp.gate_proj.weight', [F, H], std);
    add(p + 'mlp.up_proj.weight', [F, H], std);
    add(p + 'mlp.down_proj.weight', [H, F], resid);
  }
  add('model.norm.weight', [H], 'ones');
  if (!s.tie) add('lm_head.weight', [s.vocabSize, H], std);
  return out;
}

/** The bytes of a safetensors file holding float32 `tensors` (header JSON padded to 8 bytes, then the data, little-endian). */
export function safetensorsBytes(tensors: [string, number[], Float32Array][]): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, shape, v] of tensors) {
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + v.byteLength] };
    offset += v.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const data = Buffer.alloc(offset);
  let at = 0;
  for (const [, , v] of tensors) {
    // little-endian on every host
    for (let i = 0; i < v.length; i++) data.writeFloatLE(v[i]!, at + 4 * i);
    at += v.byteLength;
  }
  return Buffer.concat([head, Buffer.from(json), data]);
}

/** Writes config.json and model.safetensors of a random Llama of shape `s` into `dir`. */
export function writeRandomLlama(dir: string, s: LlamaShape, seed: number): void {
  makeDirectories(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(llamaConfig(s), null, 2) + '\n');
  writeFileSync(join(dir, 'model.safetensors'), safetensorsBytes(llamaTensors(s, seed)));
}
