// defines: the one configuration schema of a training run — RUN_FIELDS, a table
// with one row per field: its zod type, whether it is required, its default,
// whether the trainer reads it (TrainOptions), and its command-line flag with a
// description. Derived from it: RunConfig and its zod schema (`dpzo train` flags,
// `--config FILE`, and what run.json keeps for --resume), TRAIN_KEYS and
// TRAIN_DEFAULTS (lib/dpzo/options.ts), and the commander options
// (lib/cli/options.ts). Also taskSpecOf, the data task a config implies.
import { z } from 'zod';

import type { TaskSpec } from '../data/tasks.js';
import { DpzoError } from '../errors.js';
import { DEVICE_CHOICES, isDevice } from '../model/device.js';
import { EMPTY_TRAINABLE, splitPatterns } from '../model/trainable.js';
import type { Device } from '../model/types.js';

/** How a flag's text becomes a value (a boolean flag takes no argument). */
export type FlagParse = 'string' | 'number' | 'epsilon' | 'integer' | 'labelWords' | 'boolean' | 'device' | 'trainable';

export interface FlagSpec {
  /** commander's flag syntax, e.g. '--batch-size <b>'. */
  flags: string;
  description: string;
  parse: FlagParse;
  /** Only `dpzo train` has it (not `dpzo eval`). */
  trainOnly?: boolean;
}

export interface FieldSpec<S extends z.ZodType = z.ZodType> {
  schema: S;
  required: boolean;
  /** Applied by makePlan when the field is absent (shown in --help). */
  default?: unknown;
  /** Read by the trainer: part of TrainOptions. */
  train: boolean;
  flag: FlagSpec | null;
}

const num = z.number().finite();
function field<S extends z.ZodType, const T extends boolean = false, const R extends boolean = false, const D extends z.infer<S> | undefined = undefined>(
  schema: S,
  flag: FlagSpec | null,
  opts: { train?: T; required?: R; default?: D } = {},
): FieldSpec<S> & { train: T; required: R; default: D } {
  return { schema, flag, train: (opts.train ?? false) as T, required: (opts.required ?? false) as R, default: opts.default as D };
}

const flag = (flags: string, description: string, parse: FlagParse = 'string', trainOnly = false): FlagSpec => ({
  flags,
  description,
  parse,
  ...(trainOnly ? { trainOnly } : {}),
});

