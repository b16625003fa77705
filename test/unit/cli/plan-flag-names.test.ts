// The training plan's refusals name the library's options (batchSize, microBatch, weightDecay): `dpzo train` printed
// "batchSize (1000) exceeds …" to a user who typed --batch-size. The CLI names the flag, or the config file that set
// the value; the API keeps the option's name, and carries it in `error.field`.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { makePlan } from '../../../lib/dpzo/index.js';
import { DpzoError } from '../../../lib/errors.js';
import { nameFields } from '../../../lib/cli/options.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { dpzoWithEnv, expectOneLineFailure } from '../../helpers/cli.js';
import { tokenDataset } from '../../helpers/fake-model.js';
import { writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-plan-flag-names-');
afterAll(() => tmp.cleanup());
const model = writeTinyModel(join(tmp.dir, 'model'));
const data = writeCyclesJsonl(join(tmp.dir, 'train.jsonl'), 6, 5);
const common = ['--model', model, '--data', data, '--task', 'tokens', '--epsilon', '8', '--delta', '1e-5', '--steps', '2', '--threads', '1'];
const dpzo = (...args: string[]) => dpzoWithEnv({ DPZO_HOME: join(tmp.dir, 'home') }, ...args);
let counter = 0;

function config(fields: Record<string, unknown>): string {
  const file = join(tmp.dir, `config-${counter++}.json`);
  writeFileSync(file, JSON.stringify(fields));
  return file;
}

describe('dpzo train: a refusal of the plan names the flag', () => {
  const cases: [string[], RegExp][] = [
    [['--batch-size', '1000'], /^dpzo: --batch-size \(1000\) exceeds the training set size 6 \[ERR_TRAIN_OPTION\]$/],
    [['--weight-decay', '2e6'], /^dpzo: --weight-decay \(2000000\) × --lr must be below 1 \(got 2\) \[ERR_TRAIN_OPTION\]$/],
    [
      ['--method', 'dpsgd', '--micro-batch', '4'],
      /^dpzo: --micro-batch applies to --clip-regime 'per-example' only: .*bounded by --max-batch-tokens\) \[ERR_TRAIN_OPTION\]$/,
    ],
    [['--sample-rate', '0.5'], /^dpzo: --batch-size must be given with --sample-rate: /],
    [['--epochs', '1'], /^dpzo: --steps and --epochs are exclusive: give one \[ERR_TRAIN_OPTION\]$/],
    [['--method', 'dpsgd', '--device', 'cuda'], /^dpzo: --device 'cuda' cannot run --method dpsgd: .*\(use --device 'cpu' or 'auto'\) \[ERR_TRAIN_OPTION\]$/],
  ];
  for (const [args, re] of cases) {
    for (const dry of [false, true]) {
      it(`${args.join(' ')}${dry ? ' --dry-run' : ''}`, async () => {
        const out = join(tmp.dir, `run-${counter++}`);
        const r = await dpzo('train', ...common, ...args, '--out', out, ...(dry ? ['--dry-run'] : []));
        expectOneLineFailure(r, re);
        expect(existsSync(out)).toBe(false);
      });
    }
  }

  it('a value from --config is named by the file and its field; a flag beside it by the flag', async () => {
    const file = config({ batchSize: 1000 });
    expectOneLineFailure(
      await dpzo('train', ...common, '--config', file),
      new RegExp(`^dpzo: --config ${file}: batchSize \\(1000\\) exceeds the training set size 6 `),
    );
    const decay = config({ weightDecay: 2e6 });
    expectOneLineFailure(
      await dpzo('train', ...common, '--config', decay, '--lr', '1e-6', '--dry-run'),
      new RegExp(`^dpzo: --config ${decay}: weightDecay \\(2000000\\) × --lr must be below 1 `),
    );
    // the flag overrides the file: the refused value is the flag's
    expectOneLineFailure(await dpzo('train', ...common, '--config', file, '--batch-size', '999'), /^dpzo: --batch-size \(999\) exceeds /);
  });
});

