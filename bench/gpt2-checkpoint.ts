// A GPT-2-shaped checkpoint with random weights, written as a real Hugging
// Face directory (config.json + model.safetensors, streamed tensor by tensor)
// for the benches; GPT2_SMALL is the 124M-parameter shape.
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface Shape {
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  positions: number;
}

export const GPT2_SMALL: Shape = { vocab: 50257, hidden: 768, layers: 12, heads: 12, positions: 1024 };

/** GPT-2 tensors in transformers' names and (Conv1D) shapes, in module order. */
function gpt2Tensors(s: Shape): [string, number[]][] {
  const H = s.hidden;
  const out: [string, number[]][] = [
    ['transformer.wte.weight', [s.vocab, H]],
    ['transformer.wpe.weight', [s.positions, H]],
  ];
  for (let l = 0; l < s.layers; l++) {
    const p = `transformer.h.${l}.`;
    out.push(
      [`${p}ln_1.weight`, [H]],
      [`${p}ln_1.bias`, [H]],
      [`${p}attn.c_attn.weight`, [H, 3 * H]],
      [`${p}attn.c_attn.bias`, [3 * H]],
      [`${p}attn.c_proj.weight`, [H, H]],
      [`${p}attn.c_proj.bias`, [H]],
      [`${p}ln_2.weight`, [H]],
      [`${p}ln_2.bias`, [H]],
      [`${p}mlp.c_fc.weight`, [H, 4 * H]],
      [`${p}mlp.c_fc.bias`, [4 * H]],
      [`${p}mlp.c_proj.weight`, [4 * H, H]],
      [`${p}mlp.c_proj.bias`, [H]],
    );
  }
  out.push(['transformer.ln_f.weight', [H]], ['transformer.ln_f.bias', [H]]);
  return out;
}

/** xorshift32 uniforms in [-a, a); norms' gains are 1 so activations stay O(1). */
function fill(values: Float32Array, name: string, seed: number): void {
  if (name.includes('ln_') && name.endsWith('.weight')) return void values.fill(1);
  if (name.endsWith('.bias')) return void values.fill(0);
  let x = seed | 1;
  const a = 0.035; // ≈ std 0.02, GPT-2's initialisation scale
  for (let i = 0; i < values.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    values[i] = ((x >>> 0) / 4294967296 - 0.5) * 2 * a;
  }
}

function toBf16(f: Float32Array): Uint16Array {
  const u = new Uint32Array(f.buffer, f.byteOffset, f.length);
  const out = new Uint16Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = (u[i]! + 0x7fff + ((u[i]! >>> 16) & 1)) >>> 16; // round to nearest even
  return out;
}

/** Writes config.json + model.safetensors (a real checkpoint); returns the parameter count. */
export function writeGpt2Checkpoint(dir: string, s: Shape, dtype: 'F32' | 'BF16' = 'F32'): number {
  mkdirSync(dir, { recursive: true });
  const config = {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    vocab_size: s.vocab,
    n_embd: s.hidden,
    n_layer: s.layers,
    n_head: s.heads,
    n_positions: s.positions,
    n_ctx: s.positions,
    activation_function: 'gelu_new',
    layer_norm_epsilon: 1e-5,
    tie_word_embeddings: true,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const tensors = gpt2Tensors(s);
  const es = dtype === 'F32' ? 4 : 2;
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const [name, shape] of tensors) {
    const bytes = shape.reduce((a, b) => a * b, 1) * es;
    header[name] = { dtype, shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const fd = openSync(join(dir, 'model.safetensors'), 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, len);
  writeSync(fd, Buffer.from(json));
  tensors.forEach(([name, shape], i) => {
    const f = new Float32Array(shape.reduce((a, b) => a * b, 1));
    fill(f, name, 1000 + i);
    const data = dtype === 'F32' ? f : toBf16(f);
    writeSync(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  });
  closeSync(fd);
  return tensors.reduce((n, [, shape]) => n + shape.reduce((a, b) => a * b, 1), 0);
}
