// Config fields of real Hugging Face checkpoints that change the math (activations, epsilons, biases,
// head_dim, tying, final norms, mistral/qwen2/qwen3 model types): the native forward and gradient against the
// float64 reference (test/reference/forward-f64.ts), and the values the engine does not implement refused
// with ERR_CONFIG naming config.json and the field, never computed differently from transformers.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import type { NativeBackedModel } from '../../lib/model/model.js';
import { type CheckpointOptions, VARIANTS, makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { expectRejection } from '../helpers/expect-error.js';
import { expectGradientMatchesDifferences } from '../helpers/finite-difference.js';
import { directionRef } from '../helpers/philox-ref.js';
import { Rng } from '../helpers/prng.js';
import type { FloatDType } from '../helpers/safetensors.js';
import { RefModel, sequenceLoss } from '../reference/forward-f64.js';

const tmp = makeTempDir('dpzo-config-edges-');
afterAll(() => tmp.cleanup());
let counter = 0;
const fresh = (tag: string) => join(tmp.dir, `${tag}-${counter++}`);

const TOL: Record<FloatDType, number> = { F32: 1e-5, BF16: 2e-3, F16: 2e-3 };

/** Configs a hub checkpoint may have that the shared VARIANTS do not cover. */
const EDGES: Record<string, Omit<CheckpointOptions, 'dtype' | 'seed'>> = {
  'gpt2-gelu-erf': { family: 'gpt2', extraConfig: { activation_function: 'gelu' } },
  'gpt2-relu-untied': { family: 'gpt2', tie: false, extraConfig: { activation_function: 'relu' } },
  'gpt2-silu-n_inner': { family: 'gpt2', intermediateSize: 40, extraConfig: { activation_function: 'silu' } },
  'gpt2-gelu_pytorch_tanh': { family: 'gpt2', extraConfig: { activation_function: 'gelu_pytorch_tanh' } },
  'gpt2-gelu_fast-eps': { family: 'gpt2', normEps: 0.3, extraConfig: { activation_function: 'gelu_fast' } },
  'opt-nobias': { family: 'opt', optBias: false },
  'opt-postln-nobias-untied': { family: 'opt', preLayerNorm: false, optBias: false, tie: false },
  'opt-remove-final-ln': { family: 'opt', removeFinalLayerNorm: true, wordEmbedProjDim: 24 },
  'opt-gelu': { family: 'opt', extraConfig: { activation_function: 'gelu' } },
  'llama-eps-theta': { family: 'llama', normEps: 0.3, ropeTheta: 1e6, numKvHeads: 1, tie: false },
  'llama-headdim-mlpbias': { family: 'llama', numHeads: 2, numKvHeads: 1, headDim: 8, mlpBias: true, tie: true },
  'mistral-gqa': { family: 'llama', numHeads: 4, numKvHeads: 2, tie: false, extraConfig: { model_type: 'mistral', sliding_window: 4096 } },
  // head_dim 8: inv_freq 1, 0.1, 0.01, 0.001 (wavelengths 6.3, 63, 628, 6283); against an original context of 100
  // the first is kept, the second blended (between 100/4 and 100) and the last two divided by the factor
  'llama3-rope-scaling': {
    family: 'llama',
    numKvHeads: 2,
    extraConfig: { rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 100 } },
  },
  'llama-linear-rope-parameters': { family: 'llama', extraConfig: { rope_theta: undefined, rope_parameters: { rope_type: 'linear', factor: 4, rope_theta: 10000 } } },
  // head_dim 16, θ 10⁴, original context 64: the beta_fast (32) and beta_slow (1) pair indices are −0.99 and 2.02,
  // truncated to 0 and 3, so pairs 0..3 ramp 0, ⅓, ⅔, 1 towards f/4 and cos, sin are scaled by 0.1·ln 4 + 1
  'llama-yarn': {
    family: 'llama',
    numHeads: 2,
    numKvHeads: 1,
    extraConfig: { rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 64 } },
  },
  // a Qwen2.5-style legacy "type" block: head_dim 8, θ 100, original context 16, untruncated range [0, 1.41] (pair 1
  // is 71% interpolated) and the mscale / mscale_all_dim attention factor (DeepSeek's reading)
  'qwen2-yarn': {
    family: 'llama',
    numHeads: 4,
    numKvHeads: 2,
    qkvBias: true,
    ropeTheta: 100,
    extraConfig: {
      model_type: 'qwen2',
      use_sliding_window: false,
      rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 16, beta_fast: 8, beta_slow: 0.5, truncate: false, mscale: 1.2, mscale_all_dim: 0.8 },
    },
  },
  'qwen2-tied': { family: 'llama', numHeads: 4, numKvHeads: 2, qkvBias: true, tie: true, extraConfig: { model_type: 'qwen2', use_sliding_window: false } },
  // Qwen3 with attention_bias (q/k/v/o bias), an untied head, one key/value head, head_dim 16 != 32/4, and an
  // rms_norm_eps large enough to matter in q_norm / k_norm (each head's 16 values)
  'qwen3-attn-bias-eps': { family: 'llama', qkNorm: true, numHeads: 4, numKvHeads: 1, headDim: 16, attentionBias: true, tie: false, normEps: 0.3 },
};

