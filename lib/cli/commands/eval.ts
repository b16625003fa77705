// `dpzo eval`: held-out metrics of a model directory, or of a run (its
// trajectory replayed onto the base model first).
import type { Command } from 'commander';

import { loadDataset } from '../../data/load.js';
import { loadTokenizer } from '../../data/tokenizer.js';
import { type RunConfig, TASK_FIELDS, parseRunConfig, taskSpecOf } from '../../dpzo/config.js';
import { METRICS_FILE, readRunMetrics, writeCurves } from '../../dpzo/curves.js';
import { runCharts } from '../../dpzo/curves-text.js';
import { evaluate } from '../../dpzo/evaluate.js';
import { replayRun, runBaseDir } from '../../dpzo/replay.js';
import type { RunRecord } from '../../dpzo/trainer.js';
import { checkRunPlan, readRunJson, replayTrainable } from '../../dpzo/run-record.js';
import { DpzoError } from '../../errors.js';
import { infinityReplacer } from '../../io/json-infinity.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveModelDir } from '../../model/hf-cache.js';
import { loadModel } from '../../model/model.js';
import type { WeightDType } from '../../model/types.js';
import { evalRows, printTable } from '../format.js';
import { addRunOptions } from '../options.js';

// what evaluation reads: the model, the data and how to build examples from it, the compute settings
const EVAL_FIELDS = ['model', 'data', 'evalMax', 'threads', 'device', 'dtype', ...TASK_FIELDS, 'maxBatchTokens'] as const;

export function register(program: Command): void {
  const cmd = program.command('eval').description('evaluate a model (or a run replayed onto it) on a dataset');
  addRunOptions(cmd, {
    only: EVAL_FIELDS,
    help: {
      data: 'the data to evaluate on (.jsonl, .json, .csv, .tsv)',
      device: 'cpu | cuda | cuda:N | auto (default cpu)',
    },
  })
    .option('--run <dir>', 'replay this run directory onto the model first')
    .option('--json', 'print one JSON object')
    .action(async (flags: Record<string, unknown>) => {
      let base: Record<string, unknown> = {};
      let run: RunRecord | undefined;
      if (typeof flags.run === 'string') {
        run = readRunJson<RunRecord>(flags.run);
        checkRunPlan(run, flags.run);
        const recorded = (run.meta as { config?: unknown }).config ?? {};
        if (recorded === null || typeof recorded !== 'object' || Array.isArray(recorded))
          throw new DpzoError('ERR_RUN_CORRUPT', `${join(flags.run, 'run.json')}: field 'meta.config' is not an object`);
        base = { ...(recorded as Record<string, unknown>) };
        delete base.eval;
        delete base.out;
        // the run's training file is private: its loss and size (N, kept private by --sample-rate) are no released
        // values; --data names the file to evaluate on (it evaluated the training file when --data was left out)
        delete base.data;
        // the run's --eval-max sized its own held-out evaluations: it cut this one too (eval --run of 3 examples where
        // the export's eval read all 16); --eval-max given here still applies
        delete base.evalMax;
        // so did its --max-length: the run's cut of its training sequences shortened these (eval --run of a run trained
        // with --max-length 40 printed another loss than eval of its export); --max-length given here still applies
        delete base.maxLength;
        // where the run trained is not where this evaluation runs: --device (default cpu) says that
        delete base.device;
      }
      // the run's own settings checked as the run's (a bad one was blamed on 'options', the flags, naming no file)
      if (run) {
        try {
          parseRunConfig({ model: '-', data: '-', ...base, epsilon: 1, delta: 0.5 }, `${join(flags.run as string, 'run.json')}: meta.config`);
        } catch (e) {
          throw e instanceof DpzoError ? new DpzoError('ERR_RUN_CORRUPT', e.message) : e;
        }
      }
      for (const [k, v] of Object.entries(flags)) if (v !== undefined && k !== 'run' && k !== 'json') base[k] = v;
      // --model, else the base run.json names (as export loads it)
      if (run) base.model = runBaseDir(run, flags.run as string, flags.model as string | undefined);
      // the replay is exact in the run's own dtype only: another --dtype was ignored (a float32 run evaluated as float32)
      if (run && flags.dtype !== undefined && flags.dtype !== run.model.dtype) {
        throw new DpzoError(
          'ERR_TRAIN_OPTION',
          `--dtype ${String(flags.dtype)}: eval --run replays the run in its dtype ${run.model.dtype} (export it, then eval the export with --dtype)`,
        );
      }
      if (run && base.data === undefined) {
        throw new DpzoError('ERR_TRAIN_OPTION', "eval --run needs --data: the held-out file to evaluate on (the run's training file is private)");
      }
      if (base.model === undefined || base.data === undefined || base.task === undefined) {
        throw new DpzoError('ERR_TRAIN_OPTION', 'eval needs --model, --data and --task (or --run with a recorded task)');
      }
      // budget fields are irrelevant to evaluation; satisfy the schema
      const parsed: RunConfig = parseRunConfig({ epsilon: 1, delta: 0.5, ...base }, 'options');
      const c: RunConfig = { ...parsed, model: resolveModelDir(parsed.model) };
      const task = taskSpecOf(c);
      // the run's curves (drawn after the table) read before the model: a damaged metrics.jsonl failed after the whole evaluation
      const metricsFile = run && !flags.json ? join(flags.run as string, METRICS_FILE) : undefined;
      const m = metricsFile && existsSync(metricsFile) ? readRunMetrics(metricsFile) : undefined;
      const trainable = run ? replayTrainable(run) : undefined;
      const model = await loadModel(c.model, {
        threads: c.threads,
        device: c.device ?? 'cpu',
        trainable,
        dtype: (run?.model.dtype as WeightDType | undefined) ?? c.dtype,
      });
      try {
        const tokenizer = task.kind === 'tokens' ? null : loadTokenizer(c.model);
        // the same checks and replay as export (weight decay included), so eval --run equals eval of the export
        const steps = run ? await replayRun(model, flags.run as string) : 0;
        const ds = loadDataset(c.data, { task, modelDir: c.model, config: model.config, maxLength: c.maxLength, limit: c.evalMax, tokenizer });
        const r = await evaluate(model, ds, {
          decode: tokenizer ? (ids) => tokenizer.decode(ids) : undefined,
          eosTokenId: tokenizer?.eosId ?? model.config.eosTokenId,
          maxBatchTokens: c.maxBatchTokens,
        });
        // ±∞ (a loss that overflowed) as 'Infinity', as every other --json output writes it (JSON.stringify wrote null)
        if (flags.json) process.stdout.write(JSON.stringify({ ...r, stepsReplayed: steps }, infinityReplacer) + '\n');
        else {
          const rows = evalRows(r);
          if (run) rows.push(['run', `${flags.run as string} (${steps} steps replayed)`]);
          // the run's own curves (recorded while it trained): held-out metric and ε against the step
          if (m) rows.push(['curves', writeCurves(flags.run as string, run!.plan, metricsFile)]);
          printTable(rows);
          if (m) for (const l of runCharts(m, run!.plan.accountant)) process.stdout.write(l + '\n');
        }
      } finally {
        model.dispose();
      }
    });
}
