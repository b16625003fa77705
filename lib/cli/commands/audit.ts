// `dpzo audit`: an empirical privacy audit of a training configuration — canaries
// trained through the real trainer, the accountant's ε beside the lower bound the
// canaries prove (docs/audit.md). Exit 0 when consistent; 1, with a loud line on
// stderr, when the lower bound reaches the claimed ε; 2 on bad input.
import { type Command, Option } from 'commander';
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { auditPlot } from '../../audit/plot.js';
import { auditWithTrials } from '../../audit/audit.js';
import { auditRows } from '../../audit/report.js';
import type { AuditSetting } from '../../audit/runs.js';
import type { RunFieldName } from '../../dpzo/config.js';
import { RUN_FIELDS } from '../../dpzo/config.js';
import { DpzoError } from '../../errors.js';
import { writeTextAtomic } from '../../io/json-file.js';
import { infinityReplacer } from '../../io/json-infinity.js';
import { printTable } from '../format.js';
import { parseInteger, parseNumber } from '../numbers.js';
import { addRunOptions, mergeConfigNamed, nameFields } from '../options.js';

/** Run fields the audit does not read: evaluation, the run directory, diagnostics, the dataset budget. */
const NOT_AUDITED = new Set<RunFieldName>(['eval', 'evalPublic', 'evalEvery', 'evalMax', 'privateDiagnostics', 'out', 'datasetBudget']);
const AUDIT_FIELDS = (Object.keys(RUN_FIELDS) as RunFieldName[]).filter((k) => !NOT_AUDITED.has(k));

export function register(program: Command): void {
  const cmd = program
    .command('audit')
    .description("empirical privacy audit: train with canaries through the trainer and lower-bound ε beside the accountant's ε");
  addRunOptions(cmd, { only: AUDIT_FIELDS })
    .option('--config <file>', 'JSON file with any of the run options (camelCase keys); flags override it')
    .addOption(
      new Option('--setting <s>', 'one-run (Steinke et al. 2023) or gradient-canary (many runs, Clopper–Pearson)')
        .choices(['one-run', 'gradient-canary'])
        .default('gradient-canary'),
    )
    .addOption(new Option('--canaries <k>', 'canaries per run, each on its own direction').argParser(parseInteger).default(64))
    .addOption(new Option('--runs <r>', 'training runs (gradient-canary; default 32)').argParser(parseInteger))
    .addOption(new Option('--confidence <c>', 'confidence of the lower bound').argParser(parseNumber).default(0.95))
    .option('--plot <file>', 'SVG of the canary scores (default dpzo-audit-<setting>.svg)')
    .option('--json', 'print the result as one JSON object')
    .action(async (flags: Record<string, unknown>) => {
      await runAuditCommand(cmd, flags);
    });
}

/**
 * Refuses a --plot file that cannot be written — its folder missing, not a folder or not writable, or the file a
 * folder — before the audit runs: found after it, it lost the audit's result (and its hours) to an ENOENT line.
 */
function checkPlotPath(plot: string): void {
  const bad = (why: string) => new DpzoError('ERR_ARGUMENT', `--plot ${plot}: ${why}`);
  const dir = dirname(plot);
  const at = statSync(dir, { throwIfNoEntry: false });
  if (!at) throw bad(`its folder ${dir} does not exist`);
  if (!at.isDirectory()) throw bad(`${dir} is not a folder`);
  if (statSync(plot, { throwIfNoEntry: false })?.isDirectory()) throw bad('is a folder');
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw bad(`its folder ${dir} is not writable`);
  }
}

/** The audit's own flags, named as flags: runAudit's refusals name its options (confidence, canaries, runs). */
function checkAuditFlags(setting: AuditSetting, flags: Record<string, unknown>): void {
  const bad = (flag: string, v: unknown, why: string) => new DpzoError('ERR_ARGUMENT', `${flag} must be ${why}, got ${String(v)}`);
  const c = flags.confidence as number;
  if (!(c > 0 && c < 1)) throw bad('--confidence', c, 'in (0, 1)');
  const k = flags.canaries as number;
  if (!(Number.isInteger(k) && k > 0)) throw bad('--canaries', k, 'a positive integer');
  const runs = flags.runs as number | undefined;
  if (runs !== undefined && !(Number.isInteger(runs) && runs > 0)) throw bad('--runs', runs, 'a positive integer');
  if (setting === 'one-run' && runs !== undefined && runs !== 1) throw bad('--runs', runs, 'absent (or 1) with --setting one-run, which trains once');
  if (setting === 'one-run' && k < 2) throw bad('--canaries', k, 'at least 2 with --setting one-run');
}

async function runAuditCommand(cmd: Command, flags: Record<string, unknown>): Promise<void> {
  const setting = flags.setting as AuditSetting;
  checkAuditFlags(setting, flags);
  const { config, nameOf } = mergeConfigNamed(cmd, flags);
  const plot = resolve(typeof flags.plot === 'string' ? flags.plot : `dpzo-audit-${setting}.svg`);
  checkPlotPath(plot);
  const tty = process.stderr.isTTY && !flags.json;
  let counted = false;
  // the plan's refusals name the library's options (batchSize): named as the user gave them, the flag or the config file
  const audited = await auditWithTrials({
    config,
    setting,
    canaries: flags.canaries as number,
    runs: flags.runs as number | undefined,
    confidence: flags.confidence as number,
    onRun: tty
      ? (done, total) => {
          counted = true;
          process.stderr.write(`\raudit run ${done}/${total}`);
        }
      : undefined,
  })
    .catch((e: unknown) => {
      throw nameFields(e, nameOf);
    })
    .finally(() => {
      // the counter's line ended, also when the audit fails: the error line was glued to 'audit run k/N'
      if (counted) process.stderr.write('\n');
    });
  const { result, trials } = audited;
  result.plot = plot;
  // whole or not at all: a reader (or a killed audit) never sees half an SVG
  writeTextAtomic(plot, auditPlot(result, trials));
  // JSON has no ∞: the threshold of a test that found none is "Infinity", as dpzo's other JSON writes it (it was null)
  if (flags.json) process.stdout.write(JSON.stringify(result, infinityReplacer) + '\n');
  else printTable(auditRows(result));
  if (result.verdict === 'violated') {
    process.stderr.write(
      `dpzo audit: PRIVACY VIOLATION — the canaries prove ε ≥ ${result.epsilonLowerBound.toPrecision(4)} at confidence ${result.confidence}, ` +
        `not below the claimed ε = ${result.claimedEpsilon.toPrecision(4)}: this configuration leaks more than its accountant states\n`,
    );
    process.exitCode = 1;
  }
}
