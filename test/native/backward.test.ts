// Issue 13 (first part): the CPU backward pass. The gradient of the mean per-example NLL from
// lossAndGradient is pinned against central finite differences of the independent float64 reference
// forward (test/reference/forward-f64.ts) on tiny random checkpoints of each family it covers, every
// trainable tensor checked (a sample of its elements, the largest-gradient one included) with the fused
// loss's gradient (head, final norm) among them, in full-vocabulary and in candidate-set mode; and against the ZO estimate (ℓ(θ+εz) − ℓ(θ−εz))/(2ε) of
// the native forward at virtual points along the Philox direction z, which must equal zᵀ∇ℓ to O(ε²).
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import type { NativeBackedModel } from '../../lib/model/model.js';
import { type Checkpoint, type CheckpointOptions, VARIANTS, makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { expectRejection } from '../helpers/expect-error.js';
import { expectGradientMatchesDifferences } from '../helpers/finite-difference.js';
import { directionRef } from '../helpers/philox-ref.js';
import { Rng } from '../helpers/prng.js';
import { RefModel, candidateLoss, sequenceLoss } from '../reference/forward-f64.js';

const tmp = makeTempDir('dpzo-backward-');
afterAll(() => tmp.cleanup());

interface Batch {
  inputIds: number[][];
  labels: number[][];
  candidates?: number[];
}

/** Lengths 9, 1 (no target at all), 6 and 12; ~25% of labels -100: every masking path of the loss. */
function batchFor(rng: Rng, vocab: number): Batch {
  const inputIds = [9, 1, 6, 12].map((len) => Array.from({ length: len }, () => rng.int(vocab)));
  const labels = inputIds.map((s) => s.map((t) => (rng.uniform() < 0.25 ? -100 : rng.uniform() < 0.5 ? t : rng.int(vocab))));
  return { inputIds, labels };
}

/**
 * Candidate mode, as a classification task builds it (lib/data/tasks.ts): K = 3 label words, each example's
 * only target its label word at the last position; plus one example with two targets (the mode allows any
 * number), one without targets, and candidate ids that also occur among the tokens (a tied head's rows then
 * carry both gradients).
 */
function candidateBatchFor(rng: Rng, vocab: number): Batch {
  const candidates = [3, 7, vocab - 2];
  const inputIds = [9, 1, 6, 12].map((len) => Array.from({ length: len }, () => rng.int(vocab)));
  inputIds[0]![2] = candidates[1]!;
  const labels = inputIds.map((s) => s.map(() => -100));
  for (const s of [0, 2, 3]) {
    const y = candidates[rng.int(3)]!;
    inputIds[s]![inputIds[s]!.length - 1] = y;
    labels[s]![labels[s]!.length - 1] = y;
  }
  labels[3]![5] = candidates[0]!;
  return { inputIds, labels, candidates };
}

/** The float64 reference of what lossAndGradient differentiates: the mean over examples with targets. */
function refMeanLoss(ref: RefModel, b: Batch): number {
  let s = 0;
  let n = 0;
  b.inputIds.forEach((ids, i) => {
    const logits = ref.logits(ids);
    const l = b.candidates ? candidateLoss(logits, ids, b.candidates, b.labels[i]) : sequenceLoss(logits, ids, b.labels[i]);
    if (l.targets > 0) {
      s += l.loss;
      n++;
    }
  });
  return s / n;
}

const SAMPLES = 4;

async function checkAgainstReference(ck: Checkpoint, model: NativeBackedModel, b: Batch, seed: number): Promise<void> {
  const ref = new RefModel(ck.config, ck.tensors);
  const r = await model.lossAndGradient!(b);
  // the same forward: losses bit for bit those of perExampleLoss
  const plain = await model.perExampleLoss(b);
  expect(Buffer.from(r.loss.buffer).toString('hex')).toBe(Buffer.from(plain.loss.buffer).toString('hex'));
  expect(Array.from(r.targets)).toEqual(Array.from(plain.targets));
  expect(r.grad.length).toBe(model.numTrainable);
  expectGradientMatchesDifferences(model.tensors(), ck.tensors, r.grad, () => refMeanLoss(ref, b), new Rng(seed), SAMPLES);
}

const FAMILIES: Record<string, Omit<CheckpointOptions, 'dtype' | 'seed'>> = {
  'llama-gqa-untied': VARIANTS['llama-gqa-untied']!,
  'llama-tied-mha': VARIANTS['llama-tied-mha']!,
  'llama-qkv-bias': VARIANTS['llama-qkv-bias']!,
  'llama-attn-bias': VARIANTS['llama-attn-bias']!,
  // q_norm / k_norm (per head, shared weight), head_dim != hidden/heads, GQA; and with attention_bias (q/k/v/o bias)
  qwen3: VARIANTS.qwen3!,
  'qwen3-attn-bias-untied': { ...VARIANTS.qwen3!, attentionBias: true, tie: false, numKvHeads: 1 },
  gpt2: VARIANTS.gpt2!,
  'gpt2-untied': { family: 'gpt2', tie: false, hiddenSize: 24, numHeads: 3 },
  'opt-preln': VARIANTS['opt-preln']!,
  'opt-postln': VARIANTS['opt-postln']!,
  'opt-project': VARIANTS['opt-project']!,
  'opt-preln-project-untied': { ...VARIANTS['opt-preln-project']!, tie: false },
  // vocabularies of several 256-column tiles (the last one partial), split in chunks over the 2 threads:
  // the fused loss's two passes and its per-chunk sums of ∂ℓ/∂h
  'llama-vocab-700': { family: 'llama', numHeads: 4, numKvHeads: 2, vocabSize: 700, tie: false },
  'gpt2-vocab-1000-tied': { family: 'gpt2', vocabSize: 1000 },
};

describe('lossAndGradient against finite differences of the float64 reference', () => {
  let n = 0;
  for (const [variant, opts] of Object.entries(FAMILIES)) {
    it(`${variant}: every trainable tensor`, async () => {
      const ck = writeRandomCheckpoint(join(tmp.dir, `${variant}-${n++}`), { ...opts, dtype: 'F32', seed: 21, numLayers: 2 });
      const model = await loadModel(ck.dir, { threads: 2 });
      try {
        await checkAgainstReference(ck, model, batchFor(new Rng(5), ck.config.vocab_size as number), 7);
      } finally {
        model.dispose();
      }
    });
  }
});

// Candidate mode (the loss DP-ZO trains a classification task on): the same bounds against the reference's
// candidate-set cross-entropy. Every family and head layout: tied (the head's K rows are embedding rows too),
// untied, OPT's project_out. Untied, the head's gradient must be exactly zero outside the K candidate rows
// (the full-vocabulary loss's would not be).
const CANDIDATE_FAMILIES = ['llama-gqa-untied', 'llama-tied-mha', 'gpt2', 'gpt2-untied', 'opt-postln', 'opt-preln-project-untied'];

describe('lossAndGradient in candidate mode against finite differences of the float64 reference', () => {
  for (const variant of CANDIDATE_FAMILIES) {
    it(`${variant}: every trainable tensor, the head outside the candidates untouched`, async () => {
      const ck = writeRandomCheckpoint(join(tmp.dir, `cand-${variant}`), { ...FAMILIES[variant]!, dtype: 'F32', seed: 23, numLayers: 2 });
      const model = await loadModel(ck.dir, { threads: 2 });
      try {
        const V = ck.config.vocab_size as number;
        const b = candidateBatchFor(new Rng(6), V);
        await checkAgainstReference(ck, model, b, 9);
        const head = model.tensors().find((t) => t.name.endsWith('lm_head.weight'));
        if (head) {
          const { grad } = await model.lossAndGradient!(b);
          const E = head.numel / V;
          for (let v = 0; v < V; v++) {
            const row = grad.subarray(head.globalOffset + v * E, head.globalOffset + (v + 1) * E);
            if (b.candidates!.includes(v)) expect(row.some((g) => g !== 0), `head row ${v}`).toBe(true);
            else if (row.some((g) => g !== 0)) expect.fail(`head row ${v} is no candidate but has a gradient`);
          }
        }
      } finally {
        model.dispose();
      }
    });
  }

  it('a candidate batch without labels: every next token must be a candidate (ERR_BATCH), as in the forward', async () => {
    const ck = writeRandomCheckpoint(join(tmp.dir, 'cand-nolabels'), { ...FAMILIES.gpt2!, dtype: 'F32', seed: 3 });
    const model = await loadModel(ck.dir, { threads: 1 });
    try {
      const bad = { inputIds: [[1, 4, 5]], candidates: [4, 6] };
      await expectRejection(() => model.lossAndGradient!(bad), 'ERR_BATCH', ['is not among the candidates']);
      await expectRejection(() => model.perExampleLoss(bad), 'ERR_BATCH', ['is not among the candidates']);
      const ok = await model.lossAndGradient!({ inputIds: [[1, 4, 6]], candidates: [4, 6] });
      expect(ok.targets[0]).toBe(2);
    } finally {
      model.dispose();
    }
  });
});

/** Mean of the per-example losses over the examples that have targets (the loss lossAndGradient differentiates). */
function meanLoss(loss: Float64Array): number {
  let s = 0;
  let n = 0;
  for (const l of loss) {
    if (Number.isNaN(l)) continue;
    s += l;
    n++;
  }
  return s / n;
}

describe('the two engines agree: ZO difference quotient = zᵀ∇ℓ', () => {
  for (const variant of ['llama-gqa-untied', 'gpt2']) {
    it(`${variant}: (ℓ(θ+εz) − ℓ(θ−εz))/(2ε) → zᵀ∇ℓ as O(ε²)`, async () => {
      const ck = writeRandomCheckpoint(join(tmp.dir, `zo-${variant}`), { ...FAMILIES[variant]!, dtype: 'F32', seed: 33 });
      const model = await loadModel(ck.dir, { threads: 2 });
      try {
        const b = batchFor(new Rng(11), ck.config.vocab_size as number);
        const { grad } = await model.lossAndGradient!(b);
        const seed = 0x5eed_0000_0bd1n;
        const { z } = directionRef(seed, 0n, model.numTrainable);
        let dir = 0;
        for (let g = 0; g < z.length; g++) dir += z[g]! * grad[g]!;
        const zo = async (eps: number) => {
          const [p, m] = await model.perExampleLossAt(b, [[{ seed, coeff: eps }], [{ seed, coeff: -eps }]]);
          return (meanLoss(p!.loss) - meanLoss(m!.loss)) / (2 * eps);
        };
        const qs: number[] = [];
        for (const eps of [1.6e-2, 8e-3, 4e-3]) qs.push(await zo(eps));
        const errs = qs.map((q) => Math.abs(q - dir));
        const rich = (4 * qs[2]! - qs[1]!) / 3;
        // The central quotient is zᵀ∇ℓ + ε²·c₃ + O(ε⁴): halving ε divides the error by ~4 (measured 3.2–3.7 here,
        // the ε⁴ term still visible at these steps). A wrong gradient leaves an error that does not shrink (ratio
        // → 1), a first-order one would halve it (ratio 2). Richardson's (4q(ε) − q(2ε))/3 cancels the ε² term:
        // measured within 1e-3 of zᵀ∇ℓ (float32 losses differenced at ε = 4e-3 limit it), so 3e-3 is the bound.
        for (let i = 0; i + 1 < errs.length; i++) {
          const ratio = errs[i]! / errs[i + 1]!;
          expect(ratio, `error ratio at ε step ${i}: errors ${errs.join(', ')}`).toBeGreaterThan(2.8);
          expect(ratio, `error ratio at ε step ${i}: errors ${errs.join(', ')}`).toBeLessThan(4.6);
        }
        expect(Math.abs(rich - dir) / Math.abs(dir), `Richardson ${rich} vs zᵀ∇ℓ ${dir}`).toBeLessThan(3e-3);
        expect(errs[2]! / Math.abs(dir)).toBeLessThan(2e-2);
      } finally {
        model.dispose();
      }
    });
  }
});

/** max_i |a_i − b_i| ≤ tol·max_i |b_i|. */
function expectVecClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  expect(a.length, `${what} length`).toBe(b.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  }
  if (!(worst <= tol * scale)) expect.fail(`${what}: max difference ${worst.toExponential(2)} > ${tol} × ${scale.toExponential(2)}`);
}

