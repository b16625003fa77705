// Where a checkpoint's config.json and its tensors disagree, transformers' reading wins: a llama checkpoint
// holding attention or MLP biases its config switches off (attention_bias / mlp_bias false or absent), and a
// mistral, qwen2 or qwen3 one holding biases its modules do not have, runs without them, and
// a Qwen2 (or Qwen3) use_sliding_window windows only the layers its rule names (layer_types, else i >= max_window_layers).
// Logits are pinned against the float64 reference (test/reference/forward-f64.ts), which reads configs the same way.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import { type CheckpointOptions, makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { expectRejection } from '../helpers/expect-error.js';
import { Rng } from '../helpers/prng.js';
import { type RawTensor, encodeValues, writeSafetensors } from '../helpers/safetensors.js';
import { RefModel, sequenceLoss } from '../reference/forward-f64.js';

const tmp = makeTempDir('dpzo-hf-parity-');
afterAll(() => tmp.cleanup());
let counter = 0;
const fresh = (tag: string) => join(tmp.dir, `${tag}-${counter++}`);
const ROOT = join(import.meta.dirname, '..', '..');

/** Loads the checkpoint and checks each sequence's loss against the reference; returns the model's facts. */
async function expectMatchesReference(opts: CheckpointOptions, lengths: number[]): Promise<{ numTrainable: number; names: string[]; maxPositions: number }> {
  const ck = writeRandomCheckpoint(fresh('ck'), { vocabSize: 64, seed: 17, ...opts });
  const ref = new RefModel(ck.config, ck.tensors);
  const m = await loadModel(ck.dir, { threads: 2 });
  try {
    const rng = new Rng(17);
    const inputIds = lengths.map((n) => Array.from({ length: n }, () => rng.int(64)));
    const r = await m.perExampleLoss({ inputIds });
    inputIds.forEach((ids, i) => {
      const want = sequenceLoss(ref.logits(ids), ids);
      const err = Math.abs(r.loss[i]! - want.loss) / Math.abs(want.loss);
      if (!(err <= 1e-5)) expect.fail(`sequence ${i} (${ids.length} tokens): native ${r.loss[i]}, reference ${want.loss}`);
    });
    return { numTrainable: m.numTrainable, names: m.tensors().map((t) => t.name), maxPositions: m.config.maxPositions };
  } finally {
    m.dispose();
  }
}

/** Σ numel of a checkpoint's q/k/v/o biases. */
function attentionBiasCount(opts: CheckpointOptions): number {
  const ck = writeRandomCheckpoint(fresh('count'), { vocabSize: 64, seed: 17, ...opts });
  let n = 0;
  for (const [name, t] of ck.tensors) if (/_proj\.bias$/.test(name)) n += t.values.length;
  return n;
}

