// `dpzo report RUN`: a run's summary (the report its last `dpzo train` wrote to
// metrics.jsonl, or, for a run cut short before its report — a report line that
// counts fewer releases than the ledger holds is an earlier end's —, ε spent from its
// ledger) and its chart, curves.svg, rewritten from the metrics and named.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';

import { METRICS_FILE, readRunMetrics, writeCurves } from '../../dpzo/curves.js';
import { runCharts } from '../../dpzo/curves-text.js';
import { openCheckedRunLedger } from '../../dpzo/run-integrity.js';
import { notPrivateReason } from '../../dpzo/options.js';
import { type DatasetSpent, datasetSpent } from '../../dpzo/report.js';
import { LEDGER_FILE, type RunRecord, checkReleaseSensitivity, checkRunPlan, readRunJson, runDatasetLedger } from '../../dpzo/run-record.js';
import { DpzoError } from '../../errors.js';
import { infinityReplacer } from '../../io/json-infinity.js';
import { DatasetLedger, PrivacyLedger } from '../../privacy/index.js';
import { fmt, printTable, reportRows } from '../format.js';

export function register(program: Command): void {
  program
    .command('report')
    .description("print a run directory's summary and write its chart (curves.svg: held-out metric, ĝ and ε against the step)")
    .argument('<run>', 'run directory (run.json, metrics.jsonl, ledger.jsonl)')
    .option('--json', 'print one JSON object')
    .action(async (runDir: string, opts: { json?: boolean }) => {
      const run = readRunJson(runDir);
      checkRunPlan(run, runDir);
      // the report line's ε, as the ledger's, is understated for a run whose noise was set for too small a Δ
      checkReleaseSensitivity(run, runDir);
      const metricsFile = join(runDir, METRICS_FILE);
      if (!existsSync(metricsFile))
        throw new DpzoError('ERR_RUN_MISSING', `${runDir} has no ${METRICS_FILE} (made through the API, or with --metrics elsewhere)`);
      const m = readRunMetrics(metricsFile);
      const curves = chartOrWarning(runDir, run.plan, metricsFile);
      const ledgerFile = join(runDir, LEDGER_FILE);
      // a report line is the run's summary only while the ledger holds no more releases than it counted: a
      // resumed run that crashed (kill -9, no report of its own) left the report of an earlier end, whose ε
      // is less than was released since
      const released = existsSync(ledgerFile) ? await ledgerLength(ledgerFile) : 0;
      if (m.report && released <= m.report.steps) {
        // the dataset's ε as its ledger stands now: the report line's was the run's end's, before any later run on the file
        const dataset = m.report.dataset ? ((await datasetNow(run, m.report.dataset.delta)) ?? m.report.dataset) : undefined;
        const report = dataset ? { ...m.report, dataset } : m.report;
        if (opts.json) process.stdout.write(JSON.stringify({ ...report, curves }, infinityReplacer) + '\n');
        else {
          // the run as it is reported now: the report line holds where it trained (a copied or moved run named its old place)
          printTable([...reportRows({ ...report, runDir }), ['curves', curves ?? NOT_WRITTEN]]);
          for (const l of runCharts(m, run.plan.accountant)) process.stdout.write(l + '\n');
        }
        return;
      }
      // no report line of this end: the process ended before its report; the ledger holds what was released,
      // checked as account and export check it (a ledger cut or re-sealed printed a smaller ε than the trajectory carries)
      const ledger = await openCheckedRunLedger(runDir, run);
      try {
        const delta = run.plan.budget.delta;
        const spent = ledger.length > 0 ? ledger.spent(delta) : null;
        const summary = {
          stopReason: 'unfinished',
          steps: m.steps.length,
          releases: ledger.length,
          plannedSteps: run.plan.steps,
          epsilon: { delta, pld: spent?.pld?.epsilon ?? 0, rdp: spent?.rdp?.epsilon ?? 0 },
          budget: run.plan.budget,
          private: run.private,
          curves,
        };
        if (opts.json) process.stdout.write(JSON.stringify(summary, infinityReplacer) + '\n');
        else
          printTable([
            [
              'status',
              `unfinished: ${m.steps.length} of ${run.plan.steps} steps logged, ${ledger.length} released (no report: the run is still running, or ended early and --resume continues it)`,
            ],
            // fmt: ε = ∞ read 'Infinity' here and '∞' in every other table
            ['ε spent', `${fmt(summary.epsilon.pld)} (PLD), ${fmt(summary.epsilon.rdp)} (RDP) at δ = ${delta}, from the ledger`],
            ['budget', `ε = ${fmt(run.plan.budget.epsilon)}, δ = ${delta}`],
            // the reason a run is not private: ε = ∞ (a baseline) or test hooks (it blamed the hooks for both)
            ...(run.private ? [] : ([['WARNING', `NOT PRIVATE: ${notPrivateReason(run.plan)}`]] as [string, string][])),
            ['curves', curves ?? NOT_WRITTEN],
          ]);
        if (!opts.json) for (const l of runCharts(m, run.plan.accountant)) process.stdout.write(l + '\n');
      } finally {
        await ledger.close();
      }
    });
}

const NOT_WRITTEN = 'not written (see the warning above)';

/**
 * Redraws curves.svg, or, where the run directory cannot take it (a colleague's run, read-only, or a read-only mount), says
 * so on stderr and returns null: the summary is what `report` is for, and it refused to print it over the chart (ERR_IO).
 */
function chartOrWarning(runDir: string, plan: Parameters<typeof writeCurves>[1], metricsFile: string): string | null {
  try {
    return writeCurves(runDir, plan, metricsFile);
  } catch (e) {
    if (!(e instanceof DpzoError && e.code === 'ERR_IO')) throw e;
    process.stderr.write(`dpzo report: warning: ${e.message}; the summary follows without it\n`);
    return null;
  }
}

/** Every release on the run's training file so far (all runs), from the dataset ledger it recorded (undefined where there is none). */
async function datasetNow(run: RunRecord, delta: number): Promise<DatasetSpent | undefined> {
  const where = runDatasetLedger(run);
  if (!run.dataset || !where) return undefined;
  const d = await DatasetLedger.openFile(where.file, { readOnly: true });
  try {
    return datasetSpent(d, delta);
  } finally {
    await d.close();
  }
}

/** The releases in a ledger file (opened read-only). */
async function ledgerLength(file: string): Promise<number> {
  const ledger = await PrivacyLedger.open(file, { readOnly: true, create: false });
  try {
    return ledger.length;
  } finally {
    await ledger.close();
  }
}
