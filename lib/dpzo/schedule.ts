// defines: learningRate — η_t of a schedule (constant, linear, cosine) after an
// optional linear warmup, as in Hugging Face's get_*_schedule_with_warmup.
export type ScheduleKind = 'constant' | 'linear' | 'cosine';

export interface Schedule {
  kind: ScheduleKind;
  lr: number;
  totalSteps: number;
  warmupSteps: number;
}

export function learningRate(s: Schedule, step: number): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  if (s.kind === 'constant') return s.lr;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const progress = Math.min(1, (step - s.warmupSteps) / span);
  if (s.kind === 'linear') return s.lr * (1 - progress);
  return s.lr * 0.5 * (1 + Math.cos(Math.PI * progress));
}
