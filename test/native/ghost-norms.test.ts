// Issue 13 (ghost clipping, DP-SGD's second memory regime): perExampleGradNorms gives each example's
// gradient norm ‖∂loss_s/∂θ‖₂ from one forward + backward of the batch, without per-example gradients.
// Pinned against the per-example regime itself: the L2 norm of lossAndGradient's gradient with the one-hot
// weights for s (itself pinned against finite differences of the float64 reference in backward.test.ts),
// for every family, every linear-layer path (ghost norm, explicit product, automatic choice), tied and
// untied heads, learned positions, OPT's project_in/out, on a batch with repeated tokens (the embedding's
// rows add), masked labels and an example without targets. Then the test: the ghost-clipped sum
// (one reweighted backward with weights min(1, C/norm_s)) equals the per-example-clipped sum
// Σ_s min(1, C/‖g_s‖)·g_s built from materialised per-example gradients.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import type { Example } from '../../lib/data/tasks.js';
import { privateGradient } from '../../lib/dpsgd/gradient.js';
import { loadModel } from '../../lib/index.js';
import type { NativeBackedModel } from '../../lib/model/model.js';
import { type CheckpointOptions, VARIANTS, makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { expectRejection } from '../helpers/expect-error.js';
import { Rng } from '../helpers/prng.js';

const tmp = makeTempDir('dpzo-ghost-');
afterAll(() => tmp.cleanup());

interface Batch {
  inputIds: number[][];
  labels: number[][];
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
  gpt2: VARIANTS.gpt2!,
  'opt-preln': VARIANTS['opt-preln']!,
  'opt-postln': VARIANTS['opt-postln']!,
  'opt-postln-project': VARIANTS['opt-project']!,
  'opt-preln-project-untied': { ...VARIANTS['opt-preln-project']!, tie: false },
};

describe('perExampleGradNorms = ‖lossAndGradient with one-hot weights‖₂, every family', () => {
  let n = 0;
  for (const [variant, opts] of Object.entries(FAMILIES)) {
    it(`${variant}: every example, ghost / explicit / auto linear layers; ghost-clipped sum = per-example-clipped sum`, async () => {
      const ck = writeRandomCheckpoint(join(tmp.dir, `${variant}-${n++}`), { ...opts, dtype: 'F32', seed: 17, numLayers: 2 });
      const model = await loadModel(ck.dir, { threads: 2 });
      try {
        const b = batchFor(new Rng(3), ck.config.vocab_size as number);
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

describe('frozen tensors: the norms are over the trainable parameters only', () => {
  const cases: [string, Omit<CheckpointOptions, 'dtype' | 'seed'>, string[]][] = [
    // the tied embedding/head frozen: neither the head's term nor the embedding's may count
    ['gpt2, one block and the final norm trainable', FAMILIES.gpt2!, ['h.1', 'ln_f']],
    // an untied head trainable with the embedding frozen: the head's term alone, no cross term
    ['llama untied, the head and one MLP trainable', FAMILIES['llama-gqa-untied']!, ['lm_head', 'layers.0.mlp']],
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
      const C = [...norms].sort((x, y) => x - y)[1]!; // some clipped, some not
      const noise = new Float32Array(model.numTrainable); // the noise hook at zero: the clipped sums compared alone
      const run = (regime: 'ghost' | 'per-example') => privateGradient({ model, batch, clip: C, noiseMultiplier: 1, divisor: 3, regime, noise });
      const pe = await run('per-example');
      const gh = await run('ghost');
      expect(gh.clipped).toBe(pe.clipped);
      expect(gh.clipped).toBe(norms.filter((n) => n > C).length);
      let diff = 0;
      for (let k = 0; k < pe.gHat.length; k++) diff += (gh.gHat[k]! - pe.gHat[k]!) ** 2;
      expect(Math.sqrt(diff) / l2(pe.gHat)).toBeLessThan(REL);
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
      await expectRejection(() => f32.perExampleGradNorms!({ ...b, candidates: [4, 5] }), 'ERR_BATCH', ['candidate']);
      await expectRejection(() => f32.perExampleGradNorms!(b, { mode: 'fast' as 'auto' }), 'ERR_ARGUMENT', ['mode']);
      await expectRejection(() => f32.perExampleGradNorms!({ inputIds: [[1, 2, 100000]] }), 'ERR_TOKEN_RANGE', ['100000']);
      const r = await f32.perExampleGradNorms!({ inputIds: [[1, 2, 3]] });
      expect(r.norms[0]).toBeGreaterThan(0);
    } finally {
      f32.dispose();
      bf16.dispose();
    }
  });
});
