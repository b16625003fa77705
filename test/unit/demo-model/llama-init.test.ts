// The demo model's random start (lib/demo-model/llama-init.ts): transformers' tensor names and
// shapes, a safetensors file another reader can parse, and values fixed by the seed.
import { describe, expect, it } from 'vitest';

import { llamaConfig, llamaTensors, safetensorsBytes, seededNormal } from '../../../lib/demo-model/llama-init.js';

const SHAPE = { vocabSize: 10, hiddenSize: 8, numLayers: 2, numHeads: 2, intermediateSize: 12, maxPositions: 16, tie: true };

describe('llama init', () => {
  it("names and shapes the tensors as transformers' LlamaForCausalLM (tied: no lm_head)", () => {
    const t = llamaTensors(SHAPE, 1);
    const names = t.map(([n]) => n);
    expect(names).toHaveLength(1 + 2 * 9 + 1);
    expect(names).not.toContain('lm_head.weight');
    expect(Object.fromEntries(t.map(([n, s]) => [n, s]))).toMatchObject({
      'model.embed_tokens.weight': [10, 8],
      'model.layers.1.self_attn.q_proj.weight': [8, 8],
      'model.layers.0.mlp.gate_proj.weight': [12, 8],
      'model.layers.0.mlp.down_proj.weight': [8, 12],
      'model.norm.weight': [8],
    });
    expect(llamaTensors({ ...SHAPE, tie: false }, 1).map(([n]) => n)).toContain('lm_head.weight');
    expect(llamaConfig(SHAPE)).toMatchObject({ model_type: 'llama', vocab_size: 10, tie_word_embeddings: true, num_key_value_heads: 2 });
  });

  it('is fixed by the seed: same seed same weights, another seed other weights; norms start at 1', () => {
    const a = llamaTensors(SHAPE, 1);
    expect(llamaTensors(SHAPE, 1)).toEqual(a);
    expect(llamaTensors(SHAPE, 2)[0]![2]).not.toEqual(a[0]![2]);
    expect([...a.find(([n]) => n === 'model.norm.weight')![2]]).toEqual(Array(8).fill(1));
    const z = Array.from({ length: 20000 }, seededNormal(3));
    const mean = z.reduce((s, x) => s + x, 0) / z.length;
    const sd = Math.sqrt(z.reduce((s, x) => s + (x - mean) ** 2, 0) / z.length);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(sd - 1)).toBeLessThan(0.03);
  });

  it('writes a safetensors file: 8-byte header length, 8-aligned JSON header, float32 little-endian data', () => {
    const t: [string, number[], Float32Array][] = [
      ['a', [2], new Float32Array([1.5, -2])],
      ['b', [1, 1], new Float32Array([0.25])],
    ];
    const buf = safetensorsBytes(t);
    const n = Number(buf.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
    expect(header.a).toEqual({ dtype: 'F32', shape: [2], data_offsets: [0, 8] });
    expect(header.b).toEqual({ dtype: 'F32', shape: [1, 1], data_offsets: [8, 12] });
    const data = buf.subarray(8 + n);
    expect([data.readFloatLE(0), data.readFloatLE(4), data.readFloatLE(8)]).toEqual([1.5, -2, 0.25]);
  });
});
