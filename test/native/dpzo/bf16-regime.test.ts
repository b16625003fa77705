// Issue 9's regime: a trained checkpoint (stories260K, weights of pretrained scale) fine-tuned with
// DP-ZO steps whose per-element updates are a few percent of a BF16 ulp. Rounded to nearest, every
// such update is lost and BF16 barely moves; with stochastic rounding it moves the held-out loss as
// F32 does. The step is the trainer's own (estimateScalars → clip → applyUpdate); the mechanism's
// noise is left out, because this pins numerics, not privacy.
import { describe, expect, it } from 'vitest';

import { clipScalars } from '../../../lib/dpzo/clip.js';
import { batchLosses, estimateScalars } from '../../../lib/dpzo/estimator.js';
import { applyUpdate } from '../../../lib/dpzo/update.js';
import { loadModel, type Model } from '../../../lib/index.js';
import type { WeightDType } from '../../../lib/model/types.js';
import { HAVE_STORIES260K, STORIES260K as MODEL } from '../../helpers/shared.js';

/** Sequences cycling through 5 token ids: a pattern the story model does not predict before tuning. */
function cycles(n: number, seed: number) {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const words = [300, 411, 87, 250, 129];
  return Array.from({ length: n }, () => {
    const start = Math.floor(rnd() * 5);
    return { inputIds: Int32Array.from([1, ...Array.from({ length: 24 }, (_, j) => words[(start + j) % 5]!)]) };
  });
}

const TRAIN = cycles(64, 1);
const HELD_OUT = cycles(32, 2);
const STEPS = 400;
const BATCH = 16;
const CLIP = 1;
const ZO_EPS = 1e-3;

/** The median BF16 ulp of the trainable weights. */
function medianUlp(m: Model): number {
  const ulps: number[] = [];
  for (const n of m.trainableNames()) for (const w of m.getParameter(n)) if (w !== 0) ulps.push(2 ** (Math.floor(Math.log2(Math.abs(w))) - 7));
  ulps.sort((a, b) => a - b);
  return ulps[ulps.length >> 1]!;
}

const mean = (a: Float64Array) => a.reduce((s, x) => s + x, 0) / a.length;

async function run(dtype: WeightDType, lr: number): Promise<{ before: number; after: number }> {
  const m = await loadModel(MODEL, { threads: 2, dtype });
  const before = mean(await batchLosses(m, HELD_OUT));
  for (let t = 0; t < STEPS; t++) {
    const batch = Array.from({ length: BATCH }, (_, i) => TRAIN[(t * BATCH + i) % TRAIN.length]!);
    const seeds = [BigInt(1000 + t)];
    const est = await estimateScalars(m, batch, seeds, ZO_EPS);
    const c = clipScalars(est.g, 1, CLIP, 'l2');
    await applyUpdate(m, seeds, Array.from(c.sum, (s) => s / BATCH), lr);
  }
  const after = mean(await batchLosses(m, HELD_OUT));
  m.dispose();
  return { before, after };
}

describe.skipIf(!HAVE_STORIES260K)('BF16 in the fine-tuning regime (updates of a few percent of an ulp)', () => {
  it('moves the held-out loss as F32 does', { timeout: 600_000 }, async () => {
    const probe = await loadModel(MODEL, { threads: 1, dtype: 'bfloat16' });
    const ulp = medianUlp(probe);
    probe.dispose();
    // |ĝ| ≤ C and |z| ≈ 0.8 on average: per-element updates ≈ 3% of the median ulp
    const lr = (0.03 * ulp) / CLIP;
    const f32 = await run('float32', lr);
    const bf16 = await run('bfloat16', lr);
    const d32 = f32.after - f32.before;
    const d16 = bf16.after - bf16.before;
    console.log(`median BF16 ulp ${ulp.toExponential(2)}, lr ${lr.toExponential(2)}: held-out loss change F32 ${d32.toFixed(4)} (${f32.before.toFixed(4)} → ${f32.after.toFixed(4)}), BF16 ${d16.toFixed(4)} (${bf16.before.toFixed(4)} → ${bf16.after.toFixed(4)})`);
    expect(d32).toBeLessThan(-0.05); // the run learns in F32
    expect(Math.abs(d16 - d32)).toBeLessThanOrEqual(0.1 * Math.abs(d32));
  });
});
