// `dpzo train`: DP-ZO (or, with --method dpsgd, DP-SGD) fine-tuning of a model directory
// on a private dataset to a privacy budget, with a run directory, metrics JSONL and a final report.
import type { Command } from 'commander';
import { appendFileSync, closeSync, existsSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import type { RunConfig } from '../../dpzo/config.js';
import { loadRunConfig, prepareRun } from '../../dpzo/session.js';
import { checkResumeInputs, recordMovedInputs } from '../../dpzo/resume-inputs.js';
import type { RunRecord } from '../../dpzo/trainer.js';
import { readRunJson } from '../../dpzo/run-record.js';
import { finishedReport } from '../../dpzo/finished-run.js';
import type { TrainReport } from '../../dpzo/index.js';
import { isNonPrivate } from '../../dpzo/options.js';
import { DpzoError } from '../../errors.js';
import { evalText, planRows, printTable, reportRows } from '../format.js';
import { type FieldNamer, addRunOptions, flagName, mergeConfigNamed, nameFields } from '../options.js';
import { createProgress } from '../progress.js';
import { listenForInterrupt } from '../interrupt.js';
import { writeCurves } from '../../dpzo/curves.js';
import { infinityReplacer } from '../../io/json-infinity.js';
import { makeDirectories } from '../../io/mkdirs.js';
import { cutTornTail, readJsonl } from '../../io/jsonl.js';

export function register(program: Command): void {
  const cmd = program.command('train').description('fine-tune a model with DP-ZO (or DP-SGD: --method dpsgd) to an (ε, δ) budget');
  addRunOptions(addRunOptions(cmd), { trainOnly: true })
    .option('--config <file>', 'JSON file with any of these options (camelCase keys); flags override it')
    .option('--resume', 'continue the run in --out from its last complete step')
    .option('--metrics <file>', 'metrics JSONL (default <out>/metrics.jsonl)')
    .option('--dry-run', 'print the calibrated noise and the plan; release nothing')
    .option('--json', 'print the report as one JSON object')
    .action(async (flags: Record<string, unknown>) => {
      await runTrain(cmd, flags);
    });
}

/**
 * What --resume may be given besides the run directory: nothing that changes the run's plan or data. The device may change: a DP-ZO
 * update is the same bits on the CPU and on CUDA, so the replayed weights are those the run trained (DP-SGD stays on the CPU).
 * --model and --data name where the run's base model and training file are now, when they were moved or renamed: taken only when
 * verifiably the run's own (checkResumeInputs).
 */
const RESUME_FLAGS = new Set(['out', 'resume', 'threads', 'device', 'json', 'metrics', 'dryRun', 'model', 'data']);

/**
 * --resume continues the run as run.json planned it; a flag that would change it (--epsilon, --steps,
 * --data, …) used to be ignored in silence. It is refused, naming the flag.
 */
function refuseResumeChanges(cmd: Command): void {
  for (const opt of cmd.options) {
    const key = opt.attributeName();
    if (!RESUME_FLAGS.has(key) && cmd.getOptionValueSource(key) === 'cli') {
      throw new DpzoError(
        'ERR_ARGUMENT',
        `${opt.long} cannot be given with --resume: the run continues as planned in its run.json (start a new run in another --out to change it)`,
      );
    }
  }
}

/**
 * The base model directory or training file run.json names, gone (moved, renamed): it failed as '<dir> is not a model
 * directory: no such directory' or the data loader's 'no such file', naming neither run.json nor the flag that gives it.
 */
function refuseMissingInputs(config: RunConfig, runDir: string, given: { model: boolean; data: boolean }): void {
  const runFile = join(runDir, 'run.json');
  if (!given.model && !existsSync(config.model))
    throw new DpzoError(
      'ERR_CONFIG_MISSING',
      `${runFile}: the run's base model ${config.model} is not there (moved or deleted): give it with --model (its weights hash is checked)`,
    );
  if (!given.data && !existsSync(config.data))
    throw new DpzoError(
      'ERR_CONFIG_MISSING',
      `${runFile}: the run's training file ${config.data} is not there (moved or deleted): give it with --data (the run's dataset key checks it)`,
    );
}

/** --eval-every, --eval-max and --eval-public act on the --eval set: without one they were ignored in silence, and no evaluation ran. */
function refuseEvalFlagsWithoutEval(config: RunConfig): void {
  if (config.eval !== undefined) return;
  for (const k of ['evalEvery', 'evalMax', 'evalPublic'] as const) {
    if (config[k] !== undefined && config[k] !== false) {
      throw new DpzoError('ERR_TRAIN_OPTION', `${flagName(k)} needs --eval <file>, the held-out set it acts on: without one no evaluation runs`);
    }
  }
}

/** The error of a metrics file that cannot be written, naming the flag when it was given (else it is <out>/metrics.jsonl). */
function metricsError(file: string, given: boolean, e: unknown): DpzoError {
  const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  return new DpzoError('ERR_IO', `${given ? '--metrics ' : ''}${file}: cannot write the metrics file (${code})`);
}

/**
 * A --metrics file that cannot be written (a directory, a path under a file or under /proc, a read-only file) failed at
 * the first append, after the first step's release was recorded, with a bare ENOENT naming no flag: it is tried before
 * the run directory is made. A parent still to be made is made once the run is open ({@link openMetrics}).
 */
function checkMetrics(file: string): void {
  let parent = dirname(resolve(file));
  while (!existsSync(parent)) parent = dirname(parent);
  try {
    if (!statSync(parent).isDirectory()) throw Object.assign(new Error('ENOTDIR'), { code: 'ENOTDIR' });
    if (parent !== dirname(resolve(file))) return;
    if (existsSync(file)) closeSync(openSync(file, 'a'));
    else {
      closeSync(openSync(file, 'wx'));
      unlinkSync(file);
    }
  } catch (e) {
    throw metricsError(file, true, e);
  }
}

/** Makes the metrics file's directory and the file itself (empty) before any release: a failure is one line naming it. */
function openMetrics(file: string, given: boolean): void {
  try {
    if (!existsSync(dirname(file))) makeDirectories(dirname(file));
    appendFileSync(file, '');
  } catch (e) {
    throw metricsError(file, given, e);
  }
}

async function runTrain(cmd: Command, flags: Record<string, unknown>): Promise<void> {
  const resume = flags.resume === true;
  let config: RunConfig;
  // the plan's refusals name the library's options (batchSize): named here as the user gave them, the flag or the config file
  let nameOf: FieldNamer;
  let movedInputs = { model: false, data: false };
  if (resume) {
    if (typeof flags.out !== 'string') throw new DpzoError('ERR_TRAIN_OPTION', '--resume needs --out <run directory>');
    refuseResumeChanges(cmd);
    config = loadRunConfig(flags.out);
    // the recorded config's fields are run.json's; --device, --threads, --model, --data given again are the flags'
    const runJson = join(flags.out, 'run.json');
    nameOf = (field, leading) => (cmd.getOptionValueSource(field) === 'cli' ? flagName(field) : leading ? `${runJson}: ${field}` : field);
    if (typeof flags.threads === 'number') config.threads = flags.threads;
    if (flags.device !== undefined) config.device = flags.device as RunConfig['device'];
    movedInputs = { model: cmd.getOptionValueSource('model') === 'cli', data: cmd.getOptionValueSource('data') === 'cli' };
    if (movedInputs.model) config.model = flags.model as string;
    if (movedInputs.data) config.data = flags.data as string;
    refuseMissingInputs(config, flags.out, movedInputs);
  } else {
    ({ config, nameOf } = mergeConfigNamed(cmd, flags));
    refuseEvalFlagsWithoutEval(config);
  }
  try {
    await trainConfigured(config, flags, { resume, movedInputs });
  } catch (e) {
    throw nameFields(e, nameOf);
  }
}

/** `dpzo train` with its configuration settled: prepare, plan (and stop there for --dry-run), train, report. */
async function trainConfigured(
  config: RunConfig,
  flags: Record<string, unknown>,
  { resume, movedInputs }: { resume: boolean; movedInputs: { model: boolean; data: boolean } },
): Promise<void> {
  if (typeof flags.metrics === 'string' && !flags.dryRun) checkMetrics(flags.metrics);

  const { model, trainer } = await prepareRun(config, { resume });
  try {
    // before the plan, the dry run or the recorded report of a finished run: a --model or --data not the run's own is refused
    if (movedInputs.model || movedInputs.data)
      await checkResumeInputs(config.out!, readRunJson<RunRecord>(config.out!), {
        ...(movedInputs.model ? { model: { dir: config.model, loaded: model } } : {}),
        ...(movedInputs.data ? { data: { file: config.data, sha256: trainer.options.train.sha256 } } : {}),
      });
    const plan = trainer.plan();
    if (flags.dryRun) {
      if (flags.json) process.stdout.write(JSON.stringify({ dryRun: true, plan, numTrainable: model.numTrainable }, infinityReplacer) + '\n');
      else printTable(planRows(plan, model.numTrainable));
      return;
    }
    // (after the checks a resume makes of its config, data and device)
    const done = resume ? finishedReport(config.out!, typeof flags.metrics === 'string' ? flags.metrics : join(config.out!, 'metrics.jsonl')) : undefined;
    if (done) {
      // nothing replayed, evaluated or written: the run's report as it was recorded
      const why =
        done.report.stopReason === 'completed'
          ? `is complete (all ${done.steps} planned steps)`
          : `stopped at its budget after ${done.report.steps} of ${done.steps} planned steps (its next release would still exceed it)`;
      // a --model / --data checked above is recorded as a resume that continues records it (RunDirectory.resume): export and
      // eval --run of the finished run then find them without the flag
      const moved = { ...(movedInputs.model ? { model: resolve(config.model) } : {}), ...(movedInputs.data ? { data: resolve(config.data) } : {}) };
      if (recordMovedInputs(config.out!, moved))
        process.stderr.write(
          `dpzo: warning: ${join(config.out!, 'run.json')} now records ${[moved.model, moved.data].filter(Boolean).join(' and ')} (checked: the run's own)\n`,
        );
      process.stderr.write(`dpzo: ${config.out} ${why}: nothing to resume; its recorded report:\n`);
      if (flags.json) process.stdout.write(JSON.stringify(done.report, infinityReplacer) + '\n');
      else printTable(reportRows(done.report));
      return;
    }
    const metricsFile = typeof flags.metrics === 'string' ? flags.metrics : config.out ? join(config.out, 'metrics.jsonl') : undefined;
    const metrics = (obj: Record<string, unknown>) => {
      if (!metricsFile) return;
      if (!existsSync(dirname(metricsFile))) makeDirectories(dirname(metricsFile));
      // no time: per-step times would reveal the size of each private batch (issue 11.1)
      appendFileSync(metricsFile, JSON.stringify(obj, infinityReplacer) + '\n');
    };
    const diagnostics = config.privateDiagnostics === true;
    // the bar's loss: the private batch loss only on request, else the latest held-out evaluation
    const progress = createProgress(plan.steps, {
      lossLabel: diagnostics ? 'batch loss (private)' : 'held-out loss',
      label: isNonPrivate(plan) ? 'train NOT PRIVATE' : 'train',
    });
    if (diagnostics) progress.note('warning: --private-diagnostics prints statistics of the private data; they are outside the privacy guarantee');
    let heldOutLoss = Number.NaN;
    // Ctrl-C / SIGTERM: finish the step, print the report, then exit 128 + signal (130 / 143), so that
    // `dpzo train && dpzo export` stops there
    const interrupt = listenForInterrupt();
    // the plan is printed once the run is open: an error opening it stays the only line on stderr
    const printPlan = () => {
      if (!flags.json) for (const [k, v] of planRows(plan, model.numTrainable)) progress.note(`${k.padEnd(13)} ${v}`);
    };
    // a crash inside a metrics write leaves a last line without its newline: the next line appended joined it into one
    // that is not JSON, and the resumed run failed at its end (writeCurves) after every step, as did eval --run; cut it
    // once the run is open (its checks passed), before the first line is appended
    const cutTornMetrics = () => {
      if (!metricsFile) return;
      openMetrics(metricsFile, typeof flags.metrics === 'string');
      const read = readJsonl(metricsFile);
      if (read.tornBytes === 0) return;
      cutTornTail(metricsFile, read);
      progress.note(`warning: ${metricsFile} ended with an incomplete line (a crash during its write); the line was dropped`);
    };
    let report: TrainReport;
    try {
      report = await trainer.train({
        signal: interrupt.signal,
        onOpen: () => {
          cutTornMetrics();
          printPlan();
        },
        onWarning: (m) => progress.note(`warning: ${m}`),
        onStep: (s) => {
          progress.update({ step: s.step, steps: s.steps, loss: s.privateDiagnostics?.loss ?? heldOutLoss, epsilon: s.epsilon });
          // released values only, unless --private-diagnostics asked for more
          metrics({
            type: 'step',
            step: s.step,
            lr: s.lr,
            gHat: s.gHat,
            ...(s.gHatNorm !== undefined ? { gHatNorm: s.gHatNorm } : {}),
            epsilon: s.epsilon,
            epsilonRdp: s.epsilonRdp,
            ...(s.privateDiagnostics ? { private: s.privateDiagnostics } : {}),
          });
        },
        onEval: (e) => {
          heldOutLoss = e.result.loss;
          progress.note(`eval @ step ${e.step}: ${evalText(e.result)}`);
          metrics({ type: 'eval', step: e.step, ...e.result });
        },
      });
    } finally {
      progress.stop();
      interrupt.end();
    }
    metrics({ type: 'report', ...report });
    // the run's chart beside its files: held-out metric, released ĝ and ε against the step
    const curves = config.out && metricsFile ? writeCurves(config.out, report.plan, metricsFile) : undefined;
    if (flags.json) process.stdout.write(JSON.stringify(curves ? { ...report, curves } : report, infinityReplacer) + '\n');
    else printTable([...reportRows(report), ...(curves ? ([['curves', curves]] as [string, string][]) : [])]);
    if (interrupt.exitCode) process.exitCode = interrupt.exitCode;
  } finally {
    model.dispose();
  }
}
