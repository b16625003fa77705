// `dpzo pretrain`: non-private training on PUBLIC data through the backward pass
// (Adam, warmup + cosine, checkpoints), to build a starting model that DP-ZO then
// fine-tunes privately. It makes no privacy claim and records nothing in any ledger.
import { appendFileSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeDirectories } from '../../io/mkdirs.js';
import type { Command } from 'commander';
import type { Device } from '../../model/types.js';

import { loadDataset } from '../../data/load.js';
import { loadTokenizer } from '../../data/tokenizer.js';
import { evalText } from '../format.js';
import { DpzoError } from '../../errors.js';
import { writeTextAtomic } from '../../io/json-file.js';
import { cpuOnlyDevice } from '../../model/device.js';
import { resolveModelDir } from '../../model/hf-cache.js';
import { loadModel } from '../../model/model.js';
import { lineChart } from '../../plot/svg-chart.js';
import { type PretrainOptions, type PretrainResult, pretrain } from '../../pretrain/pretrain.js';
import { packageVersion } from '../../package-info.js';
import { pretrainCard } from '../../pretrain/model-card.js';
import { saveModelInto } from '../../pretrain/save.js';
import { findPretrainCheckpoint, pretrainOutOf, readPretrainState } from '../../pretrain/resume.js';
import { findFinishedPretrain, writePretrainResult } from '../../pretrain/result.js';
import { keepMetricsUpTo, resumeCommand } from '../pretrain-resume.js';
import { parseInteger, parseNonNegativeInteger, parseNumber, parsePositiveInteger } from '../numbers.js';
import { parseDevice, parseThreads, printTable } from '../format.js';
import { createProgress } from '../progress.js';
import { listenForInterrupt } from '../interrupt.js';

interface Flags {
  model: string;
  data: string;
  task: 'lm' | 'tokens';
  out?: string;
  resume?: string;
  eval?: string;
  steps: number;
  batchSize: number;
  lr: number;
  warmupSteps?: number;
  weightDecay: number;
  seed: number;
  evalEvery?: number;
  checkpointEvery?: number;
  saveTotalLimit?: number;
  maxLength: number;
  textField?: string;
  threads?: number;
  device: Device;
  json?: boolean;
}

/** The table the run prints without --json (`planned`: its --steps). */
function resultRows(r: PretrainResult, planned: number): [string, string][] {
  return [
    ['status', `${r.stopReason}: ${r.steps} of ${planned} steps in ${r.seconds.toFixed(1)} s`],
    ...(r.evalBefore
      ? ([
          ['before', evalText(r.evalBefore)],
          ['after', evalText(r.evalAfter)],
        ] as [string, string][])
      : []),
    ['model', r.out],
    ['chart', r.chart],
    ['privacy', 'NONE: pretraining is for public data only; fine-tune privately with dpzo train'],
    ...(r.resume ? ([['resume', r.resume]] as [string, string][]) : []),
  ];
}