describe('llama attention biases that attention_bias switches off are unused, as in transformers', () => {
  const base: CheckpointOptions = { family: 'llama', numHeads: 4, numKvHeads: 2 };

  it('q/k/v/o biases with attention_bias false: not used, not trainable, not saved', async () => {
    const opts: CheckpointOptions = { ...base, attentionBias: true, extraConfig: { attention_bias: false } };
    const off = await expectMatchesReference(opts, [2, 9, 30]);
    const on = await expectMatchesReference({ ...base, attentionBias: true }, [2, 9, 30]);
    expect(off.names.filter((n) => n.endsWith('.bias'))).toEqual([]);
    expect(on.numTrainable - off.numTrainable).toBe(attentionBiasCount(opts));
    expect(attentionBiasCount(opts)).toBeGreaterThan(0);

    // saved without them: the safetensors header of the copy names no bias
    const ck = writeRandomCheckpoint(fresh('save'), { vocabSize: 64, seed: 17, ...opts });
    const m = await loadModel(ck.dir, { threads: 1 });
    const out = fresh('saved');
    try {
      await m.save(out);
    } finally {
      m.dispose();
    }
    const bytes = readFileSync(join(out, 'model.safetensors'));
    const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as Record<string, unknown>;
    expect(Object.keys(header).filter((n) => n.endsWith('.bias'))).toEqual([]);
    expect(Object.keys(header)).toContain('model.layers.0.self_attn.q_proj.weight');
  });

  it('q/k/v biases (a Qwen2-style export under model_type llama) with attention_bias absent: not used', async () => {
    const r = await expectMatchesReference({ ...base, qkvBias: true, extraConfig: { attention_bias: undefined } }, [2, 9, 30]);
    expect(r.names.filter((n) => n.endsWith('.bias'))).toEqual([]);
    const plain = await expectMatchesReference(base, [5]);
    expect(r.numTrainable).toBe(plain.numTrainable);
  });

  it('says so in one line on stderr, naming config.json and attention_bias', () => {
    const ck = writeRandomCheckpoint(fresh('notice'), { ...base, vocabSize: 64, seed: 3, attentionBias: true, extraConfig: { attention_bias: false } });
    const index = pathToFileURL(join(ROOT, 'dist', 'index.js')).href;
    const script = `const { loadModel } = await import(${JSON.stringify(index)}); const m = await loadModel(${JSON.stringify(ck.dir)}, { threads: 1 }); m.dispose();`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.includes('attention_bias'));
    expect(lines).toHaveLength(1);
    // 2 layers × q, k, v, o
    expect(lines[0]).toContain('8 attention bias tensors');
    expect(lines[0]).toContain('config.json');
  });

  it('a bias of a block the model does not have (or misnamed) is still refused', async () => {
    const ck = writeRandomCheckpoint(fresh('extra-layer'), { ...base, vocabSize: 64, seed: 4, extraConfig: { attention_bias: false } });
    const entries: Array<[string, RawTensor]> = [...ck.tensors].map(([name, t]) => [name, { dtype: 'F32', shape: t.shape, data: encodeValues(t.values, 'F32') }]);
    // layer 2 of a 2-layer model: not a bias transformers' model has switched off, an unknown tensor
    writeSafetensors(join(ck.dir, 'model.safetensors'), [...entries, ['model.layers.2.self_attn.q_proj.bias', { dtype: 'F32', shape: [32], data: encodeValues(new Array<number>(32).fill(0), 'F32') }]]);
    await expectRejection(() => loadModel(ck.dir, { threads: 1 }), 'ERR_TENSOR_UNKNOWN', ['model.layers.2.self_attn.q_proj.bias']);
    writeSafetensors(join(ck.dir, 'model.safetensors'), [...entries, ['model.layers.1.self_attn.q_proj.biases', { dtype: 'F32', shape: [32], data: encodeValues(new Array<number>(32).fill(0), 'F32') }]]);
    await expectRejection(() => loadModel(ck.dir, { threads: 1 }), 'ERR_TENSOR_UNKNOWN', ['q_proj.biases']);
  });
});

