// defines: prepareRun — everything `dpzo train` does before the first step, as
// an API: load the model and the data of a RunConfig, check the task against
// the model (tokenizer, label words, template) and build the DPZOTrainer. Also
// loadRunConfig for --resume (the config kept in run.json).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { validateTemplate } from '../data/tasks.js';
import { loadDataset } from '../data/load.js';
import { hasTokenizer, loadTokenizer, type TextTokenizer } from '../data/tokenizer.js';
import { DataError } from '../data/errors.js';
import { DpzoError } from '../errors.js';
import { resolveModelDir } from '../model/hf-cache.js';
import { cpuOnlyDevice } from '../model/device.js';
import { loadModel } from '../model/model.js';
import type { LoadOptions, Model } from '../model/types.js';
import { DEFAULT_BATCH_SIZE, type RunConfig, TASK_FIELDS, TRAIN_KEYS, type TrainKey, parseRunConfig, taskSpecOf, trainablePatterns } from './config.js';
import { type RunRecord, readRunJson } from './run-record.js';
import { DPZOTrainer } from './trainer.js';

/**
 * What {@link prepareRun} returns: the run's config, its loaded model, the trainer built from both, and the tokenizer (null for a `tokens` task). The caller
 * owns the model: call `model.dispose()` when done.
 */
export interface PreparedRun {
  /** The configuration the run was prepared from. */
  config: RunConfig;
  /** The loaded model (with the config's trainable patterns, threads and dtype). */
  model: Model;
  /** The trainer, not yet started: call `trainer.plan()` to see σ and the steps, `trainer.train()` to run. */
  trainer: DPZOTrainer;
  /** The model's tokenizer (for decoding generations), or null for a `tokens` task. */
  tokenizer: TextTokenizer | null;
}

/**
 * Everything `dpzo train` does before the first step, as an API: checks the model directory, loads the model and the training (and evaluation) data of a
 * {@link RunConfig}, checks the task against the model (tokenizer, template, label words) and builds the {@link DPZOTrainer}. Unset fields take the defaults
 * of the config table (batch size 16, or the whole set when smaller; max length 256 tokens). On any error after the model is loaded the model is disposed.
 *
 * @param config A run configuration (e.g. from {@link parseRunConfig} or {@link loadRunConfig}).
 * @param opts `resume`: continue the run in `config.out`; `loadModel`: a replacement loader (tests); `dpzoHome`: where the training file's
 * dataset ledger lives (TrainOptions.dpzoHome; default $DPZO_HOME, else ~/.dpzo).
 * @throws {@link DpzoError} `ERR_TRAIN_OPTION` (a field that is not one of RunConfig's or out of its range, as {@link parseRunConfig} says; method dpsgd on a CUDA device), `ERR_CONFIG_MISSING` (no model directory / config.json), {@link DataError} (`ERR_NO_TOKENIZER`, `ERR_DATA_*` naming the file and
 * row), and the errors of {@link loadModel}.
 * @example
 * ```ts
 * import { parseRunConfig, prepareRun } from 'dpzo';
 *
 * const config = parseRunConfig(
 *   { model: 'models/tiny-gpt2', data: 'train.jsonl', task: 'classification', epsilon: 3, delta: 1e-5, steps: 200, out: 'runs/a' },
 *   'my config',
 * );
 * const { model, trainer } = await prepareRun(config);
 * try {
 *   const report = await trainer.train();
 *   console.log(report.epsilon);
 * } finally {
 *   model.dispose();
 * }
 * ```
 */
