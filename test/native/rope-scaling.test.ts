// RoPE scaling as transformers computes it (modeling_rope_utils.py): "yarn" frequencies and attention factor folded
// into the one cos/sin table both backends read, "dynamic" as the default table with sequences capped at the original
// context (transformers' batch-wide rescale past it would make one example's loss depend on another's length), and
// malformed yarn fields or unsupported types refused in one line naming config.json and the field.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import { type CheckpointOptions, makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { expectRejection } from '../helpers/expect-error.js';
import { Rng } from '../helpers/prng.js';
import { type RawTensor, encodeValues, writeSafetensors } from '../helpers/safetensors.js';
import { RefModel, ropeInvFreq, sequenceLoss } from '../reference/forward-f64.js';

const tmp = makeTempDir('dpzo-rope-scaling-');
afterAll(() => tmp.cleanup());
let counter = 0;
const fresh = (tag: string) => join(tmp.dir, `${tag}-${counter++}`);

const LENGTHS = [2, 9, 30, 64];

function batch(seed: number, vocab: number, lengths = LENGTHS): number[][] {
  const rng = new Rng(seed);
  return lengths.map((n) => Array.from({ length: n }, () => rng.int(vocab)));
}

/** Native per-example losses of `dir` on `inputIds`, with the model's maxPositions. */
async function lossesOf(dir: string, inputIds: number[][]): Promise<{ loss: number[]; maxPositions: number }> {
  const m = await loadModel(dir, { threads: 2 });
  try {
    const r = await m.perExampleLoss({ inputIds });
    return { loss: Array.from(r.loss), maxPositions: m.config.maxPositions };
  } finally {
    m.dispose();
  }
}

function expectClose(got: number[], want: number[], tol: number, what: string): void {
  got.forEach((g, i) => {
    const err = Math.abs(g - want[i]!) / Math.abs(want[i]!);
    if (!(err <= tol)) expect.fail(`${what}, sequence ${i}: ${g} vs ${want[i]} (relative error ${err.toExponential(2)})`);
  });
}

const base: CheckpointOptions = { family: 'llama', numHeads: 4, numKvHeads: 2, vocabSize: 64, seed: 23 };

