// defines: the trainer's public surface (the test hooks and the crash repair are deliberately absent).
export { DPZOTrainer, type StepInfo, type EvalEvent, type TrainCallbacks } from './trainer.js';
export type { TrainReport, StopReason } from './report.js';
export type { PrivateStepDiagnostics } from './step.js';
export type { RunRecord, DatasetRef } from './run-record.js';
export {
  makePlan,
  type TrainOptions,
  type TrainPlan,
  type MechanismKind,
  type TrainMethod,
  type GradientOptimizer,
  type ClipRegime,
  DPSGD_LR,
} from './options.js';
export { evaluate, headlineMetric, type EvalResult, type EvalOptions, type MetricName } from './evaluate.js';
export { exportRun, replayTrajectory, type ExportResult } from './replay.js';
export { readTrajectory, type StepRecord, type GradientStepRecord, type TrajectoryLine, type TrajectoryKind } from './trajectory.js';
export { readRunJson, RUN_FILE, TRAJECTORY_FILE, LEDGER_FILE } from './run-record.js';
export { learningRate, type Schedule, type ScheduleKind } from './schedule.js';
export { clipScalars, type ClipNorm, type ClipResult } from './clip.js';
export { exactMatch, tokenF1, normalizeAnswer } from './squad.js';
export { prepareRun, loadRunConfig, type PreparedRun } from './session.js';
export { parseRunConfig, type RunConfig } from './config.js';
