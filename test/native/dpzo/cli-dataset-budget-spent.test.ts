// `dpzo train` on a training file whose dataset budget (fixed by an earlier run with --dataset-budget) has no room left for
// the new run's first step: the run made its directory, stopped 'budget' before step 0 and exited 0, an empty run left behind.
// It is refused before anything is made, one line naming the dataset budget and the ε already spent, exit 2; --dry-run says
// the same. (A resume of a run stopped at that budget prints its recorded report: cli-resume-budget-stop.test.ts.)
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { makeTempDir } from '../../helpers/checkpoints.js';
import { ROOT, dpzoWithEnv, expectOneLineFailure } from '../../helpers/cli.js';

const tmp = makeTempDir('dpzo-cli-dataset-spent-');
afterAll(() => tmp.cleanup());
const MODEL = join(ROOT, 'data', 'models', 'word-llama');
const DATA = join(ROOT, 'data', 'sst2', 'train.tsv');
// a first run of 2 steps at ε = 8 spends 7.997 of the training file's 9.3; a second of 4 steps fits 2 of them, then the
// budget has no room for a third run's first step
const COMMON = ['--model', MODEL, '--data', DATA, '--task', 'classification', '--epsilon', '8', '--delta', '1e-5', '--limit', '100', '--threads', '1'];

/** Every file under `dir`, by path. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (f.isFile()) out[join(f.parentPath, f.name)] = readFileSync(join(f.parentPath, f.name), 'utf8');
  }
  return out;
}

describe('dpzo train on a training file whose dataset budget is spent', () => {
  it('is refused before anything is made, naming the budget and the ε spent (exit 2), and --dry-run says the same', async () => {
    const home = join(tmp.dir, 'home');
    const env = { DPZO_HOME: home };
    const first = await dpzoWithEnv(env, 'train', ...COMMON, '--steps', '2', '--dataset-budget', '9.3', '--out', join(tmp.dir, 'first'));
    expect(first.status, first.stderr).toBe(0);
    const second = await dpzoWithEnv(env, 'train', ...COMMON, '--steps', '4', '--out', join(tmp.dir, 'second'));
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/budget: 2 of 4 steps/);
    const ledgers = snapshot(join(home, 'datasets'));

    const spent = /dataset budget ε = 9\.3 at δ = 0\.00001 .* is spent: ε = (9\.[0-9]+) already spent on it by earlier runs \(4 releases\) .*no further run on this training file is possible/;
    const third = join(tmp.dir, 'third');
    const r = await dpzoWithEnv(env, 'train', ...COMMON, '--steps', '2', '--out', third);
    expectOneLineFailure(r, spent);
    // the ε spent is the dataset's, under its budget (the second run stopped where one more release would exceed it)
    expect(Number(spent.exec(r.stderr)![1])).toBeLessThanOrEqual(9.3);
    expect(Number(spent.exec(r.stderr)![1])).toBeGreaterThan(8);
    expect(existsSync(third)).toBe(false);
    expect(snapshot(join(home, 'datasets'))).toEqual(ledgers);

    const dry = await dpzoWithEnv(env, 'train', ...COMMON, '--steps', '2', '--out', third, '--dry-run');
    expectOneLineFailure(dry, spent);
    expect(existsSync(third)).toBe(false);
    // the same --dataset-budget as the ledger's changes nothing
    const same = await dpzoWithEnv(env, 'train', ...COMMON, '--steps', '2', '--dataset-budget', '9.3', '--out', third);
    expectOneLineFailure(same, spent);
    expect(existsSync(third)).toBe(false);
    expect(snapshot(join(home, 'datasets'))).toEqual(ledgers);
  }, 240_000);
});