/** Every field of a run, in the order of run.json's config and of `dpzo train --help`. */
export const RUN_FIELDS = {
  model: field(z.string().min(1), flag('--model <dir>', 'Hugging Face model directory'), { required: true }),
  data: field(z.string().min(1), flag('--data <file>', 'training data (.jsonl, .json, .csv, .tsv)'), { required: true }),
  task: field(z.enum(['lm', 'classification', 'tokens']), flag('--task <kind>', 'lm | classification | tokens'), { required: true }),
  eval: field(z.string().min(1), flag('--eval <file>', 'held-out evaluation data')),
  evalPublic: field(z.boolean(), flag('--eval-public', 'declare the evaluation set public (no warning)', 'boolean'), { train: true }),
  privateDiagnostics: field(
    z.boolean(),
    flag(
      '--private-diagnostics',
      'also print and log statistics of the private batches (loss, batch size, clipping); they are NOT covered by the privacy guarantee',
      'boolean',
    ),
    { train: true },
  ),
  evalEvery: field(z.number().int().nonnegative(), flag('--eval-every <k>', 'evaluate every k steps (default: before and after only)', 'integer'), {
    train: true,
  }),
  evalMax: field(z.number().int().positive(), flag('--eval-max <n>', 'evaluate on the first n examples', 'integer')),
  epsilon: field(
    // 'inf' (or Infinity): the non-private baseline, no noise, no clipping unless --clip is given
    z.preprocess(
      (v) => (typeof v === 'string' && /^(\+?inf(inity)?)$/i.test(v) ? Infinity : v),
      z.union([num.positive(), z.literal(Infinity)], { error: "must be a positive number or 'inf'" }),
    ),
    flag('--epsilon <ε>', "privacy budget ε ('inf': a NOT PRIVATE baseline without noise, to measure the cost of privacy)", 'epsilon'),
    { required: true, train: true },
  ),
  delta: field(num.positive().lt(1), flag('--delta <δ>', 'privacy budget δ', 'number'), { required: true, train: true }),
  datasetBudget: field(
    num.positive(),
    flag(
      '--dataset-budget <ε>',
      "ε budget of the training file over all runs on it (at this run's δ), kept in its dataset ledger; fixed by the first run that sets it",
      'number',
      true,
    ),
    { train: true },
  ),
  accountant: field(
    z.enum(['pld', 'prv', 'rdp']),
    flag('--accountant <a>', "accountant that calibrates and enforces the budget (prv: Opacus' name for the same PLD/PRV accounting)"),
    { train: true, default: 'pld' },
  ),
  mechanism: field(z.enum(['gaussian', 'laplace']), flag('--mechanism <m>', 'noise mechanism'), { train: true, default: 'gaussian' }),
  noiseMultiplier: field(
    num.positive(),
    flag('--noise-multiplier <σ>', 'explicit σ instead of calibration (must fit the budget; noise std σ·C on the clipped sum)', 'number'),
    { train: true },
  ),
  laplaceScale: field(num.positive(), flag('--laplace-scale <b>', 'explicit Laplace scale instead of calibration', 'number'), { train: true }),
  sampleRate: field(
    num.positive().max(1),
    flag(
      '--sample-rate <q>',
      'Poisson sampling rate fixed a priori: the dataset size N is then never used in the release nor recorded (add/remove DP); needs --batch-size B as the public divisor',
      'number',
    ),
    { train: true },
  ),
  batchSize: field(
    num.positive(),
    flag(
      '--batch-size <b>',
      'expected batch size: alone, q = B/N is derived and N is treated as public; with --sample-rate, the public divisor B ≈ q·N (default 16)',
      'number',
    ),
    { train: true },
  ),
  steps: field(z.number().int().positive(), flag('--steps <n>', 'number of steps (at most 100000000)', 'integer'), { train: true }),
  epochs: field(num.positive(), flag('--epochs <e>', 'epochs (steps = ceil(e·N / batch size))', 'number'), { train: true }),
  method: field(
    z.enum(['dpzo', 'dpsgd']),
    flag('--method <m>', 'dpzo: zeroth-order (two forwards per direction); dpsgd: DP-SGD (Abadi et al. 2016) through the backward pass (float32, CPU)'),
    { train: true, default: 'dpzo' },
  ),
  optimizer: field(z.enum(['sgd', 'adam']), flag('--optimizer <o>', 'dpsgd: the optimizer the released gradient drives (default sgd)'), { train: true }),
  clipRegime: field(
    z.enum(['ghost', 'per-example']),
    flag('--clip-regime <r>', 'dpsgd: per-example norms by ghost clipping (no per-example gradients held) or per-example gradients (default ghost)'),
    { train: true },
  ),
  microBatch: field(
    z.number().int().positive(),
    flag('--micro-batch <n>', 'dpsgd --clip-regime per-example only: gradients held at once (default 8; memory only)', 'integer'),
    { train: true },
  ),
  checkpointEvery: field(
    z.number().int().positive(),
    flag('--checkpoint-every <k>', 'dpsgd: save the trained weights (and optimizer state) every k steps and at the end (default 1)', 'integer'),
    { train: true },
  ),
  lr: field(num.nonnegative(), flag('--lr <η>', 'learning rate (dpsgd: default 1e-2 with sgd, 1e-3 with adam)', 'number'), { train: true, default: 1e-6 }),
  schedule: field(z.enum(['constant', 'linear', 'cosine']), flag('--schedule <kind>', 'learning-rate schedule'), { train: true, default: 'constant' }),
  warmupSteps: field(z.number().int().nonnegative(), flag('--warmup-steps <n>', 'linear warmup steps', 'integer'), { train: true }),
  zoEps: field(num.positive(), flag('--zo-eps <ε>', 'perturbation scale ε_zo', 'number'), { train: true, default: 1e-3 }),
  clip: field(
    num.positive(),
    flag('--clip <C>', "per-example clipping threshold C (dpsgd: the L2 norm of an example's whole gradient, Opacus' max_grad_norm)", 'number'),
    { train: true, default: 1 },
  ),
  directions: field(z.number().int().positive(), flag('--directions <n>', 'directions per step', 'integer'), { train: true, default: 1 }),
  weightDecay: field(
    num.nonnegative(),
    flag('--weight-decay <λ>', 'decoupled weight decay λ: θ ← (1 − ηλ)θ on weight matrices, never biases or norms', 'number'),
    { train: true, default: 0 },
  ),
  trainable: field(
    z.union([z.string(), z.array(z.string())]).refine((t) => splitPatterns(t).length > 0, { message: EMPTY_TRAINABLE }),
    flag('--trainable <patterns>', "comma-separated tensor name patterns ('*' wildcard or substring)", 'trainable'),
  ),
  out: field(z.string().min(1), flag('--out <dir>', 'run directory: run.json, trajectory.jsonl, ledger.jsonl, metrics.jsonl', 'string', true)),
  threads: field(z.number().int().positive(), flag('--threads <n>', 'native worker threads', 'integer')),
  device: field(
    z.custom<Device>(isDevice, { message: `must be ${DEVICE_CHOICES}` }),
    flag(
      '--device <device>',
      'cpu | cuda | cuda:N | auto (default cpu; dpsgd runs on the CPU only; recorded in run.json: --resume keeps it unless --device is given)',
      'device',
    ),
  ),
  dtype: field(z.enum(['float32', 'float16', 'bfloat16']), flag('--dtype <t>', 'convert weights on load')),
  template: field(z.string(), flag('--template <t>', 'classification prompt template (default "{sentence} It was")')),
  labelWords: field(
    // a config file gives the words as JSON (the flag's comma-separated form is a string): zod's own message for the union
    // was "Invalid input", naming no reason
    z.union([z.array(z.string()), z.record(z.string(), z.string())], {
      error: "must be a JSON array of strings or an object of strings (label → word); the comma-separated form is only the flag's",
    }),
    flag('--label-words <words>', 'label words: JSON array/object or comma-separated (default " terrible, great")', 'labelWords'),
  ),
  textField: field(z.string(), flag('--text-field <name>', 'text field (classification default "sentence", lm default "text")')),
  labelField: field(z.string(), flag('--label-field <name>', 'label field (default "label")')),
  promptField: field(z.string(), flag('--prompt-field <name>', 'lm prompt field (default "prompt")')),
  completionField: field(z.string(), flag('--completion-field <name>', 'lm completion field (default "completion")')),
  inputField: field(z.string(), flag('--input-field <name>', 'tokens task: ids field (default "input_ids")')),
  labelsField: field(z.string(), flag('--labels-field <name>', 'tokens task: labels field (default "labels")')),
  maxLength: field(z.number().int().positive(), flag('--max-length <n>', 'longest sequence in tokens (default 256)', 'integer')),
  limit: field(z.number().int().positive(), flag('--limit <n>', 'use the first n training examples', 'integer')),
  maxBatchTokens: field(z.number().int().positive(), flag('--max-batch-tokens <n>', 'most tokens per forward call', 'integer'), { train: true }),
  constantTimeSteps: field(
    z.number().int().positive(),
    flag(
      '--constant-time-steps <slots>',
      'every step evaluates this many example slots of --max-length tokens, padded with dummies or cut at the bound (the cut doubles the sensitivity: docs/privacy.md)',
      'integer',
    ),
    { train: true },
  ),
} as const;

