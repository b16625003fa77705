// defines: the command-line face of the run configuration — addRunOptions turns
// lib/dpzo/config.ts's RUN_FIELDS table into commander options (flag, description
// with the default, choices, parser), and mergeConfig joins a --config file with
// the flags given into one checked RunConfig. Nothing here names a field: a new
// field is one row of the table.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { z } from 'zod';

import { type FieldSpec, type FlagParse, RUN_FIELDS, type RunConfig, type RunFieldName, parseRunConfig } from '../dpzo/config.js';
import { DpzoError } from '../errors.js';
import { EMPTY_TRAINABLE, splitPatterns } from '../model/trainable.js';
import { parseDevice } from './format.js';
import { parseEpsilon, parseInteger, parseNumber } from './numbers.js';

/** `[" terrible"," great"]` (JSON) or ` terrible, great` (commas; spaces kept as written). */
export function parseLabelWords(v: string): string[] | Record<string, string> {
  const t = v.trim();
  if (t.startsWith('[') || t.startsWith('{')) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch {
      throw new InvalidArgumentError('is not valid JSON');
    }
    // the schema's union said only "labelWords: Invalid input"
    const words = Array.isArray(v) ? v : v !== null && typeof v === 'object' ? Object.values(v) : [];
    if (words.some((w) => typeof w !== 'string')) throw new InvalidArgumentError('must be a JSON array of strings or an object of strings (label → word)');
    return v as string[] | Record<string, string>;
  }
  return v.split(',');
}

/** `--trainable a,b`: kept as written; one with no pattern ('', ',') is refused naming the flag (it trained every tensor). */
export function parseTrainable(v: string): string {
  if (splitPatterns(v).length === 0) throw new InvalidArgumentError(EMPTY_TRAINABLE);
  return v;
}

const PARSERS: Record<FlagParse, ((v: string) => unknown) | null> = {
  string: null,
  boolean: null,
  number: parseNumber,
  epsilon: parseEpsilon,
  integer: parseInteger,
  labelWords: parseLabelWords,
  device: parseDevice,
  trainable: parseTrainable,
};

