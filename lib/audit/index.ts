// defines: the audit's public surface (the runner with its test hooks stays internal).
export { audit, auditWithTrials, type AuditOptions } from './audit.js';
export { auditPlot } from './plot.js';
export { auditRows, verdictOf, type AuditResult, type AuditVerdict } from './report.js';
export type { AuditSetting, Trial } from './runs.js';
export { thresholdAudit, epsilonFromRates, type ThresholdBound } from './hypothesis.js';
export { oneRunPValue, oneRunEpsilon, guessAudit, type GuessBound } from './one-run.js';
export { clopperPearsonLower, clopperPearsonUpper } from './clopper-pearson.js';
