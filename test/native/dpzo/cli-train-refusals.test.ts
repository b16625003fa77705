// Found by using `dpzo train` as a new user would (bad flags, files and settings): each case failed late (after a
// release), silently trained on nothing, or failed with a message naming no flag.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { makeTempDir } from '../../helpers/checkpoints.js';
import { ROOT, dpzoWithEnv, expectOneLineFailure } from '../../helpers/cli.js';

const tmp = makeTempDir('dpzo-cli-train-refusals-');
afterAll(() => tmp.cleanup());
const MODEL = join(ROOT, 'data', 'models', 'word-llama');
const ENV = { DPZO_HOME: join(tmp.dir, 'home') };
const dpzo = (...args: string[]) => dpzoWithEnv(ENV, ...args);
let counter = 0;

function data(): string {
  const file = join(tmp.dir, `data-${counter++}.tsv`);
  writeFileSync(file, 'sentence\tlabel\nSECRET a fine film\t1\nSECRET a dull film\t0\nSECRET a good one\t1\n');
  return file;
}

const TRAIN = ['train', '--model', MODEL, '--task', 'classification', '--steps', '2', '--batch-size', '1', '--epsilon', '8', '--delta', '1e-5', '--threads', '1'];

describe('train --metrics', () => {
  const cases: [string, () => string][] = [
    ['under a regular file', () => {
      const file = join(tmp.dir, `a-file-${counter++}`);
      writeFileSync(file, 'mine\n');
      return join(file, 'metrics.jsonl');
    }],
    ['an existing directory', () => tmp.dir],
  ];
  if (process.platform === 'linux') cases.push(['in /proc', () => '/proc/dpzo-metrics.jsonl']);
  for (const [name, metrics] of cases) {
    it(`${name}: refused naming --metrics before the run directory is made (it failed after the first release, naming no flag)`, async () => {
      const out = join(tmp.dir, `run-${counter++}`);
      const m = metrics();
      const r = await dpzo(...TRAIN, '--data', data(), '--out', out, '--metrics', m);
      expectOneLineFailure(r, /^dpzo: --metrics .*: cannot write the metrics file \(E[A-Z]+\) \[ERR_IO\]$/);
      expect(r.stderr).not.toMatch(/SECRET/);
      expect(existsSync(out)).toBe(false);
    });
  }
});

describe('train --max-length 1', () => {
  it('is refused before the run opens (the prompt was cut to nothing: a run released steps on examples without a target)', async () => {
    const out = join(tmp.dir, `run-${counter++}`);
    const r = await dpzo(...TRAIN, '--data', data(), '--out', out, '--max-length', '1');
    expectOneLineFailure(r, /^dpzo: maxLength 1 \(--max-length.*at least 2 tokens \[ERR_DATA_TOKENS\]$/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('train --steps beyond the bound', () => {
  it('--steps 99999999999 is refused in one line, exit 2, before the run opens (it was accepted, and ran for ever)', async () => {
    const out = join(tmp.dir, `run-${counter++}`);
    const r = await dpzo(...TRAIN.map((a, i) => (TRAIN[i - 1] === '--steps' ? '99999999999' : a)), '--data', data(), '--out', out);
    expectOneLineFailure(r, /^dpzo: --steps \(99999999999\) is more than the most a run may plan, 100000000 \[ERR_TRAIN_OPTION\]$/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('train --eval-every / --eval-max / --eval-public without --eval', () => {
  for (const flag of [['--eval-every', '1'], ['--eval-max', '5'], ['--eval-public']]) {
    it(`${flag[0]} is refused naming it (it was ignored in silence: no evaluation ran)`, async () => {
      const out = join(tmp.dir, `run-${counter++}`);
      const r = await dpzo(...TRAIN, '--data', data(), '--out', out, ...flag);
      expectOneLineFailure(r, new RegExp(`^dpzo: ${flag[0]} needs --eval <file>.* \\[ERR_TRAIN_OPTION\\]$`));
      expect(existsSync(out)).toBe(false);
    });
  }
});