/** `--batch-size` for batchSize (commander camel-cases it back). */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`;
}

/** 1e-6 and 1e-3 as written in the docs, not 0.000001. */
function formatDefault(v: unknown): string {
  return typeof v === 'number' && v !== 0 && Math.abs(v) < 0.01 ? v.toExponential() : String(v);
}

/** The commander option of one table row. */
export function optionOf(spec: FieldSpec, help?: string): Option {
  const f = spec.flag!;
  const text = help ?? f.description;
  const description = spec.default !== undefined ? `${text} (default ${formatDefault(spec.default)})` : text;
  const opt = new Option(f.flags, description);
  if (spec.schema instanceof z.ZodEnum) opt.choices(spec.schema.options as string[]);
  const parse = PARSERS[f.parse];
  if (parse) opt.argParser(parse);
  return opt;
}

/**
 * The table's options: the ones marked trainOnly or not, or exactly the fields `only` names (a command
 * lists and accepts only the options it reads: `dpzo eval --epsilon 3` is a usage error, not ignored).
 */
export function addRunOptions(
  cmd: Command,
  opts: { trainOnly?: boolean; only?: readonly RunFieldName[]; help?: Partial<Record<RunFieldName, string>> } = {},
): Command {
  for (const [key, spec] of Object.entries(RUN_FIELDS) as [RunFieldName, FieldSpec][]) {
    if (!spec.flag) continue;
    if (opts.only ? !opts.only.includes(key) : (spec.flag.trainOnly ?? false) !== (opts.trainOnly ?? false)) continue;
    // a command that reads a field otherwise than train (eval's --data is the file evaluated) says so in its help
    cmd.addOption(optionOf(spec, opts.help?.[key]));
  }
  return cmd;
}

/**
 * Names a run field where the user gave it: `--batch-size` (its flag, or a field given nowhere: the flag is how to give it) or,
 * when the value came from the config file, `--config FILE: batchSize` (`leading`: the subject of a message) or `batchSize`
 * (a field the rest of a message names).
 */
export type FieldNamer = (field: string, leading: boolean) => string;

/** A run configuration and how to name its fields in a message ({@link mergeConfigNamed}). */
export interface NamedConfig {
  config: RunConfig;
  nameOf: FieldNamer;
}

/** Config file values, overridden by flags given on the command line; the table's required fields must be present. */
export function mergeConfig(cmd: Command, flags: Record<string, unknown>): RunConfig {
  return mergeConfigNamed(cmd, flags).config;
}

/** {@link mergeConfig}, with the namer that names each field by its flag or by the config file that set it. */
export function mergeConfigNamed(cmd: Command, flags: Record<string, unknown>): NamedConfig {
  let base: Record<string, unknown> = {};
  const file = typeof flags.config === 'string' ? flags.config : undefined;
  if (file !== undefined) {
    let parsed: unknown;
    try {
      // a byte order mark (Windows Notepad's UTF-8) was refused as "Unexpected token '\uFEFF'", an invisible character; the data files take it
      parsed = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
    } catch (e) {
      throw new DpzoError('ERR_TRAIN_OPTION', `--config ${file}: ${(e as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new DpzoError('ERR_TRAIN_OPTION', `--config ${file}: must be a JSON object`);
    base = { ...(parsed as Record<string, unknown>) };
  }
  const fromFile = new Set(Object.keys(base));
  for (const [k, v] of Object.entries(flags)) {
    if (!(k in RUN_FIELDS) || v === undefined) continue;
    if (cmd.getOptionValueSource(k) === 'cli' || !(k in base)) {
      base[k] = v;
      fromFile.delete(k);
    }
  }
  for (const [k, spec] of Object.entries(RUN_FIELDS) as [string, FieldSpec][]) {
    if (spec.required && base[k] === undefined) throw new DpzoError('ERR_TRAIN_OPTION', `${flagName(k)} is required (as a flag or in --config)`);
  }
  // a value is named where it came from: its flag (it read "options: clip: Too small", naming no flag), or the config file
  const nameOf: FieldNamer = (field, leading) => (!fromFile.has(field) ? flagName(field) : leading ? `--config ${file}: ${field}` : field);
  const config = parseRunConfig(base, (path) => {
    const [key, ...rest] = path.split('.');
    return fromFile.has(key!) ? nameOf(key!, true) + (rest.length ? `.${rest.join('.')}` : '') : [flagName(key!), ...rest].join('.');
  });
  return { config, nameOf };
}

/** The trainer's runDir is the run configuration's out (prepareRun passes one as the other). */
const FIELD_OF_OPTION: Record<string, RunFieldName> = { runDir: 'out' };

/**
 * A refusal of the training plan (a DpzoError carrying `field`: "batchSize (1000) exceeds …") with the options named as the user
 * gave them, by `nameOf` ("--batch-size (1000) exceeds …"): the library names its options, a `dpzo train` user typed flags or a
 * config file. Any other error is returned as it is.
 */
export function nameFields(e: unknown, nameOf: FieldNamer): unknown {
  if (!(e instanceof DpzoError) || e.field === undefined || !e.message.startsWith(e.field)) return e;
  const fieldOf = (option: string): string | undefined => {
    const k = FIELD_OF_OPTION[option] ?? option;
    return k in RUN_FIELDS ? k : undefined;
  };
  const subject = fieldOf(e.field);
  if (subject === undefined) return e;
  let rest = e.message.slice(e.field.length);
  for (const option of e.mentions ?? []) {
    const k = fieldOf(option);
    if (k !== undefined) rest = rest.replace(new RegExp(`\\b${option}\\b`, 'g'), nameOf(k, false));
  }
  return new DpzoError(e.code, nameOf(subject, true) + rest, { cause: e });
}
