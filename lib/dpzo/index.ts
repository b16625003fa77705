// defines: the trainer's public surface (the test hooks are deliberately absent).
export { DPZOTrainer, reconcile, type TrainReport, type StepInfo, type PrivateStepDiagnostics, type EvalEvent, type TrainCallbacks, type StopReason, type RunRecord } from './trainer.js';
export { makePlan, DEFAULTS, type TrainOptions, type TrainPlan } from './options.js';
export { evaluate, headlineMetric, type EvalResult, type EvalOptions, type MetricName } from './evaluate.js';
export { exportRun, replayTrajectory, type ExportResult } from './replay.js';
export { readTrajectory, readRunJson, RUN_FILE, TRAJECTORY_FILE, LEDGER_FILE, type StepRecord, type TrajectoryLine } from './trajectory.js';
export { learningRate, type Schedule, type ScheduleKind } from './schedule.js';
export { clipScalars, type ClipNorm, type ClipResult } from './clip.js';
export { exactMatch, tokenF1, normalizeAnswer } from './squad.js';
export { spent, calibrate, type Spent, type Release, type MechanismKind } from './accounting.js';