describe('qwen2 use_sliding_window windows only the layers transformers windows', () => {
  const qwen2 = (extra: Record<string, unknown>, numLayers = 2): CheckpointOptions => ({
    family: 'llama',
    numHeads: 4,
    numKvHeads: 2,
    numLayers,
    qkvBias: true,
    extraConfig: { model_type: 'qwen2', sliding_window: 8, ...extra },
  });

  it('no layer at or past max_window_layers (default 28): full attention at every length', async () => {
    const r = await expectMatchesReference(qwen2({ use_sliding_window: true }), [2, 9, 30]);
    expect(r.maxPositions).toBe(64);
    const r2 = await expectMatchesReference(qwen2({ use_sliding_window: true, max_window_layers: 2 }), [30]);
    expect(r2.maxPositions).toBe(64);
  });

  it('a layer at or past max_window_layers is windowed: the window caps the sequence length', async () => {
    const r = await expectMatchesReference(qwen2({ use_sliding_window: true, max_window_layers: 1 }), [2, 5, 8]);
    expect(r.maxPositions).toBe(8);
  });

  it('use_sliding_window false: no window, whatever max_window_layers says', async () => {
    const r = await expectMatchesReference(qwen2({ use_sliding_window: false, max_window_layers: 0 }), [30]);
    expect(r.maxPositions).toBe(64);
  });

  it('an explicit layer_types overrides max_window_layers', async () => {
    const full = await expectMatchesReference(qwen2({ use_sliding_window: true, max_window_layers: 0, layer_types: ['full_attention', 'full_attention'] }), [30]);
    expect(full.maxPositions).toBe(64);
    const windowed = await expectMatchesReference(qwen2({ use_sliding_window: true, max_window_layers: 28, layer_types: ['full_attention', 'sliding_attention'] }), [8]);
    expect(windowed.maxPositions).toBe(8);
  });

  it('qwen3 (q_norm / k_norm) windows the layers Qwen3Config names, as Qwen2Config', async () => {
    const qwen3 = (extra: Record<string, unknown>): CheckpointOptions => ({ family: 'llama', numHeads: 4, numKvHeads: 2, headDim: 12, qkNorm: true, extraConfig: { sliding_window: 8, ...extra } });
    const windowed = await expectMatchesReference(qwen3({ use_sliding_window: true, max_window_layers: 1 }), [2, 5, 8]);
    expect(windowed.maxPositions).toBe(8);
    const full = await expectMatchesReference(qwen3({ use_sliding_window: true, layer_types: ['full_attention', 'full_attention'] }), [30]);
    expect(full.maxPositions).toBe(64);
    expect(windowed.names.filter((n) => /self_attn\.[qk]_norm\.weight$/.test(n))).toHaveLength(4);
  });

  it('a layer_types transformers would not run is refused in one line naming config.json and the field', async () => {
    for (const [extra, mention] of [
      [{ use_sliding_window: true, layer_types: ['full_attention', 'chunked_attention'] }, 'chunked_attention'],
      [{ use_sliding_window: true, layer_types: ['full_attention'] }, 'num_hidden_layers'],
      [{ use_sliding_window: true, layer_types: 'full_attention' }, 'must be a list'],
      [{ use_sliding_window: false, layer_types: ['sliding_attention', 'full_attention'] }, 'no window'],
    ] as const) {
      const ck = writeRandomCheckpoint(fresh('bad-types'), { ...qwen2(extra), vocabSize: 64, seed: 5 });
      const e = await expectRejection(() => loadModel(ck.dir, { threads: 1 }), 'ERR_CONFIG', ['config.json', 'layer_types', mention]);
      expect(e.message).not.toContain('\n');
    }
  });
});

/** Runs a module script loading `dir` and returns its stderr lines that start with "dpzo: notice". */
function noticesOf(dir: string): string[] {
  const index = pathToFileURL(join(ROOT, 'dist', 'index.js')).href;
  const script = `const { loadModel } = await import(${JSON.stringify(index)}); const m = await loadModel(${JSON.stringify(dir)}, { threads: 1 }); m.dispose();`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stderr.split('\n').filter((l) => l.startsWith('dpzo: notice'));
}