type Fields = typeof RUN_FIELDS;
export type RunFieldName = keyof Fields;
type Shape = { [K in RunFieldName]: Fields[K]['required'] extends true ? Fields[K]['schema'] : z.ZodOptional<Fields[K]['schema']> };

function shape(): Shape {
  const out: Record<string, z.ZodType> = {};
  for (const [k, f] of Object.entries(RUN_FIELDS) as [string, FieldSpec][]) out[k] = f.required ? f.schema : f.schema.optional();
  return out as Shape;
}

export const RunConfigSchema = z.object(shape()).strict();

/**
 * One training run's configuration, as `dpzo train` flags, a `--config FILE` and run.json (for `--resume`) give it; validated by {@link parseRunConfig}. Its
 * fields, units and defaults are those of the table `RUN_FIELDS` (lib/dpzo/config.ts, the same text as `dpzo train --help`):
 * - `model` (required): Hugging Face model directory (config.json, model.safetensors, tokenizer.json), or a Hub id (`org/name[@revision]`) in the local cache.
 * - `data` (required): training data file (.jsonl, .json, .csv, .tsv).
 * - `task` (required): `'lm'`, `'classification'` or `'tokens'`.
 * - `eval`: held-out evaluation data file; `evalMax`: evaluate on its first n examples.
 * - `out`: run directory (run.json, trajectory.jsonl, ledger.jsonl, metrics.jsonl).
 * - `threads`: native worker threads (default 0: one per CPU the process may use); `dtype`: convert the weights on load (`float32`, `float16`, `bfloat16`).
 * - `device`: where the model runs, `'cpu'` (default), `'cuda'`, `'cuda:N'` or `'auto'` (see {@link Device}); `method: 'dpsgd'` runs on the CPU only (`'auto'`
 *   picks it, a CUDA device is refused). run.json records it, and `--resume` uses it unless given another: a DP-ZO update is the same bits on either backend.
 * - `trainable`: tensor-name patterns ('*' wildcard or substring), an array or a comma-separated string (default: all tensors).
 * - `template`, `labelWords`, `textField`, `labelField`, `promptField`, `completionField`, `inputField`, `labelsField`: how rows become examples (see {@link TaskSpec}; defaults `"{sentence} It was"`, `[" terrible", " great"]`, `sentence`/`text`, `label`, `prompt`, `completion`, `input_ids`, `labels`).
 * - `maxLength`: longest sequence in tokens (default 256, at most the model's positions); `limit`: use the first n training examples.
 * - `batchSize`: expected batch size B (default 16, or N when smaller); with `sampleRate`, the public divisor B ≈ q·N (then required).
 * - The privacy and optimisation fields read by the trainer (`method`, `optimizer`, `clipRegime`, `microBatch`, `checkpointEvery`, `epsilon`, `delta`, `accountant`, `mechanism`, `noiseMultiplier`, `laplaceScale`, `sampleRate`, `steps`, `epochs`, `lr`, `schedule`, `warmupSteps`, `zoEps`, `clip`, `directions`, `weightDecay`, `evalEvery`, `evalPublic`, `privateDiagnostics`, `datasetBudget`, `maxBatchTokens`, `constantTimeSteps`): see {@link TrainOptions}.
 */