interface Batch {
  inputIds: number[][];
  labels: number[][];
}

function batchFor(rng: Rng, vocab: number, lengths: number[]): Batch {
  const inputIds = lengths.map((len) => Array.from({ length: len }, () => rng.int(vocab)));
  const labels = inputIds.map((s) => s.map((t) => (rng.uniform() < 0.25 ? -100 : rng.uniform() < 0.5 ? t : rng.int(vocab))));
  return { inputIds, labels };
}

function refMeanLoss(ref: RefModel, b: Batch): number {
  let s = 0;
  let n = 0;
  b.inputIds.forEach((ids, i) => {
    const l = sequenceLoss(ref.logits(ids), ids, b.labels[i]);
    if (l.targets > 0) {
      s += l.loss;
      n++;
    }
  });
  return s / n;
}

describe('forward of edge configs vs the float64 reference', () => {
  for (const [name, opts] of Object.entries(EDGES)) {
    for (const dtype of ['F32', 'BF16', 'F16'] as FloatDType[]) {
      it(`${name} ${dtype}`, async () => {
        const seed = 500 + counter;
        const ck = writeRandomCheckpoint(fresh(name), { ...opts, dtype, seed, vocabSize: 80 });
        const ref = new RefModel(ck.config, ck.tensors);
        const m = await loadModel(ck.dir, { threads: 2 });
        try {
          const b = batchFor(new Rng(seed), 80, [1, 7, 33, 20]);
          const r = await m.perExampleLoss(b);
          b.inputIds.forEach((ids, i) => {
            const want = sequenceLoss(ref.logits(ids), ids, b.labels[i]);
            expect(r.targets[i]).toBe(want.targets);
            if (want.targets === 0) return;
            const err = Math.abs(r.loss[i]! - want.loss) / Math.abs(want.loss);
            if (!(err <= TOL[dtype])) expect.fail(`sequence ${i}: native ${r.loss[i]}, reference ${want.loss}, relative error ${err.toExponential(2)}`);
          });
        } finally {
          m.dispose();
        }
      });
    }
  }
});

describe('forward of edge configs at a virtual point θ + c·z vs the reference at those weights', () => {
  for (const [name, opts] of Object.entries(EDGES)) {
    for (const dtype of ['F32', 'BF16'] as FloatDType[]) {
      it(`${name} ${dtype}`, async () => {
        const ck = writeRandomCheckpoint(fresh(`virtual-${name}`), { ...opts, dtype, seed: 61, vocabSize: 48 });
        const m = (await loadModel(ck.dir, { threads: 2 })) as NativeBackedModel;
        try {
          const seed = 0x1234_5678_9abcn;
          const coeff = 0.05;
          const { z } = directionRef(seed, 0n, m.numTrainable);
          for (const t of m.tensors()) {
            if (!t.trainable) continue;
            const stored = ck.tensors.get(t.name)!;
            for (let e = 0; e < t.numel; e++) stored.values[e] = Math.fround(stored.values[e]! + coeff * z[t.globalOffset + e]!);
          }
          const ref = new RefModel(ck.config, ck.tensors);
          const b = batchFor(new Rng(61), 48, [1, 8, 21]);
          const [r] = await m.perExampleLossAt(b, [[{ seed, coeff }]]);
          b.inputIds.forEach((ids, i) => {
            const want = sequenceLoss(ref.logits(ids), ids, b.labels[i]);
            if (want.targets === 0) return;
            const err = Math.abs(r!.loss[i]! - want.loss) / Math.abs(want.loss);
            if (!(err <= TOL[dtype])) expect.fail(`sequence ${i}: native ${r!.loss[i]}, reference ${want.loss}, relative error ${err.toExponential(2)}`);
          });
        } finally {
          m.dispose();
        }
      });
    }
  }
});

