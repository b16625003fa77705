// defines: dpsgdStep — one DP-SGD step (Abadi et al. 2016) in the DP-ZO trainer's
// order (ARCHITECTURE §3): refuse a release beyond the budget → sample a Poisson
// batch → the clipped, noised gradient (privateGradient) → release (the ledger
// line first, then the trajectory line {step, lr}) → the optimizer's update →
// the weights checkpoint when due. Its release is one Gaussian mechanism of
// sensitivity C at rate q, the same ledger entry as a DP-ZO step of that plan.
import type { StepContext, StepOutcome, StepRefused } from '../dpzo/step.js';
import { releaseDivisor, stepRelease } from '../dpzo/options.js';
import { learningRate } from '../dpzo/schedule.js';
import { DpzoError, isCoded } from '../errors.js';
import { l2, privateGradient } from './gradient.js';
import type { CheckpointTarget, GradientModel, GradientState } from './state.js';

/** What a DP-SGD step needs besides the DP-ZO step's context. */
export interface GradientStepContext extends StepContext {
  model: GradientModel;
  state: GradientState;
  checkpoint?: CheckpointTarget;
  /** Per-example regime: gradients held at once. */
  microBatch?: number;
}

/** Step t, or the budget its release would exceed (nothing sampled, computed or written then). */
export async function dpsgdStep(ctx: GradientStepContext, t: number): Promise<StepOutcome | StepRefused> {
  const { model, plan, hooks } = ctx;
  const release = stepRelease(plan, t);
  const refused = ctx.run.exceeds(release);
  if (refused) return { refused };
  const batch = hooks?.batch?.(t) ?? ctx.sampler.sample();
  const P = model.numTrainable;
  const injected = hooks?.noise?.(t, P);
  if (injected && injected.length !== P) throw new DpzoError('ERR_TRAIN_HOOK', `the noise hook gave ${injected.length} values for ${P} parameters`);
  // the non-private baseline releases the exact sum
  const noise = injected ? Float32Array.from(injected) : plan.mechanism === 'none' ? new Float32Array(P) : undefined;
  const examples = ctx.train.examples;
  const g = await privateGradient({
    model,
    batch: batch.map((i) => examples[i]!),
    clip: plan.clip,
    noiseMultiplier: plan.noiseMultiplier ?? 0,
    divisor: releaseDivisor(plan),
    regime: plan.clipRegime ?? 'ghost',
    microBatch: ctx.microBatch,
    candidates: ctx.train.candidates,
    maxBatchTokens: ctx.maxBatchTokens,
    ...(noise ? { noise } : {}),
  });
  const lr = learningRate(ctx.schedule, t);
  await ctx.run.release(release);
  // nothing P-sized in the trajectory: the weights go to the checkpoint
  ctx.run.appendStep({ step: t, lr });
  try {
    await ctx.state.apply(model, g.gHat, lr, plan.weightDecay, t);
  } catch (e) {
    // refused before anything was written (a step beyond the float32 range): θ is still θ_t, so the recorded
    // step becomes void as a DP-ZO step's does; the release stays in the ledger
    if (isCoded(e) && (e.code === 'ERR_NON_FINITE' || e.code === 'ERR_ARGUMENT')) ctx.run.voidLastStep(t);
    throw e;
  }
  await ctx.state.checkpoint(model, ctx.checkpoint);
  return {
    lr,
    gHat: [],
    gHatNorm: l2(g.gHat),
    private: { loss: g.loss, batchSize: batch.length, cut: 0, clipped: g.clipped, nonFinite: g.nonFinite },
  };
}
