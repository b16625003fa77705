// defines: estimateScalars — per-example directional derivatives
// g_ik = (ℓ⁺_i − ℓ⁻_i) / (2ε) over n seeded directions (ARCHITECTURE §3.2): per
// direction one native call evaluates the batch at the virtual points θ + εz_k and
// θ − εz_k (θ is not written), the batch split into micro-batches.
import type { Example } from '../data/tasks.js';
import type { LossBatch, Model } from '../model/types.js';
import { padSlots } from './constant-time.js';

export interface EstimateOptions {
  candidates?: Int32Array;
  /** Most tokens per native forward call (memory bound), default 16384. */
  maxBatchTokens?: number;
  /**
   * Constant-time steps: the examples (at most `slots`) fill `slots` slots of `length` tokens (constant-time.ts)
   * and every forward runs the head on every position, so the work does not depend on the private batch.
   */
  constantTime?: { slots: number; length: number };
}

export interface Estimate {
  /** |S| × n row-major: g[i·n + k]. */
  g: Float64Array;
  /** Mean of (ℓ⁺ + ℓ⁻)/2 over the batch's finite values for direction 1 (NaN if none): a statistic of private data. */
  loss: number;
}

/** Consecutive [start, end) ranges of `examples` with at most `limit` tokens each (one example at least). */
export function microBatches(examples: Example[], limit: number): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  while (start < examples.length) {
    let end = start;
    let tokens = 0;
    while (end < examples.length && (end === start || tokens + examples[end]!.inputIds.length <= limit)) tokens += examples[end++]!.inputIds.length;
    out.push([start, end]);
    start = end;
  }
  return out;
}

/** A LossBatch of `chunk` (labels filled in with the default where some examples have them). */
export function lossBatch(chunk: Example[], candidates: Int32Array | undefined): LossBatch {
  const hasLabels = chunk.some((e) => e.labels !== undefined);
  return {
    inputIds: chunk.map((e) => e.inputIds),
    labels: hasLabels ? chunk.map((e) => e.labels ?? labelsFromInputs(e.inputIds)) : undefined,
    candidates,
  };
}

/** Per-example losses of `examples` at the current θ, in order. */
export async function batchLosses(model: Model, examples: Example[], opts: EstimateOptions = {}): Promise<Float64Array> {
  const out = new Float64Array(examples.length);
  for (const [start, end] of microBatches(examples, opts.maxBatchTokens ?? 16384)) {
    const r = await model.perExampleLoss(lossBatch(examples.slice(start, end), opts.candidates));
    out.set(r.loss, start);
  }
  return out;
}

/** Hugging Face default labels: every position from 1 is a target (the loss shifts). */
function labelsFromInputs(ids: Int32Array): Int32Array {
  const l = Int32Array.from(ids);
  l[0] = -100;
  return l;
}

/** Per-example g_ik for the n directions `seeds`; θ is read at θ ± ε z_k and never written. */
export async function estimateScalars(model: Model, examples: Example[], seeds: bigint[], zoEps: number, opts: EstimateOptions = {}): Promise<Estimate> {
  const n = seeds.length;
  const m = examples.length;
  const g = new Float64Array(m * n);
  let lossSum = 0;
  let lossCount = 0;
  const ct = opts.constantTime;
  if (m === 0 && !ct) return { g, loss: NaN };
  // a call at two points holds the activations of twice its tokens: half the limit per micro-batch
  const limit = Math.max(1, Math.floor((opts.maxBatchTokens ?? 16384) / 2));
  // constant time: the same slots, calls and rows whatever the batch (an empty batch included)
  const slots = ct ? padSlots(examples, ct.slots, ct.length) : examples;
  const ranges = microBatches(slots, limit);
  for (let k = 0; k < n; k++) {
    const points = [[{ seed: seeds[k]!, coeff: zoEps }], [{ seed: seeds[k]!, coeff: -zoEps }]];
    for (const [start, end] of ranges) {
      const [plus, minus] = await model.perExampleLossAt(lossBatch(slots.slice(start, end), opts.candidates), points, { allRows: ct !== undefined });
      for (let i = start; i < Math.min(end, m); i++) {
        const lp = plus!.loss[i - start]!;
        const lm = minus!.loss[i - start]!;
        g[i * n + k] = (lp - lm) / (2 * zoEps);
        if (k === 0 && Number.isFinite((lp + lm) / 2)) {
          lossSum += (lp + lm) / 2;
          lossCount++;
        }
      }
    }
  }
  return { g, loss: lossCount > 0 ? lossSum / lossCount : NaN };
}
