// Issue 13 (ghost clipping, DP-SGD's second memory regime): perExampleGradNorms gives each example's
// gradient norm ‖∂loss_s/∂θ‖₂ from one forward + backward of the batch, without per-example gradients.
// Pinned against the per-example regime itself: the L2 norm of lossAndGradient's gradient with the one-hot
// weights for s (itself pinned against finite differences of the float64 reference in backward.test.ts),
// for every family, every linear-layer path (ghost norm, explicit product, automatic choice), tied and
// untied heads, learned positions, OPT's project_in/out, on a batch with repeated tokens (the embedding's
// rows add), masked labels and an example without targets. Then the test: the ghost-clipped sum
// (one reweighted backward with weights min(1, C/norm_s)) equals the per-example-clipped sum
// Σ_s min(1, C/‖g_s‖)·g_s built from materialised per-example gradients. All of it for the full-vocabulary
// loss and for the candidate-set loss of a classification task (DP-ZO's objective, which DP-SGD must train
// too); and the ghost regime of privateGradient split by maxBatchTokens gives the single call's clipped sum.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import type { Example } from '../../lib/data/tasks.js';
import { privateGradient } from '../../lib/dpsgd/gradient.js';
import { loadModel } from '../../lib/index.js';
import type { NativeBackedModel } from '../../lib/model/model.js';
import type { Model } from '../../lib/model/types.js';
import { type CheckpointOptions, VARIANTS, makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { expectRejection } from '../helpers/expect-error.js';
import { Rng } from '../helpers/prng.js';
import { clipRef, isClipped } from '../helpers/clip-ref.js';

const tmp = makeTempDir('dpzo-ghost-');
afterAll(() => tmp.cleanup());

interface Batch {
  inputIds: number[][];
  labels: number[][];
  candidates?: number[];
}

/**
 * Lengths 11, 1 (no target), 7 and 16, tokens drawn from the first 5 ids so that every sequence repeats
 * tokens (the embedding's per-example gradient adds their rows; squaring row by row would be wrong), and
 * ~20% of labels masked.
 */
function batchFor(rng: Rng, vocab: number): Batch {
  const inputIds = [11, 1, 7, 16].map((len) => Array.from({ length: len }, () => rng.int(Math.min(5, vocab))));
  const labels = inputIds.map((s) => s.map((t) => (rng.uniform() < 0.2 ? -100 : rng.uniform() < 0.5 ? t : rng.int(vocab))));
  return { inputIds, labels };
}

/**
 * Candidate mode (a classification task's loss): the same sequences, each example's target its label word at
 * the last position (sequence 3 a second one), among K = 3 candidates of which two (ids 1 and 3) also occur
 * as tokens, so a tied head's candidate rows are embedding rows the example uses: the cross term is not zero.
 */
function candidateBatchFor(rng: Rng, vocab: number): Batch {
  const b = batchFor(rng, vocab);
  const candidates = [1, 3, vocab - 1];
  const labels = b.inputIds.map((ids) => ids.map(() => -100));
  const inputIds = b.inputIds.map((ids, s) => {
    if (ids.length < 2) return ids;
    const y = candidates[rng.int(3)]!;
    labels[s]![ids.length - 1] = y;
    return [...ids.slice(0, -1), y];
  });
  labels[3]![6] = candidates[2]!;
  return { inputIds, labels, candidates };
}

function l2(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/** The per-example regime: each example's gradient from lossAndGradient with its one-hot weights. */
async function perExampleGradients(model: NativeBackedModel, b: Batch): Promise<Float32Array[]> {
  const n = b.inputIds.length;
  const out: Float32Array[] = [];
  for (let s = 0; s < n; s++) {
    const w = new Float64Array(n);
    w[s] = 1;
    out.push((await model.lossAndGradient!(b, { weights: w })).grad);
  }
  return out;
}

// Both sides are float32 computations of the same quantity, summed in different orders: the one-hot
// gradient's elements carry relative rounding of a few float32 ulps (~1e-7 each, GEMMs over ≤ 16 tokens and
// ≤ 96 vocabulary columns), and so do the Gram / product entries of the ghost norms (their final sums are in
// double). A norm averages those errors: measured, the norms agree to 3e-8 relative at worst (all families,
// all three modes), and the clipped sums (a float32 backward against a float64 sum of float32 per-example
// gradients) to 2.7e-7. 1e-5 is the tolerance, a margin of ~40 over the latter. A dropped or
// mis-formed term moves a norm far more: leaving out the tied head's cross term (5e-4 … 7.5e-3), squaring
// repeated tokens' embedding rows one by one instead of adding them (6e-4 … 1.7e-2), or dropping the
// LayerNorm biases (6.6e-3 … 1.1e-2) — each tried on the code, each caught by every family it concerns.
const REL = 1e-5;

const FAMILIES: Record<string, Omit<CheckpointOptions, 'dtype' | 'seed'>> = {
  'llama-gqa-untied': VARIANTS['llama-gqa-untied']!,
  'llama-tied-mha': VARIANTS['llama-tied-mha']!,
  'llama-attn-bias': VARIANTS['llama-attn-bias']!,
  // q_norm / k_norm: one weight shared by every head, so each example's gradient sums over tokens and heads
  qwen3: VARIANTS.qwen3!,
  gpt2: VARIANTS.gpt2!,
  'opt-preln': VARIANTS['opt-preln']!,
  'opt-postln': VARIANTS['opt-postln']!,
  'opt-postln-project': VARIANTS['opt-project']!,
  'opt-preln-project-untied': { ...VARIANTS['opt-preln-project']!, tie: false },
};

for (const mode of ['full vocabulary', 'candidate set'] as const) {
describe(`perExampleGradNorms = ‖lossAndGradient with one-hot weights‖₂, every family (${mode} loss)`, () => {
  let n = 0;
  for (const [variant, opts] of Object.entries(FAMILIES)) {
    it(`${variant}: every example, ghost / explicit / auto linear layers; ghost-clipped sum = per-example-clipped sum`, async () => {
      const ck = writeRandomCheckpoint(join(tmp.dir, `${variant}-${mode.slice(0, 4)}-${n++}`), { ...opts, dtype: 'F32', seed: 17, numLayers: 2 });
      const model = await loadModel(ck.dir, { threads: 2 });
      try {
        const V = ck.config.vocab_size as number;
        const b = mode === 'candidate set' ? candidateBatchFor(new Rng(3), V) : batchFor(new Rng(3), V);
        const per = await perExampleGradients(model, b);
        const want = per.map(l2);
        expect(want[1]).toBe(0);
        for (const s of [0, 2, 3]) expect(want[s]).toBeGreaterThan(0);
        const plain = await model.perExampleLoss(b);
        for (const mode of ['ghost', 'explicit', 'auto'] as const) {
          const r = await model.perExampleGradNorms!(b, { mode });
          // the same forward: losses bit for bit those of perExampleLoss
          expect(Buffer.from(r.loss.buffer).toString('hex')).toBe(Buffer.from(plain.loss.buffer).toString('hex'));
          expect(Array.from(r.targets)).toEqual(Array.from(plain.targets));
          expect(r.norms.length).toBe(b.inputIds.length);
          expect(r.norms[1]).toBe(0);
          for (const s of [0, 2, 3]) {
            const rel = Math.abs(r.norms[s]! - want[s]!) / want[s]!;
            if (!(rel <= REL)) expect.fail(`${mode}: example ${s}: ghost norm ${r.norms[s]}, ‖g_s‖ ${want[s]}, relative error ${rel.toExponential(2)}`);
          }
        }

        // clipping at C = the median norm clips some examples and leaves others
        const { norms } = await model.perExampleGradNorms!(b);
        const C = [...want].sort((x, y) => x - y)[2]!;
        const clip = (nrm: number) => (nrm > 0 ? Math.min(1, C / nrm) : 0);
        expect(want.filter((x) => x > C).length).toBeGreaterThan(0);
        const ghost = await model.lossAndGradient!(b, { weights: Array.from(norms, clip) });
        const sum = new Float64Array(model.numTrainable);
        per.forEach((g, s) => {
          const f = clip(want[s]!);
          for (let i = 0; i < sum.length; i++) sum[i] += f * g[i]!;
        });
        let diff = 0;
        for (let i = 0; i < sum.length; i++) diff += (ghost.grad[i]! - sum[i]!) ** 2;
        const rel = Math.sqrt(diff) / l2(sum);
        expect(rel, `‖ghost-clipped − per-example-clipped‖ / ‖per-example-clipped‖`).toBeLessThan(REL);
      } finally {
        model.dispose();
      }
    });
  }
});
}

describe('frozen tensors: the norms are over the trainable parameters only', () => {
  const cases: [string, Omit<CheckpointOptions, 'dtype' | 'seed'>, string[]][] = [
    // the tied embedding/head frozen: neither the head's term nor the embedding's may count
    ['gpt2, one block and the final norm trainable', FAMILIES.gpt2!, ['h.1', 'ln_f']],
    // an untied head trainable with the embedding frozen: the head's term alone, no cross term
    ['llama untied, the head and one MLP trainable', FAMILIES['llama-gqa-untied']!, ['lm_head', 'layers.0.mlp']],
    // Qwen3's per-head norms alone: their norm is not hidden under the other tensors' (a per-head instead of a
    // shared sum would show here)
    ['qwen3, only q_norm and k_norm trainable', FAMILIES.qwen3!, ['q_norm', 'k_norm']],
  ];
  for (const [name, opts, trainable] of cases) {
    it(name, async () => {
      const ck = writeRandomCheckpoint(join(tmp.dir, `frozen-${name.slice(0, 5)}`), { ...opts, dtype: 'F32', seed: 8, numLayers: 2 });
      const model = await loadModel(ck.dir, { threads: 2, trainable });
      try {
        const full = model.tensors().reduce((n, t) => n + t.numel, 0);
        expect(model.numTrainable).toBeLessThan(full);
        const b = batchFor(new Rng(4), ck.config.vocab_size as number);
        const want = (await perExampleGradients(model, b)).map(l2);
        const { norms } = await model.perExampleGradNorms!(b);
        for (const s of [0, 2, 3]) {
          const rel = Math.abs(norms[s]! - want[s]!) / want[s]!;
          if (!(rel <= REL)) expect.fail(`example ${s}: ghost norm ${norms[s]}, ‖g_s‖ ${want[s]}, relative error ${rel.toExponential(2)}`);
        }
      } finally {
        model.dispose();
      }
    });
  }
});

describe("DP-SGD's release in the ghost regime (lib/dpsgd) agrees with the per-example regime", () => {
  it("privateGradient 'ghost' = 'per-example': same clip count, same clipped sum to 1e-5", async () => {
    const ck = writeRandomCheckpoint(join(tmp.dir, 'dpsgd'), { ...FAMILIES['llama-tied-mha']!, dtype: 'F32', seed: 12, numLayers: 2 });
    const model = await loadModel(ck.dir, { threads: 2 });
    try {
      const b = batchFor(new Rng(21), ck.config.vocab_size as number);
      const batch: Example[] = b.inputIds.filter((ids) => ids.length > 1).map((ids) => ({ inputIds: Int32Array.from(ids) }));
      const norms = (await perExampleGradients(model, { inputIds: batch.map((e) => Array.from(e.inputIds)), labels: batch.map((e) => Array.from(e.inputIds)) })).map(l2);
      const sorted = [...norms].sort((x, y) => x - y);
      const C = (sorted[1]! + sorted[2]!) / 2; // some clipped, some not, none at the bound
      const noise = new Float32Array(model.numTrainable); // the noise hook at zero: the clipped sums compared alone
      const run = (regime: 'ghost' | 'per-example') => privateGradient({ model, batch, clip: C, noiseMultiplier: 1, divisor: 3, regime, noise });
      const pe = await run('per-example');
      const gh = await run('ghost');
      expect(gh.clipped).toBe(pe.clipped);
      expect(gh.clipped).toBe(norms.filter((n) => isClipped(n, C)).length);
      let diff = 0;
      for (let k = 0; k < pe.gHat.length; k++) diff += (gh.gHat[k]! - pe.gHat[k]!) ** 2;
      expect(Math.sqrt(diff) / l2(pe.gHat)).toBeLessThan(REL);
    } finally {
      model.dispose();
    }
  });
});

describe("the ghost regime honours maxBatchTokens, as DP-ZO's forward", () => {
  it('the norms and the reweighted backward run per micro-batch of at most maxBatchTokens tokens; the clipped sum is the one of a single call', async () => {
    const ck = writeRandomCheckpoint(join(tmp.dir, 'dpsgd-chunks'), { ...FAMILIES['opt-preln']!, dtype: 'F32', seed: 14, numLayers: 2 });
    const model = await loadModel(ck.dir, { threads: 2 });
    try {
      const rng = new Rng(31);
      const V = ck.config.vocab_size as number;
      const batch: Example[] = [11, 7, 16, 5, 9].map((len) => ({ inputIds: Int32Array.from({ length: len }, () => rng.int(V)) }));
      // every native call the regime makes, with the tokens it was given
      const calls: { op: string; tokens: number; n: number }[] = [];
      const record = (op: string, b: { inputIds: ArrayLike<number>[] }) =>
        calls.push({ op, tokens: b.inputIds.reduce((a, ids) => a + ids.length, 0), n: b.inputIds.length });
      const spy = {
        numTrainable: model.numTrainable,
        lossAndGradient: (b, opts) => {
          record('grad', b);
          return model.lossAndGradient!(b, opts);
        },
        perExampleGradNorms: (b, opts) => {
          record('norms', b);
          return model.perExampleGradNorms!(b, opts);
        },
      } as Pick<Model, 'numTrainable' | 'lossAndGradient' | 'perExampleGradNorms'> as Model;
      const noise = new Float32Array(model.numTrainable);
      const run = (maxBatchTokens?: number, clip = 0.5) =>
        privateGradient({ model: spy, batch, clip, noiseMultiplier: 1, divisor: 5, regime: 'ghost', noise, maxBatchTokens });
      const whole = await run();
      expect(calls.map((c) => `${c.op}:${c.n}`)).toEqual(['norms:5', 'grad:5']);
      // C between the smallest and the largest norm: some examples clipped, some not
      const { norms } = await model.perExampleGradNorms!({ inputIds: batch.map((e) => e.inputIds) });
      const C = (Math.min(...norms) + Math.max(...norms)) / 2;
      calls.length = 0;
      const one = await run(undefined, C);
      calls.length = 0;
      // 20 tokens: [11, 7] (18), [16] (16 + 5 > 20), [5, 9] (14)
      const chunked = await run(20, C);
      expect(calls.map((c) => `${c.op}:${c.n}`)).toEqual(['norms:2', 'grad:2', 'norms:1', 'grad:1', 'norms:2', 'grad:2']);
      for (const c of calls) expect(c.tokens).toBeLessThanOrEqual(20);
      expect(whole.clipped).toBe(norms.filter((x) => x > 0.5).length);
      expect(chunked.clipped).toBe(one.clipped);
      expect(one.clipped).toBeGreaterThan(0);
      expect(one.clipped).toBeLessThan(5);
      expect(chunked.loss).toBeCloseTo(one.loss, 12);
      let diff = 0;
      for (let k = 0; k < one.gHat.length; k++) diff += (chunked.gHat[k]! - one.gHat[k]!) ** 2;
      expect(Math.sqrt(diff) / l2(one.gHat)).toBeLessThan(REL);
      // a limit below one example's length still runs it (alone)
      calls.length = 0;
      await run(3, C);
      expect(calls.map((c) => c.n)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    } finally {
      model.dispose();
    }
  });
});

describe('DP-SGD on a classification task trains the candidate-set loss, in both regimes', () => {
  it("privateGradient with the task's candidates: 'ghost' = 'per-example' = the candidate loss's clipped sum, not the full vocabulary's", async () => {
    const ck = writeRandomCheckpoint(join(tmp.dir, 'dpsgd-cand'), { ...FAMILIES.gpt2!, dtype: 'F32', seed: 13, numLayers: 2 });
    const model = await loadModel(ck.dir, { threads: 2 });
    try {
      const b = candidateBatchFor(new Rng(22), ck.config.vocab_size as number);
      const keep = [0, 2, 3];
      const batch: Example[] = keep.map((s) => ({ inputIds: Int32Array.from(b.inputIds[s]!), labels: Int32Array.from(b.labels[s]!) }));
      const candidates = Int32Array.from(b.candidates!);
      const sub = { inputIds: keep.map((s) => b.inputIds[s]!), labels: keep.map((s) => b.labels[s]!) };
      const per = await perExampleGradients(model, { ...sub, candidates: b.candidates });
      const norms = per.map(l2);
      const sorted = [...norms].sort((x, y) => x - y);
      const C = (sorted[1]! + sorted[2]!) / 2; // the largest clipped, away from the others
      const want = new Float64Array(model.numTrainable);
      per.forEach((g, s) => g.forEach((x, i) => (want[i] += clipRef(norms[s]!, C) * x)));
      // the full-vocabulary loss's clipped sum: what DP-SGD trained before the backward knew candidates
      const full = await perExampleGradients(model, sub);
      const fullNorms = full.map(l2);
      const wrong = new Float64Array(model.numTrainable);
      full.forEach((g, s) => g.forEach((x, i) => (wrong[i] += clipRef(fullNorms[s]!, C) * x)));
      const noise = new Float32Array(model.numTrainable);
      const relTo = (a: ArrayLike<number>, w: Float64Array) => {
        let d = 0;
        for (let i = 0; i < w.length; i++) d += (a[i]! - w[i]!) ** 2;
        return Math.sqrt(d) / l2(w);
      };
      expect(relTo(want, wrong)).toBeGreaterThan(0.1);
      for (const regime of ['ghost', 'per-example'] as const) {
        const r = await privateGradient({ model, batch, candidates, clip: C, noiseMultiplier: 1, divisor: 1, regime, noise });
        expect(r.clipped, regime).toBe(norms.filter((x) => isClipped(x, C)).length);
        expect(relTo(r.gHat, want), regime).toBeLessThan(REL);
        const losses = (await model.perExampleLoss({ ...sub, candidates })).loss;
        expect(r.loss, regime).toBeCloseTo((losses[0]! + losses[1]! + losses[2]!) / 3, 12);
      }
    } finally {
      model.dispose();
    }
  });
});

describe('perExampleGradNorms leaves lossAndGradient as it was, and refuses what it does not compute', () => {
  it('the gradient after a norms call is bit for bit the one before; coded rejections', async () => {
    const ck = writeRandomCheckpoint(join(tmp.dir, 'errors'), { ...FAMILIES.gpt2!, dtype: 'F32', seed: 2 });
    const f32 = await loadModel(ck.dir, { threads: 1 });
    const bf16 = await loadModel(ck.dir, { threads: 1, dtype: 'bfloat16' });
    try {
      const b = batchFor(new Rng(9), ck.config.vocab_size as number);
      const before = await f32.lossAndGradient!(b);
      await f32.perExampleGradNorms!(b);
      const after = await f32.lossAndGradient!(b);
      expect(Buffer.from(after.grad.buffer).equals(Buffer.from(before.grad.buffer))).toBe(true);
      await expectRejection(() => bf16.perExampleGradNorms!(b), 'ERR_DTYPE', ['float32']);
      await expectRejection(() => f32.perExampleGradNorms!({ ...b, candidates: [4, 5] }), 'ERR_BATCH', ['among the candidates']);
      await expectRejection(() => f32.perExampleGradNorms!(b, { mode: 'fast' as 'auto' }), 'ERR_ARGUMENT', ['mode']);
      await expectRejection(() => f32.perExampleGradNorms!({ inputIds: [[1, 2, 100000]] }), 'ERR_TOKEN_RANGE', ['position 2 of sequence 0']);
      const r = await f32.perExampleGradNorms!({ inputIds: [[1, 2, 3]] });
      expect(r.norms[0]).toBeGreaterThan(0);
    } finally {
      f32.dispose();
      bf16.dispose();
    }
  });
});

describe('an example whose backward overflows: never a norm of 0, never in the ghost sum', () => {
  /**
   * A GPT-2 whose position rows 10… and token 7's row carry 3e38 and 1e38 in one coordinate: an example with token 7
   * at a position ≥ 10 overflows to ∞ in its residual stream (a NaN loss), the others keep finite losses and
   * gradients, but their ghost sums of squares overflow (NaN). std::max(0.0, NaN) made that a norm of 0: weight 1,
   * the example unclipped in the reweighted backward; and the NaN example, at weight 0, still poisoned the sum.
   */
  async function overflowingModel(): Promise<NativeBackedModel> {
    const ck = writeRandomCheckpoint(join(tmp.dir, 'overflow'), {
      family: 'gpt2',
      dtype: 'F32',
      seed: 5,
      vocabSize: 32,
      hiddenSize: 16,
      numLayers: 1,
      numHeads: 2,
      intermediateSize: 32,
      maxPositions: 64,
    });
    const model = await loadModel(ck.dir, { threads: 2 });
    const theta = await model.getTrainable!();
    let at = 0;
    for (const name of model.trainableNames()) {
      if (name === 'transformer.wpe.weight') for (let p = 10; p < 64; p++) theta[at + p * 16] = 3e38;
      if (name === 'transformer.wte.weight') theta[at + 7 * 16] = 1e38;
      at += model.getParameter(name).length;
    }
    await model.setTrainable!(theta);
    return model;
  }
  const finite: Example[] = [{ inputIds: Int32Array.from([1, 2, 3, 4, 5]) }, { inputIds: Int32Array.from([2, 3, 4, 5, 6, 7]) }];
  const poisoned: Example = { inputIds: Int32Array.from({ length: 20 }, (_, i) => 1 + (i % 7)) };

  it('perExampleGradNorms: a NaN sum of squares is a NaN norm (dropped), not 0', async () => {
    const model = await overflowingModel();
    try {
      const ids = finite.map((e) => e.inputIds);
      const { norms, loss } = await model.perExampleGradNorms!({ inputIds: ids });
      for (const l of loss) expect(Number.isFinite(l)).toBe(true);
      for (let s = 0; s < finite.length; s++) {
        const w = new Float64Array(finite.length);
        w[s] = 1;
        const g = l2((await model.lossAndGradient!({ inputIds: ids }, { weights: w })).grad);
        expect(g).toBeGreaterThan(0);
        // the true norm, or not finite (the example is then dropped): never 0, which passed it unclipped
        if (Number.isFinite(norms[s]!)) expect(Math.abs(norms[s]! / g - 1)).toBeLessThan(1e-3);
      }
    } finally {
      model.dispose();
    }
  });

  it("privateGradient 'ghost': the release stays finite and within the clipped sum's norm B·‖ĝ‖ ≤ |batch|·C", async () => {
    const model = await overflowingModel();
    try {
      const noise = new Float32Array(model.numTrainable);
      for (const batch of [finite, [finite[0]!, poisoned, finite[1]!]]) {
        for (const regime of ['ghost', 'per-example'] as const) {
          const r = await privateGradient({ model, batch, clip: 1, noiseMultiplier: 1, divisor: 1, regime, noise });
          expect(r.gHat.every((x) => Number.isFinite(x))).toBe(true);
          expect(l2(r.gHat)).toBeLessThanOrEqual(batch.length * (1 + 1e-5));
          expect(r.nonFinite).toBeGreaterThanOrEqual(batch.includes(poisoned) ? 1 : 0);
        }
      }
    } finally {
      model.dispose();
    }
  });
});