describe('yarn', () => {
  // head_dim 8, θ 10⁴, original context 64, factor 4. Pair i turns 64·10⁴^(−i/4)/(2π) times in the original
  // context; the pair index turning r times is 8·ln(64/(2πr))/(2·ln 10⁴): −0.497 for beta_fast 32 and 1.008 for
  // beta_slow 1, truncated outwards to 0 and 2. The ramp over pairs 0..3 is 0, ½, 1, 1, so inv_freq is
  // 1, 0.1·(½ + ½/4), 0.01/4, 0.001/4 = 1, 0.0625, 0.0025, 0.00025, and cos, sin are scaled by 0.1·ln 4 + 1.
  const yarn = { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 64 };

  it('hand-computed inv_freq and attention factor of a small config (the reference, then native against it)', async () => {
    const { invFreq, scale } = ropeInvFreq({ max_position_embeddings: 64, rope_scaling: yarn }, 8, 10000);
    const want = [1, 0.0625, 0.0025, 0.00025];
    invFreq.forEach((f, i) => expect(f).toBeCloseTo(want[i]!, 15));
    expect(scale).toBeCloseTo(1.1386294361119891, 15);
    // untruncated: the range is [0, 1.0080001], so pair 1 is interpolated by the weight 1/1.0080001 = 0.9920634:
    // 0.1·(0.9920634/4 + 0.0079366) = 0.0255952
    const untruncated = ropeInvFreq({ max_position_embeddings: 64, rope_scaling: { ...yarn, truncate: false } }, 8, 10000).invFreq;
    [1, 0.0255952, 0.0025, 0.00025].forEach((f, i) => expect(untruncated[i]).toBeCloseTo(f, 7));
    // mscale 2 / mscale_all_dim 1: (0.2·ln 4 + 1)/(0.1·ln 4 + 1) = 1.2772589/1.1386294
    expect(ropeInvFreq({ max_position_embeddings: 64, rope_scaling: { ...yarn, mscale: 2, mscale_all_dim: 1 } }, 8, 10000).scale).toBeCloseTo(1.121751143713058, 15);

    for (const rs of [yarn, { ...yarn, truncate: false }, { ...yarn, mscale: 2, mscale_all_dim: 1 }]) {
      const ck = writeRandomCheckpoint(fresh('hand'), { ...base, extraConfig: { rope_scaling: rs } });
      const ref = new RefModel(ck.config, ck.tensors);
      const ids = batch(5, 64);
      expectClose((await lossesOf(ck.dir, ids)).loss, ids.map((s) => sequenceLoss(ref.logits(s), s).loss), 1e-5, JSON.stringify(rs));
    }
  });

  it('the attention factor multiplies cos and sin: factor 1 (default frequencies) with attention_factor a = q_proj × a²', async () => {
    const ck = writeRandomCheckpoint(fresh('af'), { ...base, extraConfig: { rope_scaling: { rope_type: 'yarn', factor: 1, attention_factor: 1.5 } } });
    // the same weights under default RoPE, with every q_proj weight scaled by 1.5² (q·k is scaled by a²)
    const scaled = writeRandomCheckpoint(fresh('af-scaled'), { ...base });
    const entries: Array<[string, RawTensor]> = [...ck.tensors].map(([name, t]) => {
      const values = name.endsWith('q_proj.weight') ? Array.from(t.values, (v) => v * 2.25) : Array.from(t.values);
      return [name, { dtype: 'F32', shape: t.shape, data: encodeValues(values, 'F32') }];
    });
    writeSafetensors(join(scaled.dir, 'model.safetensors'), entries);
    const ids = batch(6, 64);
    const yarnLoss = await lossesOf(ck.dir, ids);
    const plainLoss = await lossesOf(scaled.dir, ids);
    expectClose(yarnLoss.loss, plainLoss.loss, 1e-5, 'yarn a=1.5 vs q×2.25');
    // and not the unscaled model (the factor is used at all)
    const unscaled = writeRandomCheckpoint(fresh('af-unscaled'), { ...base });
    writeSafetensors(join(unscaled.dir, 'model.safetensors'), [...ck.tensors].map(([name, t]) => [name, { dtype: 'F32', shape: t.shape, data: encodeValues(Array.from(t.values), 'F32') }]));
    const unscaledLoss = await lossesOf(unscaled.dir, ids);
    expect(Math.abs(unscaledLoss.loss[3]! - yarnLoss.loss[3]!)).toBeGreaterThan(1e-3);
  });

  it('rope_parameters (transformers v5), a top-level original_max_position_embeddings and a null factor', async () => {
    // the top-level original context wins over the block's (standardize_rope_params); a null factor is max/original
    for (const extra of [
      { rope_theta: undefined, rope_parameters: { rope_type: 'yarn', factor: 4, rope_theta: 500, beta_fast: 16, beta_slow: 2 } },
      { original_max_position_embeddings: 16, rope_scaling: { rope_type: 'yarn', factor: 2, original_max_position_embeddings: 64 } },
      { rope_scaling: { rope_type: 'yarn', factor: null, original_max_position_embeddings: 16 } },
    ]) {
      const ck = writeRandomCheckpoint(fresh('v5'), { ...base, extraConfig: extra });
      const ref = new RefModel(ck.config, ck.tensors);
      const ids = batch(7, 64);
      const got = await lossesOf(ck.dir, ids);
      expect(got.maxPositions).toBe(64);
      expectClose(got.loss, ids.map((s) => sequenceLoss(ref.logits(s), s).loss), 1e-5, JSON.stringify(extra));
    }
  });

  it('malformed yarn fields are refused in one line naming config.json, the block and why', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ rope_type: 'yarn', factor: 0 }, 'factor must be a positive number'],
      [{ rope_type: 'yarn', factor: -2 }, 'factor must be a positive number'],
      [{ rope_type: 'yarn', factor: '4' }, 'factor must be a positive number'],
      [{ rope_type: 'yarn' }, 'needs factor'],
      [{ rope_type: 'yarn', factor: 4, beta_fast: 1, beta_slow: 2 }, 'beta_fast (1) must exceed beta_slow (2)'],
      [{ rope_type: 'yarn', factor: 4, beta_fast: 3, beta_slow: 3 }, 'must exceed beta_slow'],
      [{ rope_type: 'yarn', factor: 4, beta_slow: 40 }, 'beta_fast (32) must exceed beta_slow (40)'],
      [{ rope_type: 'yarn', factor: 4, beta_fast: 'fast' }, 'beta_fast must be a positive number'],
      [{ rope_type: 'yarn', factor: 4, truncate: 'yes' }, 'truncate must be true or false'],
      [{ rope_type: 'yarn', factor: 4, attention_factor: 0 }, 'attention_factor must be a positive number'],
      [{ rope_type: 'yarn', factor: 4, mscale: -1, mscale_all_dim: 1 }, 'mscale must be a non-negative number'],
      [{ rope_type: 'yarn', factor: 4, original_max_position_embeddings: 0 }, 'original_max_position_embeddings must be a positive number'],
      [{ rope_type: 'longrope', short_factor: [1, 1, 1, 1], long_factor: [1, 1, 1, 1] }, 'supported: default, linear, llama3, yarn, dynamic'],
      [{ type: 'dynamic' }, 'needs factor'],
    ];
    for (const [rs, why] of cases) {
      const ck = writeRandomCheckpoint(fresh('bad'), { ...base, extraConfig: { rope_scaling: rs } });
      const e = await expectRejection(() => loadModel(ck.dir, { threads: 1 }), 'ERR_CONFIG', ['config.json', "'rope_scaling'", why]);
      expect(e.message).not.toContain('\n');
    }
    const ck = writeRandomCheckpoint(fresh('bad-theta'), { ...base, ropeTheta: 1, extraConfig: { rope_scaling: { rope_type: 'yarn', factor: 4 } } });
    await expectRejection(() => loadModel(ck.dir, { threads: 1 }), 'ERR_CONFIG', ['config.json', 'rope_theta']);
  });
});

