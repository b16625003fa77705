// defines: learningRate — η_t of a schedule (constant, linear, cosine) after an
// optional linear warmup, as in Hugging Face's get_*_schedule_with_warmup.
import { DpzoError } from '../errors.js';
/** Learning-rate schedule after warmup: constant, linear decay to 0, or cosine decay to 0 (Hugging Face's get_*_schedule_with_warmup). */
export type ScheduleKind = 'constant' | 'linear' | 'cosine';

/** A learning-rate schedule, as {@link learningRate} evaluates it. */
export interface Schedule {
  /** The schedule's shape. */
  kind: ScheduleKind;
  /** Peak learning rate η. */
  lr: number;
  /** Steps of the run (the decay reaches 0 there). */
  totalSteps: number;
  /** Steps of linear warmup from η/warmupSteps to η (0: none). */
  warmupSteps: number;
}

/**
 * η_t at step t (from 0): η·(t+1)/warmupSteps during warmup, then η (constant), η·(1 − p) (linear) or η·(1 + cos πp)/2 (cosine), with p = (t −
 * warmupSteps)/(totalSteps − warmupSteps) clamped to 1.
 */
export function learningRate(s: Schedule, step: number): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  if (s.kind === 'constant') return s.lr;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const progress = Math.min(1, (step - s.warmupSteps) / span);
  if (s.kind === 'linear') return s.lr * (1 - progress);
  // any other kind ('cosin', 'step') was read as cosine
  if (s.kind !== 'cosine') throw new DpzoError('ERR_ARGUMENT', `schedule kind must be constant, linear or cosine (got '${String(s.kind)}')`);
  return s.lr * 0.5 * (1 + Math.cos(Math.PI * progress));
}