describe('lossAndGradient of edge configs vs finite differences of the float64 reference', () => {
  // a BF16 checkpoint trains by DP-SGD loaded as float32 (its values exact there)
  for (const [name, opts, dtype] of Object.entries(EDGES).flatMap(([n, o]) => [[n, o, 'F32'] as const, [n, o, 'BF16'] as const])) {
    it(`${name} ${dtype}: every trainable tensor`, async () => {
      const ck = writeRandomCheckpoint(fresh(`grad-${name}`), { ...opts, dtype, seed: 77, vocabSize: 48 });
      const ref = new RefModel(ck.config, ck.tensors);
      const m = (await loadModel(ck.dir, { threads: 2, dtype: 'float32' })) as NativeBackedModel;
      try {
        const rng = new Rng(7);
        const b = batchFor(rng, 48, [9, 1, 6, 12]);
        const r = await m.lossAndGradient!(b);
        expectGradientMatchesDifferences(m.tensors(), ck.tensors, r.grad, () => refMeanLoss(ref, b), rng, 3);
      } finally {
        m.dispose();
      }
    });
  }
});

function l2(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

describe('perExampleGradNorms of edge configs = ‖lossAndGradient with one-hot weights‖₂ (DP-SGD clipping)', () => {
  const cases = { ...EDGES, 'llama-qkv-bias': VARIANTS['llama-qkv-bias']! };
  for (const [name, opts] of Object.entries(cases)) {
    it(`${name}: ghost and explicit norms`, async () => {
      const ck = writeRandomCheckpoint(fresh(`norms-${name}`), { ...opts, dtype: 'F32', seed: 19, vocabSize: 48 });
      const m = (await loadModel(ck.dir, { threads: 2 })) as NativeBackedModel;
      try {
        const b = batchFor(new Rng(5), 48, [11, 1, 7, 16]);
        const want: number[] = [];
        for (let s = 0; s < b.inputIds.length; s++) {
          const w = new Float64Array(b.inputIds.length);
          w[s] = 1;
          want.push(l2((await m.lossAndGradient!(b, { weights: w })).grad));
        }
        for (const mode of ['ghost', 'explicit'] as const) {
          const r = await m.perExampleGradNorms!(b, { mode });
          expect(r.norms[1]).toBe(0);
          for (const s of [0, 2, 3]) {
            const rel = Math.abs(r.norms[s]! - want[s]!) / want[s]!;
            if (!(rel <= 1e-4)) expect.fail(`${mode}: example ${s}: norm ${r.norms[s]}, ‖g_s‖ ${want[s]}, relative error ${rel.toExponential(2)}`);
          }
        }
      } finally {
        m.dispose();
      }
    });
  }
});

describe('config values the engine does not implement are refused, naming config.json and the field', () => {
  const refusals: Array<[string, Omit<CheckpointOptions, 'dtype' | 'seed'>, string]> = [
    ['llama3 rope_scaling without original_max_position_embeddings', { family: 'llama', extraConfig: { rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4 } } }, 'rope_scaling'],
    ['llama3 rope_scaling with low_freq_factor >= high_freq_factor', { family: 'llama', extraConfig: { rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 4, high_freq_factor: 4, original_max_position_embeddings: 8192 } } }, 'rope_scaling'],
    ['linear rope_scaling without a factor', { family: 'llama', extraConfig: { rope_scaling: { type: 'linear' } } }, 'rope_scaling'],
    ['linear rope_scaling with factor 0', { family: 'llama', extraConfig: { rope_scaling: { type: 'linear', factor: 0 } } }, 'rope_scaling'],
    ['longrope rope_scaling', { family: 'llama', extraConfig: { rope_scaling: { type: 'longrope', short_factor: [1, 1, 1, 1], long_factor: [2, 2, 2, 2] } } }, 'rope_scaling'],
    ['yarn rope_parameters without a factor', { family: 'llama', extraConfig: { rope_parameters: { rope_type: 'yarn', rope_theta: 10000 } } }, 'rope_parameters'],
    ['llama hidden_act gelu', { family: 'llama', extraConfig: { hidden_act: 'gelu' } }, 'hidden_act'],
    ['gpt2 quick_gelu', { family: 'gpt2', extraConfig: { activation_function: 'quick_gelu' } }, 'activation_function'],
    ['gpt2 scale_attn_by_inverse_layer_idx', { family: 'gpt2', extraConfig: { scale_attn_by_inverse_layer_idx: true } }, 'scale_attn_by_inverse_layer_idx'],
    ['gpt2 scale_attn_weights false', { family: 'gpt2', extraConfig: { scale_attn_weights: false } }, 'scale_attn_weights'],
    ['num_key_value_heads not dividing', { family: 'llama', numHeads: 4, extraConfig: { num_key_value_heads: 3 } }, 'num_key_value_heads'],
    ['partial_rotary_factor', { family: 'llama', extraConfig: { partial_rotary_factor: 0.5 } }, 'partial_rotary_factor'],
  ];
  for (const [what, opts, field] of refusals) {
    it(what, async () => {
      const ck = writeRandomCheckpoint(fresh('refuse'), { ...opts, seed: 3 });
      await expectRejection(() => loadModel(ck.dir, { threads: 1 }), 'ERR_CONFIG', ['config.json', field]);
    });
  }
});

