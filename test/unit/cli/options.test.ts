// One config schema (issue 8.3): the RUN_FIELDS table is the only list of run fields. The
// zod schema, the commander options of `dpzo train` / `dpzo eval` (flag, description with the
// default, choices, parser), the trainer's fields and the plan's defaults all come from it.
import { Command } from 'commander';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { packageVersion } from '../../../lib/package-info.js';
import { addRunOptions, flagName, mergeConfig } from '../../../lib/cli/options.js';
import { RUN_FIELDS, RunConfigSchema, TRAIN_DEFAULTS, TRAIN_KEYS, type FieldSpec } from '../../../lib/dpzo/config.js';
import { makePlan } from '../../../lib/dpzo/index.js';
import { tokenDataset } from '../../helpers/fake-model.js';

const rows = Object.entries(RUN_FIELDS) as [string, FieldSpec][];

function trainCommand(): Command {
  const cmd = new Command('train').exitOverride();
  addRunOptions(addRunOptions(cmd), { trainOnly: true }).option('--config <file>');
  return cmd;
}

describe('the config table', () => {
  it('is the schema: the same keys, required exactly where the table says', () => {
    expect(Object.keys(RunConfigSchema.shape)).toEqual(rows.map(([k]) => k));
    for (const [k, spec] of rows) expect(RunConfigSchema.shape[k as keyof typeof RunConfigSchema.shape] instanceof z.ZodOptional, k).toBe(!spec.required);
  });

  it('gives every field a commander option named after it, with its default in the description and its enum as choices', () => {
    const cmd = trainCommand();
    const byKey = new Map(cmd.options.map((o) => [o.attributeName(), o]));
    for (const [k, spec] of rows) {
      const o = byKey.get(k);
      expect(o, k).toBeDefined();
      expect(o!.long).toBe(flagName(k));
      if (spec.default !== undefined) expect(o!.description, k).toMatch(/\(default [^)]+\)$/);
      if (spec.schema instanceof z.ZodEnum) expect(o!.argChoices).toEqual(spec.schema.options);
      expect(o!.isBoolean(), k).toBe(spec.flag!.parse === 'boolean');
    }
    expect(byKey.get('lr')!.description).toBe('learning rate (dpsgd: default 1e-2 with sgd, 1e-3 with adam) (default 1e-6)');
    expect(byKey.get('zoEps')!.description).toBe('perturbation scale ε_zo (default 1e-3)');
    // dpzo eval shares the table without the train-only fields
    const evalOptions = addRunOptions(new Command('eval')).options.map((o) => o.attributeName());
    expect(evalOptions).toEqual(rows.filter(([, s]) => !s.flag!.trainOnly).map(([k]) => k));
    expect(evalOptions).not.toContain('out');
  });

  it('parses flags with the field parsers and merges a config file, flags winning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dpzo-options-'));
    const file = join(dir, 'run.json');
    writeFileSync(file, JSON.stringify({ model: 'm', data: 'd.jsonl', task: 'tokens', epsilon: 2, delta: 1e-5, lr: 0.5, steps: 3 }));
    const cmd = trainCommand();
    cmd.parse(['--config', file, '--lr', '1e-4', '--directions', '4', '--label-words', ' no, yes', '--eval-public', '--mechanism', 'laplace'], {
      from: 'user',
    });
    const c = mergeConfig(cmd, cmd.opts());
    expect(c).toEqual({
      model: 'm',
      data: 'd.jsonl',
      task: 'tokens',
      evalPublic: true,
      epsilon: 2,
      delta: 1e-5,
      mechanism: 'laplace',
      steps: 3,
      lr: 1e-4,
      directions: 4,
      labelWords: [' no', ' yes'],
    });
    expect(() => trainCommand().parse(['--steps', '0x10'], { from: 'user' })).toThrow(/must be an integer/);
    expect(() => trainCommand().parse(['--schedule', 'step'], { from: 'user' })).toThrow(/Allowed choices are constant, linear, cosine/);
  });

  it('--label-words JSON that is not strings is refused naming the flag and the expected form (was "labelWords: Invalid input")', () => {
    for (const bad of ['[1,2]', '[" bad",5]', '{"0":" bad","1":null}']) {
      expect(() => trainCommand().parse(['--label-words', bad], { from: 'user' })).toThrow(
        /--label-words.*must be a JSON array of strings or an object of strings/,
      );
    }
    expect(trainCommand().parse(['--label-words', '{"0":" bad","1":" good"}'], { from: 'user' }).opts().labelWords).toEqual({ 0: ' bad', 1: ' good' });
  });

  it('reads a --config file saved with a UTF-8 byte order mark (Notepad): it was refused as "Unexpected token \'\uFEFF\'"', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'dpzo-options-')), 'bom.json');
    writeFileSync(file, '\uFEFF' + JSON.stringify({ model: 'm', data: 'd.jsonl', task: 'tokens', epsilon: 2, delta: 1e-5, steps: 3 }));
    const cmd = trainCommand();
    cmd.parse(['--config', file], { from: 'user' });
    expect(mergeConfig(cmd, cmd.opts())).toMatchObject({ model: 'm', steps: 3 });
  });

  it('names the first missing required field as its flag', () => {
    const cmd = trainCommand();
    cmd.parse(['--model', 'm', '--data', 'd', '--task', 'lm', '--delta', '1e-5'], { from: 'user' });
    expect(() => mergeConfig(cmd, cmd.opts())).toThrow(/^--epsilon is required \(as a flag or in --config\)$/);
  });

  it('names a value out of range by its flag and the value given, or by the config file it came from (was "options: clip: Too small")', () => {
    const required = ['--model', 'm', '--data', 'd', '--task', 'tokens', '--epsilon', '8', '--delta', '1e-5', '--steps', '5'];
    const refused = (args: string[]) => {
      const cmd = trainCommand();
      cmd.parse([...required, ...args], { from: 'user' });
      try {
        mergeConfig(cmd, cmd.opts());
      } catch (e) {
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(refused(['--clip', '0'])).toMatch(/^--clip: .*>0 \(got 0\)$/);
    expect(refused(['--noise-multiplier', '-1'])).toMatch(/^--noise-multiplier: .*\(got -1\)$/);
    expect(refused(['--sample-rate', '2'])).toMatch(/^--sample-rate: .*<=1 \(got 2\)$/);
    expect(refused(['--micro-batch', '0'])).toMatch(/^--micro-batch: .*\(got 0\)$/);
    const file = join(mkdtempSync(join(tmpdir(), 'dpzo-options-')), 'run.json');
    writeFileSync(file, JSON.stringify({ clip: -2, lr: 0.1 }));
    expect(refused(['--config', file])).toMatch(new RegExp(`^--config ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: clip: .*\\(got -2\\)$`));
    // the flag given beside the file is the value used, and the one named
    expect(refused(['--config', file, '--clip', '0'])).toMatch(/^--clip: .*\(got 0\)$/);
  });

  it('gives the trainer its fields and the plan its defaults', () => {
    expect([...TRAIN_KEYS].sort()).toEqual(
      rows
        .filter(([, s]) => s.train)
        .map(([k]) => k)
        .sort(),
    );
    const plan = makePlan({ train: tokenDataset([3, 4, 5, 6]), epsilon: 8, delta: 1e-5, batchSize: 2, steps: 2, accountant: 'rdp' });
    expect(plan).toMatchObject({
      method: TRAIN_DEFAULTS.method,
      lr: TRAIN_DEFAULTS.lr,
      zoEps: TRAIN_DEFAULTS.zoEps,
      clip: TRAIN_DEFAULTS.clip,
      directions: TRAIN_DEFAULTS.directions,
      schedule: TRAIN_DEFAULTS.schedule,
      mechanism: TRAIN_DEFAULTS.mechanism,
      weightDecay: TRAIN_DEFAULTS.weightDecay,
    });
    expect(TRAIN_DEFAULTS).toEqual({
      method: 'dpzo',
      accountant: 'pld',
      mechanism: 'gaussian',
      lr: 1e-6,
      schedule: 'constant',
      zoEps: 1e-3,
      clip: 1,
      directions: 1,
      weightDecay: 0,
    });
  });

  it("the version printed is package.json's", () => {
    expect(packageVersion()).toBe((JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version);
  });
});
