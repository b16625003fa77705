// defines: privateGradient — the released gradient of one DP-SGD step (Abadi et
// al. 2016): per-example gradients clipped to L2 norm C, summed, Gaussian noise
// N(0, (σC)²) per coordinate from the OS CSPRNG, over a public divisor B. Two
// memory regimes give the same clipped sum (test/native/dpsgd.test.ts):
//  - 'per-example': each example's gradient materialised (micro-batches of
//    examples held at once, as Opacus does), clipped, summed;
//  - 'ghost': per-example gradient norms without materialising the gradients
//    (Li et al. 2021, Bu et al. 2022), then one backward of Σ_s clipFactor(‖g_s‖)·loss_s,
//    both over micro-batches of at most maxBatchTokens tokens, as DP-ZO's forward.
// A classification task's loss is the candidate-set cross-entropy, DP-ZO's.
import type { Example } from '../data/tasks.js';
import { DpzoError } from '../errors.js';
import { lossBatch, microBatches } from '../dpzo/estimator.js';
import type { Model } from '../model/types.js';
import type { ClipRegime } from '../dpzo/options.js';
import { fillGaussian } from '../privacy/index.js';

export type { ClipRegime } from '../dpzo/options.js';

/** One DP-SGD release. */
export interface PrivateGradientInput {
  model: Model;
  /** The Poisson-sampled batch (possibly empty: the release is then noise alone). */
  batch: Example[];
  /** Clip C: each example's gradient is scaled to L2 norm at most C. */
  clip: number;
  /** σ: the noise std is σ·C per coordinate. */
  noiseMultiplier: number;
  /** The public divisor B of the sum (q·N, or the fixed B of a fixed sampling rate). */
  divisor: number;
  regime: ClipRegime;
  /** Examples whose gradients are held at once ('per-example'; default 8). */
  microBatch?: number;
  /** A classification task's candidate ids: the loss is the cross-entropy over them (DP-ZO's), not the full vocabulary's. */
  candidates?: Int32Array;
  /** 'ghost': most tokens per native call (default 16384), bounding the activations held; not the result. */
  maxBatchTokens?: number;
  /** Test hook: the noise to add (already scaled), instead of the CSPRNG's. */
  noise?: Float32Array;
}

/** What the step computed: the release, and statistics of the private batch (never released). */
export interface PrivateGradient {
  /** ĝ = (Σ_s clipFactor(‖g_s‖, C)·g_s + ξ)/B, flat over the trainable parameters (clipFactor ≈ min(1, C/‖g_s‖)). */
  gHat: Float32Array;
  /** Private: examples whose gradient was clipped, and the bytes of per-example gradients held at once. */
  clipped: number;
  perExampleBytes: number;
  /** Private: mean per-example loss of the batch (NaN for an empty one), and examples whose gradient norm was not finite (dropped). */
  loss: number;
  nonFinite: number;
}

/** Mean of the finite entries (NaN when none). */
function meanFinite(xs: Iterable<number>): number {
  let s = 0;
  let n = 0;
  for (const x of xs)
    if (Number.isFinite(x)) {
      s += x;
      n++;
    }
  return n > 0 ? s / n : Number.NaN;
}

/**
 * The clip factor of an example whose gradient norm is `norm`: min(1, C·(1 − 2⁻¹⁶)/norm). The margin is what makes
 * the sensitivity C and not "C up to rounding": the scaled share is rounded to float32 (up to 2⁻²⁴ relative per
 * element), and in the ghost regime the norm comes from another formula than the reweighted backward that builds
 * the share (measured up to 2.1e-7 relative apart on the tiny test models). Without it shares left at C·(1 + 1e-7)
 * (test/native/dpsgd.test.ts). The noise stays σ·C, so the release is at least as private as accounted.
 */
export function clipFactor(norm: number, C: number): number {
  const bound = C * (1 - 2 ** -16);
  return norm > bound ? bound / norm : 1;
}

const NOISE_CHUNK = 1 << 16;

