// Issue 13 (first part): the CPU backward pass. The gradient of the mean per-example NLL from
// lossAndGradient is pinned against central finite differences of the independent float64 reference
// forward (test/reference/forward-f64.ts) on tiny random checkpoints of each family it covers, every
// trainable tensor checked (a sample of its elements, the largest-gradient one included) with the fused
// loss's gradient (head, final norm) among them; and against the ZO estimate (ℓ(θ+εz) − ℓ(θ−εz))/(2ε) of
// the native forward at virtual points along the Philox direction z, which must equal zᵀ∇ℓ to O(ε²).
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import type { NativeBackedModel } from '../../lib/model/model.js';
import { type Checkpoint, type CheckpointOptions, VARIANTS, makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { expectRejection } from '../helpers/expect-error.js';
import { directionRef } from '../helpers/philox-ref.js';
import { Rng } from '../helpers/prng.js';
import { RefModel, sequenceLoss } from '../reference/forward-f64.js';

const tmp = makeTempDir('dpzo-backward-');
afterAll(() => tmp.cleanup());

interface Batch {
  inputIds: number[][];
  labels: number[][];
}

/** Lengths 9, 1 (no target at all), 6 and 12; ~25% of labels -100: every masking path of the loss. */
function batchFor(rng: Rng, vocab: number): Batch {
  const inputIds = [9, 1, 6, 12].map((len) => Array.from({ length: len }, () => rng.int(vocab)));
  const labels = inputIds.map((s) => s.map((t) => (rng.uniform() < 0.25 ? -100 : rng.uniform() < 0.5 ? t : rng.int(vocab))));
  return { inputIds, labels };
}

/** The float64 reference of what lossAndGradient differentiates: the mean over examples with targets. */
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

// Central differences of the float64 reference with step h = 1e-4: truncation error h²/6·|ℓ'''| ≈ 1e-9 and
// rounding 1e-16/h = 1e-12, so the difference quotient is exact to ~1e-8. The native gradient computes in
// float32 (GEMMs over ≤ 96 vocabulary columns and ≤ 28 tokens, norms in double): measured, it is within
// ~1e-7 of the quotient, a few float32 ulps of the gradient's scale (≈ 0.5 here). The bound
// |native − fd| ≤ 1e-4·|fd| + 1e-5·scale (scale = the largest |∂ℓ/∂θ| of the whole gradient) leaves a
// margin of ~50 over that; a missing or wrong term (a dropped residual, a transposed weight, a wrong
// softmax Jacobian, RoPE rotated the wrong way) moves an element by O(|∂ℓ/∂θ|), ~1e4 times the bound.
const FD_STEP = 1e-4;
const REL = 1e-4;
const ABS = 1e-5;
const SAMPLES = 4;

async function checkAgainstReference(ck: Checkpoint, model: NativeBackedModel, b: Batch, seed: number): Promise<void> {
  const ref = new RefModel(ck.config, ck.tensors);
  const r = await model.lossAndGradient!(b);
  // the same forward: losses bit for bit those of perExampleLoss
  const plain = await model.perExampleLoss(b);
  expect(Buffer.from(r.loss.buffer).toString('hex')).toBe(Buffer.from(plain.loss.buffer).toString('hex'));
  expect(Array.from(r.targets)).toEqual(Array.from(plain.targets));
  expect(r.grad.length).toBe(model.numTrainable);
  let scale = 0;
  for (const g of r.grad) scale = Math.max(scale, Math.abs(g));
  expect(scale).toBeGreaterThan(0);
  const rng = new Rng(seed);
  let checked = 0;
  for (const t of model.tensors()) {
    if (!t.trainable) continue;
    const stored = ck.tensors.get(t.name);
    if (!stored) throw new Error(`checkpoint has no tensor ${t.name}`);
    // the element with the largest gradient, and random ones
    let top = 0;
    for (let e = 1; e < t.numel; e++) if (Math.abs(r.grad[t.globalOffset + e]!) > Math.abs(r.grad[t.globalOffset + top]!)) top = e;
    const elems = [top, ...Array.from({ length: SAMPLES - 1 }, () => rng.int(t.numel))];
    for (const e of elems) {
      const v0 = stored.values[e]!;
      stored.values[e] = v0 + FD_STEP;
      const lp = refMeanLoss(ref, b);
      stored.values[e] = v0 - FD_STEP;
      const lm = refMeanLoss(ref, b);
      stored.values[e] = v0;
      const fd = (lp - lm) / (2 * FD_STEP);
      const got = r.grad[t.globalOffset + e]!;
      const bound = REL * Math.abs(fd) + ABS * scale;
      if (!(Math.abs(got - fd) <= bound)) {
        expect.fail(`${t.name}[${e}]: native ${got}, finite difference ${fd}, error ${Math.abs(got - fd).toExponential(2)} > ${bound.toExponential(2)}`);
      }
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(0);
}

const FAMILIES: Record<string, Omit<CheckpointOptions, 'dtype' | 'seed'>> = {
  'llama-gqa-untied': VARIANTS['llama-gqa-untied']!,
  'llama-tied-mha': VARIANTS['llama-tied-mha']!,
  'llama-qkv-bias': VARIANTS['llama-qkv-bias']!,
  'llama-attn-bias': VARIANTS['llama-attn-bias']!,
  gpt2: VARIANTS.gpt2!,
  'gpt2-untied': { family: 'gpt2', tie: false, hiddenSize: 24, numHeads: 3 },
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