describe('per-example weights (what DP-SGD builds on)', () => {
  it('the gradient is linear in the weights; a one-hot weight is that example alone; no targets, no gradient', async () => {
    const ck = writeRandomCheckpoint(join(tmp.dir, 'weights'), { ...FAMILIES['llama-attn-bias']!, dtype: 'F32', seed: 4 });
    const model = await loadModel(ck.dir, { threads: 2 });
    try {
      const b = batchFor(new Rng(12), ck.config.vocab_size as number);
      const n = b.inputIds.length;
      const per: Float32Array[] = [];
      for (let s = 0; s < n; s++) {
        const w = new Float64Array(n);
        w[s] = 1;
        per.push((await model.lossAndGradient!(b, { weights: w })).grad);
      }
      // sequence 1 has one token, so no target: weight or not, it adds nothing
      expect(per[1]!.every((g) => g === 0)).toBe(true);
      for (const s of [0, 2, 3]) {
        expect(per[s]!.some((g) => g !== 0)).toBe(true);
        const alone = await model.lossAndGradient!({ inputIds: [b.inputIds[s]!], labels: [b.labels[s]!] });
        // float32 sums over different row sets (the others contribute exact zeros, but tiles and chunks differ)
        expectVecClose(alone.grad, per[s]!, 1e-5, `example ${s} alone vs one-hot weight`);
      }
      const w = [0.5, 7, -2, 0.25];
      const mixed = await model.lossAndGradient!(b, { weights: w });
      const want = new Float64Array(model.numTrainable);
      for (let s = 0; s < n; s++) for (let g = 0; g < want.length; g++) want[g] += w[s]! * per[s]![g]!;
      expectVecClose(mixed.grad, want, 1e-5, 'Σ w_s g_s');
      // the default is the mean over the three examples that have targets
      const mean = await model.lossAndGradient!(b);
      const third = new Float64Array(model.numTrainable);
      for (const s of [0, 2, 3]) for (let g = 0; g < third.length; g++) third[g] += per[s]![g]! / 3;
      expectVecClose(mean.grad, third, 1e-5, 'default weights = mean over examples with targets');
      expect(Number.isNaN(mean.loss[1]!)).toBe(true);
      expect(mean.targets[1]).toBe(0);
      // a batch without any target: NaN losses, a zero gradient
      const none = await model.lossAndGradient!({ inputIds: [[3], [4, 5]], labels: [[3], [4, -100]] });
      expect(Array.from(none.targets)).toEqual([0, 0]);
      expect(none.loss.every((l) => Number.isNaN(l))).toBe(true);
      expect(none.grad.every((g) => g === 0)).toBe(true);
    } finally {
      model.dispose();
    }
  });

  it('frozen tensors: the trainable ones get the same gradient, laid out over the trainable space only', async () => {
    const ck = writeRandomCheckpoint(join(tmp.dir, 'frozen'), { ...FAMILIES.gpt2!, dtype: 'F32', seed: 6 });
    const full = await loadModel(ck.dir, { threads: 2 });
    const part = await loadModel(ck.dir, { threads: 2, trainable: ['h.1', 'ln_f'] });
    try {
      const b = batchFor(new Rng(13), ck.config.vocab_size as number);
      const gf = (await full.lossAndGradient!(b)).grad;
      const gp = (await part.lossAndGradient!(b)).grad;
      expect(gp.length).toBe(part.numTrainable);
      expect(part.numTrainable).toBeLessThan(full.numTrainable);
      const offsets = new Map(full.tensors().map((t) => [t.name, t.globalOffset]));
      for (const t of part.tensors()) {
        if (!t.trainable) continue;
        const o = offsets.get(t.name)!;
        const want = gf.subarray(o, o + t.numel);
        const got = gp.subarray(t.globalOffset, t.globalOffset + t.numel);
        // freezing only skips weight products: every remaining value is computed the same way
        expect(Buffer.from(got.slice().buffer).equals(Buffer.from(want.slice().buffer)), t.name).toBe(true);
      }
    } finally {
      full.dispose();
      part.dispose();
    }
  });
});

