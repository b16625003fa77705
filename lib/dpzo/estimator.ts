// defines: estimateScalars — per-example directional derivatives
// g_ik = (ℓ⁺_i − ℓ⁻_i) / (2ε) over n seeded directions (ARCHITECTURE §3.2),
// two forward passes per direction, the batch split into micro-batches.
import type { Example } from '../data/tasks.js';
import type { Model } from '../model/types.js';
import { perturbationWalk } from './walk.js';

export interface EstimateOptions {
  candidates?: Int32Array;
  /** Most tokens per native forward call (memory bound), default 16384. */
  maxBatchTokens?: number;
}

export interface Estimate {
  /** |S| × n row-major: g[i·n + k]. */
  g: Float64Array;
  /** Mean of (ℓ⁺ + ℓ⁻)/2 over the batch's finite values for direction 1 (NaN if none): a statistic of private data. */
  loss: number;
}

/** Per-example losses of `examples` at the current θ, in order. */
export async function batchLosses(model: Model, examples: Example[], opts: EstimateOptions = {}): Promise<Float64Array> {
  const out = new Float64Array(examples.length);
  const limit = opts.maxBatchTokens ?? 16384;
  let start = 0;
  while (start < examples.length) {
    let end = start;
    let tokens = 0;
    while (end < examples.length && (end === start || tokens + examples[end]!.inputIds.length <= limit)) tokens += examples[end++]!.inputIds.length;
    const chunk = examples.slice(start, end);
    const hasLabels = chunk.some((e) => e.labels !== undefined);
    const r = await model.perExampleLoss({
      inputIds: chunk.map((e) => e.inputIds),
      labels: hasLabels ? chunk.map((e) => e.labels ?? labelsFromInputs(e.inputIds)) : undefined,
      candidates: opts.candidates,
    });
    out.set(r.loss, start);
    start = end;
  }
  return out;
}

/** Hugging Face default labels: every position from 1 is a target (the loss shifts). */
function labelsFromInputs(ids: Int32Array): Int32Array {
  const l = Int32Array.from(ids);
  l[0] = -100;
  return l;
}

/**
 * Runs the perturbation walk with forwards on `examples`; returns g. θ is left at
 * θ − ε z(s_n): the caller's fused update restores it.
 */
export async function estimateScalars(model: Model, examples: Example[], seeds: bigint[], zoEps: number, opts: EstimateOptions = {}): Promise<Estimate> {
  const n = seeds.length;
  const m = examples.length;
  const g = new Float64Array(m * n);
  let plus: Float64Array = new Float64Array(0);
  let lossSum = 0;
  let lossCount = 0;
  await perturbationWalk(model, seeds, zoEps, async (k, sign) => {
    if (m === 0) return;
    const l = await batchLosses(model, examples, opts);
    if (sign === 1) {
      plus = l;
      return;
    }
    for (let i = 0; i < m; i++) {
      g[i * n + k] = (plus[i]! - l[i]!) / (2 * zoEps);
      if (k === 0) {
        const mid = (plus[i]! + l[i]!) / 2;
        if (Number.isFinite(mid)) {
          lossSum += mid;
          lossCount++;
        }
      }
    }
  });
  return { g, loss: lossCount > 0 ? lossSum / lossCount : NaN };
}