describe('dpzo train --resume', () => {
  it('names --device given again by its flag, and the recorded method by its field name', async () => {
    const out = join(tmp.dir, `run-${counter++}`);
    const start = await dpzo('train', ...common, '--method', 'dpsgd', '--out', out);
    expect(start.status, start.stderr).toBe(0);
    const r = await dpzo('train', '--resume', '--out', out, '--device', 'cuda');
    expectOneLineFailure(r, /^dpzo: --device 'cuda' cannot run method dpsgd: .*\(use --device 'cpu' or 'auto'\) \[ERR_TRAIN_OPTION\]$/);
  });
});

describe('dpzo audit: a refusal of the plan names the flag', () => {
  it('--weight-decay, --method and --epsilon inf', async () => {
    const cases: [string[], RegExp][] = [
      [['--weight-decay', '2e6'], /^dpzo: --weight-decay \(2000000\) × --lr must be below 1 /],
      [['--method', 'dpsgd'], /^dpzo: --method dpsgd cannot be audited: .*\(give --method dpzo\) \[ERR_TRAIN_OPTION\]$/],
      [['--epsilon', 'inf'], /^dpzo: --epsilon inf is a non-private baseline: it claims no ε to audit \[ERR_TRAIN_OPTION\]$/],
    ];
    for (const [args, re] of cases) {
      const r = await dpzo('audit', ...common, ...args, '--canaries', '4', '--runs', '1', '--plot', join(tmp.dir, 'never.svg'));
      expectOneLineFailure(r, re);
      expect(existsSync(join(tmp.dir, 'never.svg'))).toBe(false);
    }
  });
});

describe('the API keeps the option names', () => {
  const base = { train: tokenDataset([3, 4, 5, 6]), epsilon: 8, delta: 1e-5, batchSize: 2, steps: 2, accountant: 'rdp' as const };

  it('makePlan names the option, and carries it (and the others it names) as fields of the error', () => {
    const refusal = (o: object): DpzoError => {
      try {
        makePlan({ ...base, ...o });
      } catch (e) {
        return e as DpzoError;
      }
      throw new Error('planned');
    };
    const big = refusal({ batchSize: 1000 });
    expect(big).toMatchObject({ code: 'ERR_TRAIN_OPTION', field: 'batchSize', message: 'batchSize (1000) exceeds the training set size 4' });
    const decay = refusal({ weightDecay: 2e6 });
    expect(decay).toMatchObject({ field: 'weightDecay', mentions: ['lr'], message: 'weightDecay (2000000) × lr must be below 1 (got 2)' });
    expect(refusal({ epochs: 1 })).toMatchObject({ field: 'steps', mentions: ['epochs'], message: 'steps and epochs are exclusive: give one' });
  });

  it('nameFields renames the subject and the named options only, and leaves other errors as they are', () => {
    const e = new DpzoError('ERR_TRAIN_OPTION', 'steps or epochs must be given (steps)', { field: 'steps', mentions: ['epochs'] });
    const flags = nameFields(e, (f) => `--${f}`) as DpzoError;
    expect(flags.message).toBe('--steps or --epochs must be given (steps)');
    expect(flags.code).toBe('ERR_TRAIN_OPTION');
    const file = nameFields(e, (f, leading) => (leading ? `--config c.json: ${f}` : f)) as DpzoError;
    expect(file.message).toBe('--config c.json: steps or epochs must be given (steps)');
    // an option that is no run field (the dataset) and an error without a field are not renamed
    const train = new DpzoError('ERR_TRAIN_OPTION', 'train must be a dataset', { field: 'train' });
    expect(nameFields(train, (f) => `--${f}`)).toBe(train);
    const plain = new DpzoError('ERR_IO', 'batchSize is a word here');
    expect(nameFields(plain, (f) => `--${f}`)).toBe(plain);
  });
});