export async function prepareRun(config: RunConfig, opts: { resume?: boolean; loadModel?: typeof loadModel; dpzoHome?: string } = {}): Promise<PreparedRun> {
  // a config built in code has not been through the schema: a misspelt or mistyped field was ignored
  config = parseRunConfig(config, 'prepareRun config');
  // a Hugging Face id (org/name) becomes its cached snapshot here, so run.json records the directory trained from
  // the device is recorded as it was asked for (default 'cpu'): run.json says where the run started, --resume reuses it
  const c = { ...config, model: resolveModelDir(config.model), device: config.device ?? 'cpu' };
  // an option that cannot work (DP-SGD on a CUDA device) is refused before any file is read
  const load = loadOptionsOf(c);
  const task = taskSpecOf(c);
  // cheap checks first: no model load for a config that cannot work; a wrong --model is named as such
  // (it used to surface as "has no tokenizer.json")
  if (!existsSync(join(c.model, 'config.json'))) {
    const why = existsSync(c.model) ? 'it has no config.json' : 'no such directory';
    throw new DpzoError('ERR_CONFIG_MISSING', `${c.model} is not a model directory: ${why}`);
  }
  if (task.kind === 'classification') validateTemplate(task.template ?? '{sentence}', task.textField);
  if (task.kind !== 'tokens' && !hasTokenizer(c.model)) {
    throw new DataError(
      'ERR_NO_TOKENIZER',
      `${c.model} has no tokenizer.json: the ${task.kind} task needs one (use --task tokens with pre-tokenized input_ids instead)`,
    );
  }
  if (opts.resume && c.out) checkResumeData(c, c.out);
  const trainable = load.trainable;
  const model = await (opts.loadModel ?? loadModel)(c.model, load);
  try {
    const tokenizer = task.kind === 'tokens' ? null : loadTokenizer(c.model);
    const common = { task, modelDir: c.model, config: model.config, maxLength: c.maxLength, tokenizer };
    const train = loadDataset(c.data, { ...common, limit: c.limit });
    const evalSet = c.eval ? loadDataset(c.eval, { ...common, limit: c.evalMax }) : undefined;
    // the trainer's fields are copied by the config table's TRAIN_KEYS: a new field needs no edit here
    const fromConfig = Object.fromEntries(TRAIN_KEYS.filter((k) => c[k] !== undefined).map((k) => [k, c[k]])) as Pick<RunConfig, TrainKey>;
    const trainer = new DPZOTrainer(model, {
      ...fromConfig,
      train,
      eval: evalSet,
      decode: tokenizer ? (ids) => tokenizer.decode(ids) : undefined,
      eosTokenId: tokenizer?.eosId ?? model.config.eosTokenId,
      // with --sample-rate the divisor B is the user's public choice, never a function of N
      batchSize: c.batchSize ?? (c.sampleRate !== undefined ? Number.NaN : Math.min(DEFAULT_BATCH_SIZE, train.examples.length)),
      runDir: c.out,
      resume: opts.resume,
      ...(opts.dpzoHome !== undefined ? { dpzoHome: opts.dpzoHome } : {}),
      trainable,
      meta: { config: absolutePaths(c) },
    });
    return { config: c, model, trainer, tokenizer };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * How a run configuration loads its model: its threads, dtype, trainable patterns and device. DP-SGD's backward pass runs on the CPU only: there `'auto'`
 * becomes `'cpu'` and a CUDA device is refused ({@link cpuOnlyDevice}).
 *
 * @param c The run configuration.
 * @returns The options for {@link loadModel}.
 * @throws {@link DpzoError} `ERR_TRAIN_OPTION` for `method: 'dpsgd'` with a CUDA device.
 */
export function loadOptionsOf(c: RunConfig): LoadOptions & { trainable?: string[] } {
  const device = c.method === 'dpsgd' ? dpsgdDevice(c.device) : (c.device ?? 'cpu');
  return { threads: c.threads, trainable: trainablePatterns(c.trainable), dtype: c.dtype, device };
}

/** The CPU for DP-SGD; its refusal of a CUDA device ("device 'cuda' cannot run method dpsgd") carries the options it names, as the plan's refusals do. */
function dpsgdDevice(device: RunConfig['device']): 'cpu' {
  try {
    return cpuOnlyDevice(device, 'method dpsgd');
  } catch (e) {
    if (!(e instanceof DpzoError && e.code === 'ERR_TRAIN_OPTION' && e.field === undefined)) throw e;
    throw new DpzoError(e.code, e.message, { cause: e, field: 'device', mentions: ['method', 'device'] });
  }
}

/**
 * The fields that turn the training file into examples. The plan does not carry them (with a fixed sampling rate not even N),
 * nor does the file's SHA-256: a resume given another limit, maximum length or task field trained the rest of the run on other
 * examples than its start, in silence. (--resume takes them from run.json; the API takes the config it is given.)
 */
const DATA_FIELDS = [...TASK_FIELDS, 'limit'] as const satisfies readonly (keyof RunConfig)[];

/** Refuses to resume the run in `runDir` with data fields other than its recorded config's (none recorded: nothing to compare). */
function checkResumeData(c: RunConfig, runDir: string): void {
  if (!existsSync(join(runDir, 'run.json'))) return; // the trainer names a missing run
  const recorded = (readRunJson<RunRecord>(runDir).meta as { config?: unknown }).config;
  if (recorded === undefined) return;
  const was = parseRunConfig(recorded, `${runDir}/run.json`);
  for (const k of DATA_FIELDS) {
    if (JSON.stringify(c[k]) !== JSON.stringify(was[k]))
      throw new DpzoError(
        'ERR_RUN_MISMATCH',
        `cannot resume ${resolve(runDir)}: ${k} is ${JSON.stringify(c[k]) ?? 'unset'}, the run has ${JSON.stringify(was[k]) ?? 'unset'} (its examples would differ from the run's)`,
      );
  }
}

/** Paths in run.json are absolute, so --resume works from any working directory. */
function absolutePaths(c: RunConfig): RunConfig {
  return { ...c, model: resolve(c.model), data: resolve(c.data), ...(c.eval ? { eval: resolve(c.eval) } : {}), ...(c.out ? { out: resolve(c.out) } : {}) };
}

/** The RunConfig a run directory was started with (for --resume). */
export function loadRunConfig(runDir: string): RunConfig {
  const run = readRunJson<RunRecord>(runDir);
  const cfg = (run.meta as { config?: unknown }).config;
  if (cfg === undefined) throw new DpzoError('ERR_RUN_CORRUPT', `${runDir}: run.json has no recorded config (was it made through the API?)`);
  return { ...parseRunConfig(cfg, `${runDir}/run.json`), out: resolve(runDir) };
}