describe('MLP biases (llama mlp_bias false) and mistral / qwen2 / qwen3 biases their modules lack are unused, as in transformers', () => {
  /**
   * Writes the checkpoint twice: as generated (with the biases) and with every tensor but those matching `drop`.
   * Returns both directories; the losses of the two must be the same, bit for bit.
   */
  function withAndWithout(opts: CheckpointOptions, drop: RegExp): { withBias: string; without: string; dropped: number } {
    const ck = writeRandomCheckpoint(fresh('bias'), { vocabSize: 64, seed: 29, ...opts });
    const without = fresh('nobias');
    writeRandomCheckpoint(without, { vocabSize: 64, seed: 29, ...opts });
    const entries: Array<[string, RawTensor]> = [...ck.tensors].filter(([name]) => !drop.test(name)).map(([name, t]) => [name, { dtype: 'F32', shape: t.shape, data: encodeValues(t.values, 'F32') }]);
    writeSafetensors(join(without, 'model.safetensors'), entries);
    return { withBias: ck.dir, without, dropped: ck.tensors.size - entries.length };
  }

  async function lossesOf(dir: string): Promise<Float64Array> {
    const m = await loadModel(dir, { threads: 2 });
    try {
      const rng = new Rng(31);
      const r = await m.perExampleLoss({ inputIds: [2, 9, 30].map((n) => Array.from({ length: n }, () => rng.int(64))) });
      return Float64Array.from(r.loss);
    } finally {
      m.dispose();
    }
  }

  const cases: Array<[string, CheckpointOptions, RegExp, string[]]> = [
    ['llama mlp_bias false: gate/up/down biases', { family: 'llama', numKvHeads: 2, mlpBias: true, extraConfig: { mlp_bias: false } }, /mlp\.\w+_proj\.bias$/, ['6 MLP bias tensors', 'mlp_bias false', 'config.json']],
    ['llama mlp_bias absent', { family: 'llama', numKvHeads: 2, mlpBias: true, extraConfig: { mlp_bias: undefined } }, /mlp\.\w+_proj\.bias$/, ['6 MLP bias tensors', 'mlp_bias false']],
    ['mistral: attention biases', { family: 'llama', numKvHeads: 2, attentionBias: true, extraConfig: { model_type: 'mistral', attention_bias: true } }, /_proj\.bias$/, ['8 attention bias tensors', 'model_type mistral', 'config.json']],
    ['mistral: MLP biases', { family: 'llama', numKvHeads: 2, mlpBias: true, extraConfig: { model_type: 'mistral', mlp_bias: true } }, /_proj\.bias$/, ['6 MLP bias tensors', 'model_type mistral']],
    ['qwen3: MLP biases (Qwen3MLP has none)', { family: 'llama', qkNorm: true, numKvHeads: 2, headDim: 12, mlpBias: true, extraConfig: { mlp_bias: true } }, /mlp\.\w+_proj\.bias$/, ['6 MLP bias tensors', 'model_type qwen3', 'Qwen3MLP']],
    ['qwen3 attention_bias false: q/k/v/o biases', { family: 'llama', qkNorm: true, numKvHeads: 2, headDim: 12, attentionBias: true, extraConfig: { attention_bias: false } }, /self_attn\.\w+_proj\.bias$/, ['8 attention bias tensors', 'attention_bias false', 'Qwen3Attention', 'config.json']],
    ['qwen2: o_proj and MLP biases (q/k/v used)', { family: 'llama', numKvHeads: 2, attentionBias: true, mlpBias: true, extraConfig: { model_type: 'qwen2', use_sliding_window: false } }, /(o_proj|mlp\.\w+_proj)\.bias$/, ['2 attention bias tensors', 'model_type qwen2', 'q/k/v only']],
  ];
  for (const [what, opts, drop, mentions] of cases) {
    it(`${what}: same losses as the checkpoint without them, the reference's, and one notice line`, async () => {
      const { withBias, without, dropped } = withAndWithout(opts, drop);
      expect(dropped).toBeGreaterThan(0);
      const a = await lossesOf(withBias);
      expect(a).toEqual(await lossesOf(without));
      const r = await expectMatchesReference(opts, [2, 9, 30]);
      expect(r.names.filter((n) => drop.test(n))).toEqual([]);
      const notices = noticesOf(withBias);
      const mlp = mentions[0]!.includes('MLP');
      const line = notices.filter((l) => l.includes(mlp ? 'MLP bias' : 'attention bias'));
      expect(line, notices.join('\n')).toHaveLength(1);
      for (const m of mentions) expect(line[0]).toContain(m);
      expect(noticesOf(without)).toEqual([]);
    });
  }

  it('qwen2 with both: one line each for the attention and the MLP biases', () => {
    const { withBias } = withAndWithout({ family: 'llama', numKvHeads: 2, attentionBias: true, mlpBias: true, extraConfig: { model_type: 'qwen2', use_sliding_window: false } }, /$^/);
    const notices = noticesOf(withBias);
    expect(notices).toHaveLength(2);
    expect(notices[0]).toContain('2 attention bias tensors');
    expect(notices[1]).toContain('6 MLP bias tensors');
  });

  it('an MLP bias of a block the model does not have is still refused', async () => {
    const ck = writeRandomCheckpoint(fresh('extra-mlp'), { family: 'llama', vocabSize: 64, seed: 4 });
    const entries: Array<[string, RawTensor]> = [...ck.tensors].map(([name, t]) => [name, { dtype: 'F32', shape: t.shape, data: encodeValues(t.values, 'F32') }]);
    writeSafetensors(join(ck.dir, 'model.safetensors'), [...entries, ['model.layers.2.mlp.up_proj.bias', { dtype: 'F32', shape: [96], data: encodeValues(new Array<number>(96).fill(0), 'F32') }]]);
    await expectRejection(() => loadModel(ck.dir, { threads: 1 }), 'ERR_TENSOR_UNKNOWN', ['model.layers.2.mlp.up_proj.bias']);
  });
});