describe('mistral, qwen2 and qwen3 configs are read as their transformers classes read them', () => {
  /** Native and reference losses of one batch agree in F32. */
  async function expectMatch(opts: Omit<CheckpointOptions, 'dtype' | 'seed'>, lengths = [1, 9, 30]): Promise<void> {
    const ck = writeRandomCheckpoint(fresh('class'), { ...opts, dtype: 'F32', seed: 41, vocabSize: 64 });
    const ref = new RefModel(ck.config, ck.tensors);
    const m = await loadModel(ck.dir, { threads: 2 });
    try {
      const b = batchFor(new Rng(41), 64, lengths);
      const r = await m.perExampleLoss(b);
      b.inputIds.forEach((ids, i) => {
        const want = sequenceLoss(ref.logits(ids), ids, b.labels[i]);
        if (want.targets === 0) return;
        const err = Math.abs(r.loss[i]! - want.loss) / Math.abs(want.loss);
        if (!(err <= TOL.F32)) expect.fail(`sequence ${i}: native ${r.loss[i]}, reference ${want.loss}`);
      });
    } finally {
      m.dispose();
    }
  }

  it('mistral: attention_bias / mlp_bias in config.json are not MistralConfig fields (no bias tensors needed)', async () => {
    await expectMatch({ family: 'llama', numKvHeads: 2, extraConfig: { model_type: 'mistral', attention_bias: true, mlp_bias: true } });
  });

  it('qwen2: mlp_bias / attention_bias are not Qwen2Config fields (bias on q/k/v only)', async () => {
    await expectMatch({ family: 'llama', numKvHeads: 2, qkvBias: true, extraConfig: { model_type: 'qwen2', attention_bias: true, mlp_bias: true } });
  });

  it('mistral: bias tensors, which MistralAttention drops, are left unused as transformers leaves them', async () => {
    await expectMatch({ family: 'llama', qkvBias: true, mlpBias: true, extraConfig: { model_type: 'mistral', mlp_bias: true } });
  });

  it('an absent num_key_value_heads is MistralConfig’s 8 and Qwen2Config’s 32; null means num_attention_heads', async () => {
    // 16 heads of 2, 8 of them key/value heads: as transformers builds MistralConfig without the field
    await expectMatch({ family: 'llama', hiddenSize: 32, numHeads: 16, numKvHeads: 8, extraConfig: { model_type: 'mistral', num_key_value_heads: undefined } });
    await expectMatch({ family: 'llama', hiddenSize: 64, numHeads: 32, numKvHeads: 32, headDim: 2, qkvBias: true, extraConfig: { model_type: 'qwen2', num_key_value_heads: undefined } });
    await expectMatch({ family: 'llama', numHeads: 4, numKvHeads: 4, extraConfig: { model_type: 'mistral', num_key_value_heads: null } });
    // 4 heads cannot share 8 key/value heads: refused, naming the default
    const ck = writeRandomCheckpoint(fresh('mistral-nkv'), { family: 'llama', numHeads: 4, seed: 5, extraConfig: { model_type: 'mistral', num_key_value_heads: undefined } });
    await expectRejection(() => loadModel(ck.dir, { threads: 1 }), 'ERR_CONFIG', ['config.json', 'num_key_value_heads', 'mistral default']);
  });

  it('qwen3: an absent head_dim is Qwen3Config’s 128 (not hidden / heads), an absent num_key_value_heads its 32', async () => {
    // hidden 16 over 2 heads: a head_dim of 8 would not fit the 256-row q_proj
    await expectMatch({ family: 'llama', qkNorm: true, hiddenSize: 16, numHeads: 2, numKvHeads: 2, headDim: 128, extraConfig: { head_dim: undefined } });
    await expectMatch({ family: 'llama', qkNorm: true, hiddenSize: 64, numHeads: 32, numKvHeads: 32, headDim: 2, extraConfig: { num_key_value_heads: undefined } });
  });

  it('qwen3: mlp_bias is not a Qwen3Config field (no MLP bias); attention_bias switches the q/k/v/o biases', async () => {
    await expectMatch({ family: 'llama', qkNorm: true, numKvHeads: 2, headDim: 12, extraConfig: { mlp_bias: true } });
    await expectMatch({ family: 'llama', qkNorm: true, numKvHeads: 2, headDim: 12, attentionBias: true });
  });

  it('an absent sliding_window is the 4096 default (mistral; qwen2 with use_sliding_window), null none', async () => {
    const long = Array.from({ length: 4097 }, (_, i) => i % 64);
    for (const [extra, window] of [
      [{ model_type: 'mistral' }, 4096],
      // qwen2 windows the layers at or past max_window_layers (default 28): with 0, this model's one layer
      [{ model_type: 'qwen2', use_sliding_window: true, max_window_layers: 0 }, 4096],
      [{ model_type: 'qwen2', use_sliding_window: false }, null],
      // qwen3 reads the window as Qwen2Config
      [{ model_type: 'qwen3', use_sliding_window: true, max_window_layers: 0, sliding_window: undefined }, 4096],
      [{ model_type: 'qwen3', use_sliding_window: true, max_window_layers: 1, sliding_window: 100 }, null],
      [{ model_type: 'mistral', sliding_window: null }, null],
      [{ model_type: 'mistral', sliding_window: 100 }, 100],
    ] as const) {
      const ck = writeRandomCheckpoint(fresh('window'), {
        family: 'llama',
        hiddenSize: 8,
        numHeads: 2,
        numLayers: 1,
        vocabSize: 64,
        maxPositions: 5000,
        qkvBias: extra.model_type === 'qwen2',
        qkNorm: extra.model_type === 'qwen3',
        seed: 6,
        extraConfig: extra,
      });
      const m = await loadModel(ck.dir, { threads: 2 });
      try {
        if (window === null) {
          expect((await m.perExampleLoss({ inputIds: [long] })).targets[0]).toBe(4096);
        } else {
          expect((await m.perExampleLoss({ inputIds: [long.slice(0, window)] })).targets[0]).toBe(window - 1);
          await expectRejection(() => m.perExampleLoss({ inputIds: [long.slice(0, window + 1)] }), 'ERR_SEQUENCE_LENGTH', [String(window)]);
        }
      } finally {
        m.dispose();
      }
    }
  });

  it('a null flag is false, as transformers tests it (Python None): null tie_word_embeddings unties the head', async () => {
    // the file's own lm_head is used, not the embedding
    await expectMatch({ family: 'gpt2', tie: false, extraConfig: { tie_word_embeddings: null } });
    await expectMatch({ family: 'opt', tie: false, extraConfig: { tie_word_embeddings: null } });
    // null do_layer_norm_before is post-LN (no final layer norm); null enable_bias no biases
    await expectMatch({ family: 'opt', preLayerNorm: false, extraConfig: { do_layer_norm_before: null } });
    await expectMatch({ family: 'opt', optBias: false, extraConfig: { enable_bias: null } });
    // null _remove_final_layer_norm keeps it; null attention_bias / mlp_bias: none
    await expectMatch({ family: 'opt', extraConfig: { _remove_final_layer_norm: null } });
    await expectMatch({ family: 'llama', extraConfig: { attention_bias: null, mlp_bias: null } });
    const ck = writeRandomCheckpoint(fresh('null-scale'), { family: 'gpt2', seed: 3, extraConfig: { scale_attn_weights: null } });
    await expectRejection(() => loadModel(ck.dir, { threads: 1 }), 'ERR_CONFIG', ['config.json', 'scale_attn_weights']);
  });

  it('rope_parameters: an unsupported legacy "type", a partial_rotary_factor and per-layer-type parameters are refused, not read as default RoPE', async () => {
    for (const rp of [
      { type: 'su', short_factor: [1, 1, 1, 1], long_factor: [1, 1, 1, 1], rope_theta: 10000 },
      { rope_type: 'default', rope_theta: 10000, partial_rotary_factor: 0.5 },
      { full_attention: { rope_type: 'default', rope_theta: 1e6 }, sliding_attention: { rope_type: 'default', rope_theta: 1e4 } },
    ]) {
      const ck = writeRandomCheckpoint(fresh('rope-params'), { family: 'llama', seed: 3, extraConfig: { rope_parameters: rp } });
      await expectRejection(() => loadModel(ck.dir, { threads: 1 }), 'ERR_CONFIG', ['config.json', 'rope_parameters']);
    }
    // and the v5 default form is read: its rope_theta replaces the top-level one
    await expectMatch({ family: 'llama', ropeTheta: 50, extraConfig: { rope_theta: undefined, rope_parameters: { rope_type: 'default', rope_theta: 50 } } });
  });
});
