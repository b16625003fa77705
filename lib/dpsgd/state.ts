// defines: GradientState — what a DP-SGD run carries from step to step besides θ:
// the optimizer (SGD, or Adam's moments) that turns the released ĝ into the dense
// step θ ← f·(θ + δ) with f = 1 − ηλ (decoupled weight decay, as DP-ZO and pretrain),
// and the run directory's weights checkpoint (checkpoint.ts): written every
// `checkpointEvery` steps and at the end, restored on resume and export.
import type { GradientOptimizer } from '../dpzo/options.js';
import { decayFactor } from '../dpzo/update.js';
import { DpzoError, isCoded } from '../errors.js';
import type { Model } from '../model/types.js';
import { Adam } from '../optim/adam.js';
import { type GradientCheckpoint, readCheckpoint, writeCheckpoint } from './checkpoint.js';

type GradientOptimizerKind = GradientOptimizer;

/** Where a run's checkpoints go (absent: a run without a directory keeps its state in memory only). */
export interface CheckpointTarget {
  dir: string;
  runId: string;
  /** Save every k steps (and at the end). */
  every: number;
}

/** The native calls a DP-SGD run needs: the backward pass and exact dense writes (CPU backend, float32 weights). */
export type GradientModel = Model & Required<Pick<Model, 'lossAndGradient' | 'addDense' | 'getTrainable' | 'setTrainable'>>;

/** Whether `model` can train by DP-SGD: float32 weights on the CPU backend, with a backward pass. */
export function gradientModel(model: Model): GradientModel | null {
  const ok = model.dtype === 'float32' && model.backend === 'cpu' && model.lossAndGradient && model.addDense && model.getTrainable && model.setTrainable;
  return ok ? (model as GradientModel) : null;
}

export class GradientState {
  private readonly adam: Adam | undefined;
  private readonly delta: Float32Array;
  /** Steps passed: the ledger steps 0 … passed−1 were taken (applied here, or lost to an earlier interruption). */
  passed: number;
  /** The step count of the last checkpoint written or loaded. */
  private saved: number;
  /** False between the optimizer's update of its state and the weights' update: no checkpoint of that state may be written. */
  private consistent = true;

  constructor(
    readonly optimizer: GradientOptimizerKind,
    size: number,
    start = 0,
  ) {
    this.adam = optimizer === 'adam' ? new Adam(size) : undefined;
    this.delta = new Float32Array(size);
    this.passed = start;
    this.saved = start;
  }

  /**
   * Step t's update from the released ĝ: δ = −η·ĝ (SGD) or Adam's step, then θ ← f·(θ + δ) natively with
   * f = 1 − ηλ on weight matrices.
   */
  async apply(model: GradientModel, gHat: Float32Array, lr: number, weightDecay: number, t: number): Promise<void> {
    this.consistent = false;
    if (this.adam) this.adam.step(gHat, lr, this.delta);
    else for (let i = 0; i < gHat.length; i++) this.delta[i] = -lr * gHat[i]!;
    try {
      await model.addDense(this.delta, { decay: decayFactor(lr, weightDecay) });
    } catch (e) {
      // refused before θ was written (the step is void): SGD holds no state, so θ_t stands for the steps
      // 0 … t and may be checkpointed; Adam's moments already took ĝ_t, so its state stays unsaved
      if (!this.adam && isCoded(e) && (e.code === 'ERR_NON_FINITE' || e.code === 'ERR_ARGUMENT')) {
        this.passed = t + 1;
        this.consistent = true;
      }
      throw e;
    }
    this.passed = t + 1;
    this.consistent = true;
  }

  /** Writes a checkpoint when `every` steps have passed since the last one (or `force`, at the end). */
  async checkpoint(model: GradientModel, target: CheckpointTarget | undefined, force = false): Promise<void> {
    if (!target || !this.consistent || this.passed === this.saved) return;
    if (!force && this.passed % target.every !== 0) return;
    const theta = await model.getTrainable();
    const adam = this.adam ? { m: this.adam.m, v: this.adam.v, t: this.adam.t } : undefined;
    writeCheckpoint(target.dir, { step: this.passed, runId: target.runId, theta, ...(adam ? { adam } : {}) });
    this.saved = this.passed;
  }

  /** Takes a checkpoint's weights (exactly: setTrainable) and optimizer state. */
  async restore(model: GradientModel, c: GradientCheckpoint): Promise<void> {
    if (this.adam) {
      if (!c.adam) throw new DpzoError('ERR_RUN_CORRUPT', 'the checkpoint has no Adam state');
      this.adam.restore(c.adam.m, c.adam.v, c.adam.t);
    }
    await model.setTrainable(c.theta);
    this.saved = c.step;
  }
}

/**
 * Loads the checkpoint of a DP-SGD run directory onto `model` (which holds the run's base weights): its
 * weights exactly, and into `state` the optimizer's. Returns the checkpoint's step count (0 without one:
 * the base weights are the state after no update).
 */
export async function loadCheckpoint(
  model: GradientModel,
  runDir: string,
  runId: string,
  optimizer: GradientOptimizerKind,
  state?: GradientState,
): Promise<number> {
  const c = readCheckpoint(runDir, { runId, numTrainable: model.numTrainable, adam: optimizer === 'adam' });
  if (!c) return 0;
  // export and eval need the weights only, not a fresh optimizer's P-sized buffers
  if (state) await state.restore(model, c);
  else await model.setTrainable(c.theta);
  return c.step;
}