export function register(program: Command): void {
  program
    .command('pretrain')
    .description('NON-PRIVATE training on public data (backward pass, Adam, cosine schedule, checkpoints): a starting model for private fine-tuning')
    .requiredOption('--model <dir>', 'starting model (Hugging Face directory, float32 in memory)')
    .requiredOption('--data <file>', 'PUBLIC training text (.jsonl/.json/.csv/.tsv): no privacy is given to it')
    .option('--out <dir>', "where the trained model is saved (absent or empty; with --resume, the run's own)")
    .option(
      '--resume <dir>',
      "continue an interrupted run from its latest checkpoint (its --out) or from <out>/checkpoint-<step>, with the run's options (a finished run is not trained again)",
    )
    .option('--task <kind>', 'lm | tokens', 'lm')
    .option('--eval <file>', 'held-out public data, evaluated before, every --eval-every steps and after')
    .option('--steps <n>', 'optimizer steps', parsePositiveInteger, 1000)
    .option('--batch-size <b>', 'sequences per step', parsePositiveInteger, 16)
    .option('--lr <η>', 'peak learning rate (Adam)', parseNumber, 1e-3)
    .option('--warmup-steps <n>', 'linear warmup before the cosine decay (default steps/20)', parseNonNegativeInteger)
    .option('--weight-decay <λ>', 'decoupled weight decay (AdamW)', parseNumber, 0.01)
    .option('--seed <s>', 'seed of the minibatch shuffle', parseInteger, 0)
    .option('--eval-every <k>', 'evaluate every k steps', parsePositiveInteger)
    .option('--checkpoint-every <k>', 'save <out>/checkpoint-<step> every k steps', parsePositiveInteger)
    .option('--save-total-limit <n>', "keep only the run's newest n checkpoints (each ~4x the float32 weights): older ones are deleted", parsePositiveInteger)
    .option('--max-length <n>', 'tokens per example at most', parsePositiveInteger, 256)
    .option('--text-field <name>', 'the text column (lm task)')
    .option('--threads <n>', 'native worker threads', parseThreads)
    .option('--device <device>', 'cpu | auto (the backward pass runs on the CPU only: auto picks it, cuda is refused)', parseDevice, 'cpu')
    .option('--json', 'print one JSON object at the end')
    .action(async (f: Flags) => {
      if (f.task !== 'lm' && f.task !== 'tokens') throw new DpzoError('ERR_TRAIN_OPTION', `--task must be lm or tokens (got '${f.task}')`);
      const device = cpuOnlyDevice(f.device, 'pretrain');
      // a finished run (its completion record written last) is not trained again: it trained from its last checkpoint
      // and wrote the final model over its own
      const finished = f.resume === undefined ? undefined : findFinishedPretrain(f.resume);
      const checkpoint = f.resume === undefined || finished ? undefined : findPretrainCheckpoint(f.resume);
      const resumedStep = checkpoint === undefined ? 0 : readPretrainState(checkpoint).step;
      // a resumed run continues in its own --out (its checkpoints, metrics and final model are there); a checkpoint under
      // another name (copied out of its run) has none, and became the --out: the final model was written into it
      const own = finished?.out ?? (checkpoint === undefined ? undefined : pretrainOutOf(checkpoint));
      if (own !== undefined && f.out !== undefined && resolve(f.out) !== own)
        throw new DpzoError('ERR_TRAIN_OPTION', `--out ${f.out}: a resumed run continues in its own directory ${own} (leave --out out)`);
      if (checkpoint !== undefined && own === undefined && f.out === undefined)
        throw new DpzoError(
          'ERR_TRAIN_OPTION',
          `--resume ${f.resume}: a checkpoint outside its run's directory (not named checkpoint-<step>): give --out, a new directory for the continued run`,
        );
      if (f.resume === undefined && f.out === undefined) throw new DpzoError('ERR_TRAIN_OPTION', "required option '--out <dir>' not specified");
      const outDir = f.out ?? own!;
      // a file there failed with a bare ENOTDIR naming neither --out nor the reason
      if (existsSync(outDir) && !statSync(outDir).isDirectory())
        throw new DpzoError('ERR_EXPORT_EXISTS', `--out ${outDir} exists and is not a directory: choose a new --out directory`);
      if (own === undefined && existsSync(outDir) && readdirSync(outDir).length > 0)
        throw new DpzoError('ERR_EXPORT_EXISTS', `${outDir} is not empty: choose a new --out directory (or continue its run with --resume ${outDir})`);
      const dir = resolveModelDir(f.model);
      const model = await loadModel(dir, { threads: f.threads, dtype: 'float32', device });
      try {
        const task = f.task === 'tokens' ? ({ kind: 'tokens' } as const) : ({ kind: 'lm', textField: f.textField } as const);
        const tokenizer = f.task === 'tokens' ? null : loadTokenizer(dir);
        const common = { task, modelDir: dir, config: model.config, maxLength: f.maxLength, tokenizer };
        const train = loadDataset(f.data, common);
        const evalSet = f.eval ? loadDataset(f.eval, common) : undefined;
        const options: PretrainOptions = {
          train,
          eval: evalSet,
          steps: f.steps,
          batchSize: f.batchSize,
          lr: f.lr,
          warmupSteps: f.warmupSteps,
          weightDecay: f.weightDecay,
          seed: f.seed,
          evalEvery: f.evalEvery,
          checkpointEvery: f.checkpointEvery,
          saveTotalLimit: f.saveTotalLimit,
          outDir,
        };
        if (finished) {
          // pretrain() makes the checks a resume makes (another --steps, --data or --model is refused as for a run not
          // finished) and returns the recorded result: nothing trained, evaluated or written
          const r = (await pretrain(model, { ...options, resume: f.resume })).recorded!;
          process.stderr.write(`dpzo: ${finished.out} is complete (all ${r.steps} steps): nothing to resume; its recorded result:\n`);
          if (f.json) process.stdout.write(JSON.stringify(r) + '\n');
          else printTable(resultRows(r, finished.record.settings.steps));
          return;
        }
        // a run refused before its first step leaves no empty --out behind (no partial output)
        const created = !existsSync(outDir);
        makeDirectories(outDir); // not Node's recursive mkdir: it never returned under procfs (io/mkdirs.ts)
        const metrics = join(outDir, 'pretrain-metrics.jsonl');
        const progress = createProgress(f.steps, { label: 'pretrain (public data, NOT private)', lossLabel: 'train loss', epsilon: false, timed: true });
        const evals: [number, number][] = [];
        // the metrics of the steps after the checkpoint were the interrupted run's: its lines up to the checkpoint stay
        // (and its evaluations on the chart), the rest is written again as the resumed run takes those steps
        let metricsKept = checkpoint === undefined;
        const keepMetrics = () => {
          if (metricsKept) return;
          metricsKept = true;
          evals.push(...keepMetricsUpTo(metrics, resumedStep));
        };
        // Ctrl-C and SIGTERM alike (as train): the step in flight is dropped and the model so far is saved; SIGTERM
        // killed the process, leaving --out without a model and not empty, so a rerun was refused
        const interrupt = listenForInterrupt();
        let report;
        try {
          report = await pretrain(model, {
            ...options,
            signal: interrupt.signal,
            ...(checkpoint === undefined ? {} : { resume: checkpoint }),
            onStep: (s) => {
              keepMetrics();
              progress.update({ step: s.step, steps: s.steps, loss: s.loss, epsilon: NaN });
              appendFileSync(metrics, JSON.stringify({ type: 'step', step: s.step, loss: s.loss, lr: s.lr }) + '\n');
            },
            onEval: (e) => {
              keepMetrics();
              evals.push([e.step, e.result.loss]);
              if (!f.json) progress.note(`eval @ step ${e.step}: ${evalText(e.result)}`);
              appendFileSync(metrics, JSON.stringify({ type: 'eval', step: e.step, ...e.result }) + '\n');
            },
          });
        } catch (e) {
          // the metrics of a run that failed (the weights diverged) are removed with the --out it made, unless a checkpoint was saved:
          // they were left, and the same command again was refused as '--out is not empty'
          if (created && readdirSync(outDir).every((e) => e === 'pretrain-metrics.jsonl')) rmSync(outDir, { recursive: true, force: true });
          throw e;
        } finally {
          progress.stop();
          interrupt.end();
        }
        keepMetrics();
        // staged, then moved into --out with config.json last: a process killed while saving left model.safetensors
        // without config.json, or a tokenizer.json cut short, for a later `dpzo train --model` to load
        const weightsHash = await model.weightsHash();
        const card = pretrainCard({
          report,
          baseDir: dir,
          data: f.data,
          examples: train.examples.length,
          steps: f.steps,
          batchSize: f.batchSize,
          lr: f.lr,
          weightDecay: f.weightDecay,
          weightsHash,
          version: packageVersion(),
        });
        await saveModelInto(model, outDir, { 'README.md': card });
        const chart = join(outDir, 'pretrain-curves.svg');
        writeTextAtomic(
          chart,
          lineChart({
            title: 'dpzo pretrain (public data): loss against the step',
            xLabel: 'step',
            panels: [
              {
                yLabel: 'loss',
                series: [
                  { name: 'train batch', points: report.trainLoss.map((l, i): [number, number] => [i + 1, l]), color: '#1f77b4' },
                  ...(evals.length > 0 ? [{ name: 'held-out', points: evals, color: '#d62728', markers: true }] : []),
                ],
              },
            ],
          }),
        );
        // how to go on: the same command with --resume (a checkpoint at the step it stopped was saved)
        const resume =
          report.stopReason === 'cancelled' && report.checkpoints.length + report.resumedFrom > 0 ? resumeCommand(process.argv.slice(2), outDir) : undefined;
        // the settings (with the starting weights' and the examples' hashes) pretrain() computed for its checkpoints: hashed once
        const { settings, recorded: _recorded, ...made } = report;
        const out: PretrainResult = { ...made, out: outDir, chart, weightsHash, private: false, ...(resume ? { resume } : {}) };
        // last, whole: the run is finished once it is there, and a --resume of it prints it instead of training again
        if (report.stopReason === 'completed') writePretrainResult(outDir, settings!, out);
        if (f.json) process.stdout.write(JSON.stringify(out) + '\n');
        else printTable(resultRows(out, f.steps));
        if (report.stopReason === 'cancelled') process.exitCode = interrupt.exitCode ?? 130;
      } finally {
        model.dispose();
      }
    });
}