export type RunConfig = z.infer<typeof RunConfigSchema>;

/** The fields that turn a data file into examples of a task (with `limit`, which of them): train, eval and resume read them alike. */
export const TASK_FIELDS = [
  'task',
  'template',
  'labelWords',
  'textField',
  'labelField',
  'promptField',
  'completionField',
  'inputField',
  'labelsField',
  'maxLength',
] as const satisfies readonly RunFieldName[];

/** The fields the trainer reads, by name. */
export type TrainKey = { [K in RunFieldName]: Fields[K]['train'] extends true ? K : never }[RunFieldName];
export const TRAIN_KEYS = (Object.keys(RUN_FIELDS) as RunFieldName[]).filter((k) => RUN_FIELDS[k].train) as TrainKey[];

type Defaulted = { [K in RunFieldName]: Fields[K]['default'] extends undefined ? never : K }[RunFieldName];
/** Defaults the plan applies, from the table. */
export const TRAIN_DEFAULTS = Object.fromEntries(
  (Object.keys(RUN_FIELDS) as RunFieldName[]).filter((k) => RUN_FIELDS[k].default !== undefined).map((k) => [k, (RUN_FIELDS[k] as FieldSpec).default]),
) as { [K in Defaulted]-?: Exclude<RunConfig[K], undefined> };

/** The expected batch size when none is given: 16, or the whole set when smaller. */
export const DEFAULT_BATCH_SIZE = 16;

/**
 * " (got 0)" for a number refused as out of range, so that the message says what was wrong with the value given ("Too small:
 * expected number to be >0" alone did not); the other refusals already say what the value must be.
 */
function gotText(issue: { code: string; path: PropertyKey[] }, value: unknown): string {
  if (issue.code !== 'too_small' && issue.code !== 'too_big') return '';
  let v: unknown = value;
  for (const k of issue.path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return typeof v === 'number' ? ` (got ${v})` : '';
}

/**
 * Validates an untrusted value (a parsed config file, run.json's config) as a {@link RunConfig}: known fields only, each of its type and range. No defaults
 * are filled in (the plan applies them).
 *
 * @param value The parsed JSON.
 * @param where Names the source in the error message (e.g. the file), or names the invalid field's source itself (given its
 * dotted path: the CLI names a flag as the flag).
 * @throws {@link DpzoError} `ERR_TRAIN_OPTION`: `<where>: <field>: <reason>` for the first invalid field.
 */
export function parseRunConfig(value: unknown, where: string | ((path: string) => string)): RunConfig {
  const r = RunConfigSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.join('.') || '(root)';
    // a required field left out: zod's message for it depends on the field's type ("Invalid input" for a union)
    const top = issue.path[0];
    const missing =
      issue.path.length === 1 &&
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      (value as Record<PropertyKey, unknown>)[top!] === undefined;
    const at = typeof where === 'string' ? `${where}: ${path}` : where(path);
    throw new DpzoError('ERR_TRAIN_OPTION', `${at}: ${missing ? 'is required (missing)' : issue.message}${gotText(issue, value)}`);
  }
  return r.data;
}

/** The trainable patterns of a run (undefined: every tensor; an empty selection was refused by the schema). */
export function trainablePatterns(t: RunConfig['trainable']): string[] | undefined {
  if (t === undefined) return undefined;
  const out = splitPatterns(t);
  if (out.length === 0) throw new DpzoError('ERR_TRAIN_OPTION', `trainable: ${EMPTY_TRAINABLE}`);
  return out;
}

export function taskSpecOf(c: RunConfig): TaskSpec {
  if (c.task === 'tokens') return { kind: 'tokens', inputField: c.inputField, labelsField: c.labelsField };
  if (c.task === 'classification')
    return { kind: 'classification', textField: c.textField, labelField: c.labelField, template: c.template, labelWords: c.labelWords };
  return { kind: 'lm', textField: c.textField, promptField: c.promptField, completionField: c.completionField };
}
