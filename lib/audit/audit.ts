// defines: audit — the public empirical privacy audit (docs/audit.md): the run
// configuration of `dpzo train` (a RunConfig) plus the audit's own options; the
// model and data are loaded and checked as `train` does (prepareRun), then
// runAudit trains through DPZOTrainer with a fresh model per run. No test hook can
// be passed from here.
import type { RunConfig } from '../dpzo/config.js';
import { parseRunConfig } from '../dpzo/config.js';
import { loadOptionsOf, prepareRun } from '../dpzo/session.js';
import { loadModel } from '../model/model.js';
import type { Model } from '../model/types.js';
import { type AuditResult, auditResult } from './report.js';
import { type AuditSetting, type Trial, runAudit } from './runs.js';

/** What `audit` audits and how. */
export interface AuditOptions {
  /** The run configuration, as `dpzo train` takes it (its evaluation, run directory and dataset budget are not used). */
  config: RunConfig;
  /** The threat model. */
  setting: AuditSetting;
  /** Canaries per run (default 64). */
  canaries?: number;
  /** Training runs (gradient-canary; default 32; one-run: 1). */
  runs?: number;
  /** Confidence of the lower bound (default 0.95). */
  confidence?: number;
  /** Stops the audit between runs (it then throws ERR_CANCELLED). */
  signal?: AbortSignal;
  /** Called after each run. */
  onRun?: (done: number, total: number) => void;
}

/** The audit's result and its per-canary scores (for the plot). */
export async function auditWithTrials(options: AuditOptions): Promise<{ result: AuditResult; trials: Trial[] }> {
  const { setting, canaries, runs, confidence, signal, onRun } = options;
  const parsed = parseRunConfig(options.config, 'audit config');
  // the audit never evaluates: an eval file in a train config was read (a private one for nothing) and, missing, failed the audit
  const config: RunConfig = { ...parsed, eval: undefined };
  const prepared = await prepareRun(config);
  let first: Model | undefined = prepared.model;
  const load = async (): Promise<Model> => {
    // the model prepareRun loaded serves the first run; every later run loads afresh
    if (first) {
      const m = first;
      first = undefined;
      return m;
    }
    // the same load as prepareRun's (device included), so every run trains on the same backend
    return loadModel(prepared.config.model, loadOptionsOf(prepared.config));
  };
  try {
    const r = await runAudit({
      setting,
      train: prepared.trainer.options,
      loadModel: load,
      canaries: canaries ?? 64,
      runs: runs ?? (setting === 'one-run' ? 1 : 32),
      confidence,
      signal,
      onRun,
    });
    return { result: auditResult(r), trials: r.trials };
  } finally {
    first?.dispose();
  }
}

/** Audits the configuration: the accountant's ε beside the lower bound the canaries prove, and the verdict. */
export async function audit(options: AuditOptions): Promise<AuditResult> {
  return (await auditWithTrials(options)).result;
}
