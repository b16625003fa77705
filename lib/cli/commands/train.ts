// `dpzo train`: DP-ZO fine-tuning of a model directory on a private dataset to a
// privacy budget, with a trajectory checkpoint, metrics JSONL and a final report.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { type RunConfig, parseRunConfig } from '../../dpzo/config.js';
import type { EvalResult } from '../../dpzo/evaluate.js';
import { loadRunConfig, prepareRun } from '../../dpzo/session.js';
import type { TrainPlan, TrainReport } from '../../dpzo/index.js';
import { DpzoError } from '../../errors.js';
import { printTable } from '../format.js';
import { parseInteger, parseNumber } from '../numbers.js';
import { createProgress } from '../progress.js';

const number = parseNumber;
const integer = parseInteger;
/** `[" terrible"," great"]` (JSON) or ` terrible, great` (commas; spaces kept as written). */
export function parseLabelWords(v: string): string[] | Record<string, string> {
  const t = v.trim();
  if (t.startsWith('[') || t.startsWith('{')) {
    try {
      return JSON.parse(t) as string[] | Record<string, string>;
    } catch {
      throw new InvalidArgumentError('is not valid JSON');
    }
  }
  return v.split(',');
}

/** Options that map one to one onto RunConfig keys (commander camel-cases them). */
export function addRunOptions(cmd: Command): Command {
  return cmd
    .option('--model <dir>', 'Hugging Face model directory')
    .option('--data <file>', 'training data (.jsonl, .json, .csv, .tsv)')
    .addOption(new Option('--task <kind>', 'lm | classification | tokens').choices(['lm', 'classification', 'tokens']))
    .option('--epsilon <ε>', 'privacy budget ε', number)
    .option('--delta <δ>', 'privacy budget δ', number)
    .option('--steps <n>', 'number of steps', integer)
    .option('--epochs <e>', 'epochs (steps = ceil(e·N / batch size))', number)
    .option('--batch-size <b>', 'expected batch size q·N (Poisson sampling; default 16)', number)
    .option('--lr <η>', 'learning rate (default 1e-6)', number)
    .addOption(new Option('--schedule <kind>', 'learning-rate schedule (default constant)').choices(['constant', 'linear', 'cosine']))
    .option('--warmup-steps <n>', 'linear warmup steps', integer)
    .option('--zo-eps <ε>', 'perturbation scale ε_zo (default 1e-3)', number)
    .option('--clip <C>', 'per-example clipping threshold C (default 1)', number)
    .addOption(new Option('--mechanism <m>', 'noise mechanism (default gaussian)').choices(['gaussian', 'laplace']))
    .addOption(new Option('--accountant <a>', 'accountant that calibrates and enforces the budget (default pld)').choices(['pld', 'rdp']))
    .option('--noise-multiplier <σ>', 'explicit σ instead of calibration (must fit the budget)', number)
    .option('--laplace-scale <b>', 'explicit Laplace scale instead of calibration', number)
    .option('--directions <n>', 'directions per step (default 1)', integer)
    .option('--weight-decay <λ>', 'decoupled weight decay λ: θ ← (1 − ηλ)θ on weight matrices, never biases or norms', number)
    .option('--eval <file>', 'held-out evaluation data')
    .option('--eval-public', 'declare the evaluation set public (no warning)')
    .option('--private-diagnostics', 'also print and log statistics of the private batches (loss, batch size, clipping); they are NOT covered by the privacy guarantee')
    .option('--eval-every <k>', 'evaluate every k steps (default: before and after only)', integer)
    .option('--eval-max <n>', 'evaluate on the first n examples', integer)
    .option('--trainable <patterns>', "comma-separated tensor name patterns ('*' wildcard or substring)")
    .option('--template <t>', 'classification prompt template (default "{sentence} It was")')
    .option('--label-words <words>', 'label words: JSON array/object or comma-separated (default " terrible, great")', parseLabelWords)
    .option('--text-field <name>', 'text field (classification default "sentence", lm default "text")')
    .option('--label-field <name>', 'label field (default "label")')
    .option('--prompt-field <name>', 'lm prompt field (default "prompt")')
    .option('--completion-field <name>', 'lm completion field (default "completion")')
    .option('--input-field <name>', 'tokens task: ids field (default "input_ids")')
    .option('--labels-field <name>', 'tokens task: labels field (default "labels")')
    .option('--max-length <n>', 'longest sequence in tokens (default 256)', integer)
    .option('--limit <n>', 'use the first n training examples', integer)
    .option('--max-batch-tokens <n>', 'most tokens per forward call', integer)
    .option('--threads <n>', 'native worker threads', integer)
    .addOption(new Option('--dtype <t>', 'convert weights on load').choices(['float32', 'float16', 'bfloat16']));
}


