// defines: dpzoStep — one DP-ZO step (ARCHITECTURE §3): sample a Poisson batch →
// estimate the per-example directional derivatives → clip → add CSPRNG noise →
// release (the ledger line first, then the trajectory line) → update θ. Nothing
// leaves the step but what the mechanism releases, unless private diagnostics are
// asked for; the ledger is written before the update is applied.
import { randomBytes } from 'node:crypto';

import type { PoissonSampler } from '../data/poisson.js';
import type { Dataset } from '../data/tasks.js';
import { DpzoError, isCoded } from '../errors.js';
import type { Model } from '../model/types.js';
import { clipScalars } from './clip.js';
import { cutBatch } from './constant-time.js';
import { estimateScalars } from './estimator.js';
import type { TrainerTestHooks } from './hooks.js';
import { releaseNoise } from './noise.js';
import { type TrainPlan, clipNorm, releaseDivisor, stepRelease } from './options.js';
import type { BudgetOwner, RunHandles } from './run-directory.js';
import { type Schedule, learningRate } from './schedule.js';
import { seedsToStrings } from './trajectory.js';
import { applyUpdate } from './update.js';

/**
 * Statistics of the private batch: NOT released by the mechanism and outside
 * the guarantee. Present only when TrainOptions.privateDiagnostics is true.
 */
export interface PrivateStepDiagnostics {
  /** Mean (ℓ⁺+ℓ⁻)/2 on the sampled batch. */
  loss: number;
  /** |S|, the Poisson batch size. */
  batchSize: number;
  /** Examples a constant-time step left out because the batch exceeded its slots. */
  cut: number;
  /** Examples of the batch whose derivatives were scaled down to norm C. */
  clipped: number;
  /** Examples whose derivative was not finite (zeroed: they add nothing to the sum). */
  nonFinite: number;
}

/** What a step needs that does not change from step to step. */
export interface StepContext {
  model: Model;
  plan: TrainPlan;
  train: Dataset;
  maxBatchTokens?: number;
  sampler: PoissonSampler;
  schedule: Schedule;
  run: RunHandles;
  hooks?: TrainerTestHooks;
}

/** A step taken: the released values, and the private statistics (for the caller to drop or report on request). */
export interface StepOutcome {
  lr: number;
  /** DP-ZO's released scalars; empty for DP-SGD (its P-sized release stays in the step). */
  gHat: number[];
  /** DP-SGD: ‖ĝ‖₂ of the released gradient (a function of the release). */
  gHatNorm?: number;
  private: PrivateStepDiagnostics;
}

function randomSeed(): bigint {
  return randomBytes(8).readBigUInt64LE(0);
}

/** A step refused because its release would exceed the run's budget or its dataset's. */
export interface StepRefused {
  refused: BudgetOwner;
}

/** Step t, or the budget its release would exceed (nothing sampled, drawn or written then). */
export async function dpzoStep(ctx: StepContext, t: number): Promise<StepOutcome | StepRefused> {
  const { model, plan, hooks } = ctx;
  const n = plan.directions;
  const release = stepRelease(plan, t);
  const refused = ctx.run.exceeds(release);
  if (refused) return { refused };
  const sampled = hooks?.batch?.(t) ?? ctx.sampler.sample();
  // constant-time steps: at most the public number of slots (a uniform cut, accounted at sensitivity 2C)
  const batch = plan.constantTime ? cutBatch(sampled, plan.constantTime.slots) : sampled;
  const seeds = hooks?.seeds?.(t, n) ?? Array.from({ length: n }, randomSeed);
  if (seeds.length !== n) throw new DpzoError('ERR_TRAIN_HOOK', `the seeds hook gave ${seeds.length} seeds, expected ${n}`);
  const examples = ctx.train.examples;
  const est = await estimateScalars(
    model,
    batch.map((i) => examples[i]!),
    seeds,
    plan.zoEps!,
    { candidates: ctx.train.candidates, maxBatchTokens: ctx.maxBatchTokens, constantTime: plan.constantTime },
  );
  hooks?.scalars?.(t, batch, est.g, n);
  const c = clipScalars(est.g, n, plan.clip, clipNorm(plan));
  const xi = hooks?.noise?.(t, n) ?? releaseNoise(n, plan);
  // ĝ_k = (Σ_i clip(g_i)_k + ξ_k) / B with B = q·N, or the public B of a fixed sampling rate: a
  // public divisor keeps the sensitivity at C/B
  const divisor = releaseDivisor(plan);
  const gHat = Array.from(c.sum, (s, k) => (s + xi[k]!) / divisor);
  const lr = learningRate(ctx.schedule, t);
  await ctx.run.release(release);
  ctx.run.appendStep({ step: t, seeds: seedsToStrings(seeds), g: gHat, lr });
  try {
    await applyUpdate(model, seeds, gHat, lr, plan.weightDecay);
  } catch (e) {
    // refused before anything was written (a step that would leave the dtype's range, a coefficient beyond
    // float32): θ is still θ_t, so the recorded step becomes void, else every replay, export and --resume of
    // the run would fail on it; the release stays in the ledger
    if (isCoded(e) && (e.code === 'ERR_NON_FINITE' || e.code === 'ERR_ARGUMENT')) ctx.run.voidLastStep(t);
    throw e;
  }
  return { lr, gHat, private: { loss: est.loss, batchSize: sampled.length, cut: sampled.length - batch.length, clipped: c.clipped, nonFinite: c.nonFinite } };
}