/** ξ ~ N(0, std²) per coordinate added into `sum`, chunk by chunk (no second P-sized buffer). */
function addGaussian(sum: Float32Array, std: number): void {
  const chunk = new Float64Array(NOISE_CHUNK);
  for (let i = 0; i < sum.length; i += NOISE_CHUNK) {
    const n = Math.min(NOISE_CHUNK, sum.length - i);
    fillGaussian(chunk.subarray(0, n), std);
    for (let k = 0; k < n; k++) sum[i + k] = sum[i + k]! + chunk[k]!;
  }
}

/** ‖g‖₂, accumulated in float64. */
export function l2(g: Float32Array): number {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
  return Math.sqrt(s);
}

export async function privateGradient(o: PrivateGradientInput): Promise<PrivateGradient> {
  const { model, batch, clip: C } = o;
  if (!model.lossAndGradient) throw new DpzoError('ERR_ARGUMENT', 'DP-SGD needs a model with a backward pass (a native CPU model, float32 weights)');
  if (!(C > 0 && Number.isFinite(C))) throw new DpzoError('ERR_TRAIN_OPTION', `clip must be a positive number (got ${C})`);
  const P = model.numTrainable;
  const sum = new Float32Array(P);
  let clipped = 0;
  let perExampleBytes = 0;
  let nonFinite = 0;
  const losses: number[] = [];
  if (batch.length > 0 && o.regime === 'per-example') {
    const m = Math.max(1, o.microBatch ?? 8);
    for (let i = 0; i < batch.length; i += m) {
      // the micro-batch's gradients are all held before they are clipped: the regime's memory
      const held: Float32Array[] = [];
      for (const e of batch.slice(i, i + m)) {
        const r = await model.lossAndGradient(lossBatch([e], o.candidates));
        losses.push(r.loss[0]!);
        held.push(r.grad);
      }
      perExampleBytes = Math.max(
        perExampleBytes,
        held.reduce((a, g) => a + g.byteLength, 0),
      );
      for (const g of held) {
        const norm = l2(g);
        // an example without targets has no gradient; a non-finite one is dropped (it would poison the sum)
        if (!Number.isFinite(norm)) {
          nonFinite++;
          continue;
        }
        const f = clipFactor(norm, C);
        if (f < 1) clipped++;
        for (let k = 0; k < P; k++) sum[k] = sum[k]! + f * g[k]!;
      }
    }
  } else if (batch.length > 0) {
    if (!model.perExampleGradNorms)
      throw new DpzoError('ERR_ARGUMENT', "the 'ghost' regime needs per-example gradient norms (perExampleGradNorms), which this model lacks");
    // per micro-batch: the norms, then the reweighted backward, summed (a sequence's loss and gradient do not
    // depend on the others in its call, so the split changes the sum by float rounding only)
    for (const [start, end] of microBatches(batch, o.maxBatchTokens ?? 16384)) {
      const part = batch.slice(start, end);
      const lb = lossBatch(part, o.candidates);
      const { norms, loss } = await model.perExampleGradNorms(lb);
      losses.push(...loss);
      // an example whose norm is not finite is dropped, as in 'per-example': left in the reweighted backward at
      // weight 0, its non-finite activations still poisoned the whole sum (0·NaN is NaN)
      const keep = part.flatMap((_, s) => (Number.isFinite(norms[s]!) ? [s] : []));
      nonFinite += part.length - keep.length;
      if (keep.length === 0) continue;
      const weights = Float64Array.from(keep, (s) => clipFactor(norms[s]!, C));
      clipped += weights.reduce((a, w) => a + (w < 1 ? 1 : 0), 0);
      const kept = keep.map((s) => part[s]!);
      const g = (await model.lossAndGradient(kept.length === part.length ? lb : lossBatch(kept, o.candidates), { weights })).grad;
      for (let k = 0; k < P; k++) sum[k] = sum[k]! + g[k]!;
    }
  }
  if (o.noise) {
    if (o.noise.length !== P) throw new DpzoError('ERR_TRAIN_HOOK', `the noise hook gave ${o.noise.length} values for ${P} parameters`);
    for (let k = 0; k < P; k++) sum[k] = sum[k]! + o.noise[k]!;
  } else addGaussian(sum, o.noiseMultiplier * C);
  for (let k = 0; k < P; k++) sum[k] = sum[k]! / o.divisor;
  return { gHat: sum, clipped, perExampleBytes, loss: meanFinite(losses), nonFinite };
}