/** Config file values, overridden by flags given on the command line. */
export function mergeConfig(cmd: Command, flags: Record<string, unknown>): RunConfig {
  const configKeys = new Set(['config', 'resume', 'json', 'dryRun', 'metrics', 'quiet']);
  let base: Record<string, unknown> = {};
  if (typeof flags.config === 'string') {
    const file = flags.config;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new DpzoError('ERR_TRAIN_OPTION', `--config ${file}: ${(e as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new DpzoError('ERR_TRAIN_OPTION', `--config ${file}: must be a JSON object`);
    base = { ...(parsed as Record<string, unknown>) };
  }
  for (const [k, v] of Object.entries(flags)) {
    if (configKeys.has(k) || v === undefined) continue;
    if (cmd.getOptionValueSource(k) === 'cli' || !(k in base)) base[k] = v;
  }
  for (const req of ['model', 'data', 'task', 'epsilon', 'delta']) {
    if (base[req] === undefined) throw new DpzoError('ERR_TRAIN_OPTION', `--${req.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} is required (as a flag or in --config)`);
  }
  return parseRunConfig(base, typeof flags.config === 'string' ? flags.config : 'options');
}

function fmt(x: number | undefined, d = 4): string {
  return x === undefined || !Number.isFinite(x) ? '—' : Number(x.toPrecision(d)).toString();
}

export function noiseText(p: TrainPlan): string {
  return p.mechanism === 'gaussian' ? `gaussian, σ = ${fmt(p.noiseMultiplier)} (noise std σ·C = ${fmt(p.noiseMultiplier! * p.clip)})` : `laplace, b = ${fmt(p.laplaceScale)}`;
}

export function planRows(p: TrainPlan, numTrainable?: number): [string, string][] {
  return [
    ['budget', `ε = ${p.budget.epsilon}, δ = ${p.budget.delta} (${p.accountant.toUpperCase()} accountant)`],
    ['noise', `${noiseText(p)}${p.calibrated ? ', calibrated' : ''}`],
    ['predicted ε', `${fmt(p.predictedEpsilon)} after ${p.steps} steps`],
    ['sampling', `Poisson, q = ${fmt(p.sampleRate)} (expected batch ${p.expectedBatch} of ${p.datasetSize})`],
    ['step', `${p.directions} direction(s), ε_zo = ${p.zoEps}, clip C = ${p.clip} (${p.mechanism === 'gaussian' ? 'L2' : 'L1'})`],
    ['learning rate', `${p.lr} ${p.schedule}${p.warmupSteps ? `, ${p.warmupSteps} warmup steps` : ''}`],
    ...(numTrainable !== undefined ? ([['trainable', numTrainable.toLocaleString('en-US') + ' parameters']] as [string, string][]) : []),
  ];
}

function evalText(r: EvalResult | undefined): string {
  if (!r) return '—';
  if (r.metric === 'accuracy') return `accuracy ${fmt(r.accuracy)} (loss ${fmt(r.loss)})`;
  if (r.metric === 'f1') return `F1 ${fmt(r.f1)}, exact match ${fmt(r.exactMatch)} (loss ${fmt(r.loss)})`;
  return `loss ${fmt(r.loss)}`;
}

export function reportRows(r: TrainReport): [string, string][] {
  const rows: [string, string][] = [
    ['status', `${r.stopReason}: ${r.steps} of ${r.plannedSteps} steps in ${fmt(r.seconds, 3)} s (${fmt(r.stepsPerSecond, 3)} steps/s)`],
    ['ε spent', `${fmt(r.epsilon.pld)} (PLD), ${fmt(r.epsilon.rdp)} (RDP${r.epsilon.rdpOrder !== undefined ? `, order ${r.epsilon.rdpOrder}` : ''})${r.epsilon.pure !== undefined ? `, pure ε ${fmt(r.epsilon.pure)}` : ''} at δ = ${r.epsilon.delta}`],
    ['budget', `ε = ${r.budget.epsilon}, δ = ${r.budget.delta}`],
    ['noise', noiseText(r.plan)],
    ['sampling', `q = ${fmt(r.plan.sampleRate)} (expected batch ${r.plan.expectedBatch} of ${r.plan.datasetSize})`],
  ];
  if (r.evalBefore) {
    rows.push(['before', evalText(r.evalBefore)]);
    rows.push(['after', evalText(r.evalAfter)]);
  }
  if (r.runDir) rows.push(['run', r.runDir]);
  if (!r.private) rows.push(['WARNING', 'test hooks were installed: this run is NOT private']);
  return rows;
}

export function register(program: Command): void {
  const cmd = program.command('train').description('fine-tune a model with DP-ZO to an (ε, δ) budget');
  addRunOptions(cmd)
    .option('--out <dir>', 'run directory: run.json, trajectory.jsonl, ledger.jsonl, metrics.jsonl')
    .option('--config <file>', 'JSON file with any of these options (camelCase keys); flags override it')
    .option('--resume', 'continue the run in --out from its last complete step')
    .option('--metrics <file>', 'metrics JSONL (default <out>/metrics.jsonl)')
    .option('--dry-run', 'print the calibrated noise and the plan; release nothing')
    .option('--json', 'print the report as one JSON object')
    .action(async (flags: Record<string, unknown>) => {
      await runTrain(cmd, flags);
    });
}

async function runTrain(cmd: Command, flags: Record<string, unknown>): Promise<void> {
  const resume = flags.resume === true;
  let config: RunConfig;
  if (resume) {
    if (typeof flags.out !== 'string') throw new DpzoError('ERR_TRAIN_OPTION', '--resume needs --out <run directory>');
    config = loadRunConfig(flags.out);
    if (typeof flags.threads === 'number') config.threads = flags.threads;
  } else config = mergeConfig(cmd, flags);

  const { model, trainer } = await prepareRun(config, { resume });
  try {
    const plan = trainer.plan();
    if (flags.dryRun) {
      if (flags.json) process.stdout.write(JSON.stringify({ dryRun: true, plan, numTrainable: model.numTrainable }) + '\n');
      else printTable(planRows(plan, model.numTrainable));
      return;
    }
    const metricsFile = typeof flags.metrics === 'string' ? flags.metrics : config.out ? join(config.out, 'metrics.jsonl') : undefined;
    const metrics = (obj: Record<string, unknown>) => {
      if (!metricsFile) return;
      if (!existsSync(dirname(metricsFile))) mkdirSync(dirname(metricsFile), { recursive: true });
      // no time: per-step times would reveal the size of each private batch (issue 11.1)
      appendFileSync(metricsFile, JSON.stringify(obj) + '\n');
    };
    const diagnostics = config.privateDiagnostics === true;
    // the bar's loss: the private batch loss only on request, else the latest held-out evaluation
    const progress = createProgress(plan.steps, { lossLabel: diagnostics ? 'batch loss (private)' : 'held-out loss' });
    if (diagnostics) progress.note('warning: --private-diagnostics prints statistics of the private data; they are outside the privacy guarantee');
    let heldOutLoss = Number.NaN;
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    if (!flags.json) for (const [k, v] of planRows(plan, model.numTrainable)) progress.note(`${k.padEnd(13)} ${v}`);
    let report: TrainReport;
    try {
      report = await trainer.train({
        signal: controller.signal,
        onWarning: (m) => progress.note(`warning: ${m}`),
        onStep: (s) => {
          progress.update({ step: s.step, steps: s.steps, loss: s.privateDiagnostics?.loss ?? heldOutLoss, epsilon: s.epsilon });
          // released values only, unless --private-diagnostics asked for more
          metrics({ type: 'step', step: s.step, lr: s.lr, gHat: s.gHat, epsilon: s.epsilon, epsilonRdp: s.epsilonRdp, ...(s.privateDiagnostics ? { private: s.privateDiagnostics } : {}) });
        },
        onEval: (e) => {
          heldOutLoss = e.result.loss;
          progress.note(`eval @ step ${e.step}: ${evalText(e.result)}`);
          metrics({ type: 'eval', step: e.step, ...e.result });
        },
      });
    } finally {
      progress.stop();
      process.off('SIGINT', onSigint);
    }
    metrics({ type: 'report', ...report });
    if (flags.json) process.stdout.write(JSON.stringify(report) + '\n');
    else printTable(reportRows(report));
  } finally {
    model.dispose();
  }
}