describe('dynamic (NTK) is the default RoPE within the original context, and longer sequences are refused', () => {
  it('the same losses as default RoPE, bit for bit', async () => {
    const dyn = writeRandomCheckpoint(fresh('dyn'), { ...base, extraConfig: { rope_scaling: { type: 'dynamic', factor: 4 } } });
    const plain = writeRandomCheckpoint(fresh('plain'), { ...base });
    const ids = batch(8, 64);
    const a = await lossesOf(dyn.dir, ids);
    const b = await lossesOf(plain.dir, ids);
    expect(a.loss).toEqual(b.loss);
    expect(a.maxPositions).toBe(64);
    const ref = new RefModel(dyn.config, dyn.tensors);
    expectClose(a.loss, ids.map((s) => sequenceLoss(ref.logits(s), s).loss), 1e-5, 'dynamic vs reference');
  });

  it('an original_max_position_embeddings below max_position_embeddings caps the sequence length there', async () => {
    for (const extra of [
      { rope_scaling: { type: 'dynamic', factor: 2, original_max_position_embeddings: 32 } },
      { original_max_position_embeddings: 32, rope_parameters: { rope_type: 'dynamic', factor: 2, rope_theta: 10000 } },
    ]) {
      const ck = writeRandomCheckpoint(fresh('dyn-cap'), { ...base, extraConfig: extra });
      const m = await loadModel(ck.dir, { threads: 1 });
      try {
        expect(m.config.maxPositions).toBe(32);
        await m.perExampleLoss({ inputIds: batch(9, 64, [32]) });
        await expectRejection(() => m.perExampleLoss({ inputIds: batch(9, 64, [5, 33]) }), 'ERR_SEQUENCE_LENGTH', ['32']);
      } finally {
        m.dispose();
      }
    }
  });
});

describe('the config is kept verbatim: a saved yarn model reloads with the same losses', () => {
  it('save → load', async () => {
    const ck = writeRandomCheckpoint(fresh('save'), { ...base, extraConfig: { rope_scaling: { rope_type: 'yarn', factor: 8, original_max_position_embeddings: 32, mscale: 1, mscale_all_dim: 0.5 } } });
    const m = await loadModel(ck.dir, { threads: 1 });
    const out = fresh('saved');
    try {
      await m.save(out);
    } finally {
      m.dispose();
    }
    expect((JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { rope_scaling: unknown }).rope_scaling).toEqual(ck.config.rope_scaling);
    const ids = batch(10, 64);
    expect((await lossesOf(out, ids)).loss).toEqual((await lossesOf(ck.dir, ids)).loss);
  });
});