describe('lossAndGradient as an operation of the model', () => {
  it('is deterministic, accounts its memory, and honours an aborted signal', async () => {
    const ck = writeRandomCheckpoint(join(tmp.dir, 'op'), { ...FAMILIES['llama-vocab-700']!, dtype: 'F32', seed: 8 });
    const model = await loadModel(ck.dir, { threads: 2 });
    try {
      const b = batchFor(new Rng(14), ck.config.vocab_size as number);
      const before = model.memory();
      const a = await model.lossAndGradient!(b);
      const c = await model.lossAndGradient!(b);
      // fixed tiles, chunks and summation orders for a given thread count: bit for bit
      expect(Buffer.from(a.grad.buffer).equals(Buffer.from(c.grad.buffer))).toBe(true);
      // the peak the core reports includes the gradient buffer and the saved activations
      expect(model.memory().hostPeakBytes).toBeGreaterThan(before.hostPeakBytes + 4 * model.numTrainable);
      const ac = new AbortController();
      ac.abort();
      await expectRejection(() => model.lossAndGradient!(b, { signal: ac.signal }), 'ERR_CANCELLED');
    } finally {
      model.dispose();
    }
  });
});

describe('lossAndGradient refuses what it does not compute', () => {
  it('low-precision weights, bad candidates, bad weights and tokens: coded rejections', async () => {
    const llama = writeRandomCheckpoint(join(tmp.dir, 'errors-llama'), { ...FAMILIES['llama-gqa-untied']!, dtype: 'F32', seed: 2 });
    const b = { inputIds: [[1, 2, 3]], labels: [[-100, 4, 5]] };
    const bf16 = await loadModel(llama.dir, { threads: 1, dtype: 'bfloat16' });
    const f32 = await loadModel(llama.dir, { threads: 1 });
    try {
      await expectRejection(() => bf16.lossAndGradient!(b), 'ERR_DTYPE', ['float32', 'BF16']);
      await expectRejection(() => f32.lossAndGradient!({ ...b, candidates: [4, 6] }), 'ERR_BATCH', ['is not among the candidates']);
      await expectRejection(() => bf16.lossAndGradient!({ ...b, candidates: [4, 5] }), 'ERR_DTYPE', ['float32']);
      await expectRejection(() => f32.lossAndGradient!(b, { weights: [1, 2] }), 'ERR_ARGUMENT', ['weights']);
      await expectRejection(() => f32.lossAndGradient!(b, { weights: [Number.NaN] }), 'ERR_ARGUMENT', ['weights[0]']);
      await expectRejection(() => f32.lossAndGradient!({ inputIds: [[1, 2, 1000]] }), 'ERR_TOKEN_RANGE', ['position 2 of sequence 0']);
      // and the model still works afterwards
      const r = await f32.lossAndGradient!(b);
      expect(r.grad.length).toBe(f32.numTrainable);
    } finally {
      bf16.dispose();
      f32.dispose();
    }
  });
});
