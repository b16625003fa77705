// `dpzo train --dry-run --dataset-budget`: a new dataset budget that the run's first step alone exceeds is refused by the
// run before anything is made (trainer.ts, refuseSpentNewBudget), but the dry run (plan() only) printed the plan and exited
// 0 for it; nor did it refuse a budget other than the one an existing dataset ledger fixed. It now refuses both as the run
// does, and still makes nothing.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { makeTempDir } from '../../helpers/checkpoints.js';
import { ROOT, dpzoWithEnv, expectOneLineFailure } from '../../helpers/cli.js';

const tmp = makeTempDir('dpzo-cli-dry-run-budget-');
afterAll(() => tmp.cleanup());
const MODEL = join(ROOT, 'data', 'models', 'word-llama');
const DATA = join(ROOT, 'data', 'sst2', 'train.tsv');
const COMMON = ['--model', MODEL, '--data', DATA, '--task', 'classification', '--epsilon', '8', '--delta', '1e-5', '--limit', '100', '--steps', '2', '--threads', '1'];

describe('dpzo train --dry-run with --dataset-budget', () => {
  it('refuses a new budget the first step alone exceeds, as the run does, and makes nothing either way', async () => {
    const home = join(tmp.dir, 'home');
    const out = join(tmp.dir, 'run');
    const r = await dpzoWithEnv({ DPZO_HOME: home }, 'train', ...COMMON, '--dataset-budget', '1', '--dry-run', '--out', out);
    expectOneLineFailure(r, /^dpzo: --dataset-budget \(ε = 1 at δ = 0\.00001\) is exceeded by the run's first step alone.*\[ERR_TRAIN_OPTION\]$/);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(home)).toBe(false);
    // a budget the run would take: the plan, and still nothing made
    const ok = await dpzoWithEnv({ DPZO_HOME: home }, 'train', ...COMMON, '--dataset-budget', '9', '--dry-run', '--out', out);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/predicted ε +7\.997 after 2 steps/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(home)).toBe(false);
  }, 120_000);

  it('refuses a budget other than the one the training file ledger fixed, as the run does, before anything is made', async () => {
    const home = join(tmp.dir, 'home-fixed');
    const first = await dpzoWithEnv({ DPZO_HOME: home }, 'train', ...COMMON, '--dataset-budget', '9', '--out', join(tmp.dir, 'first'));
    expect(first.status, first.stderr).toBe(0);
    const ledger = readdirSync(join(home, 'datasets'), { recursive: true, withFileTypes: true }).find((f) => f.name === 'ledger.jsonl')!;
    const file = join(ledger.parentPath, ledger.name);
    const before = readFileSync(file, 'utf8');
    const fixed = /^dpzo: privacy ledger .*ledger\.jsonl: the dataset budget is ε 9 at δ 0\.00001: it is fixed when the dataset's first run starts and cannot become ε 20 at δ 0\.00001 \[ERR_ARGUMENT\]$/;
    const out = join(tmp.dir, 'other');
    const dry = await dpzoWithEnv({ DPZO_HOME: home }, 'train', ...COMMON, '--dataset-budget', '20', '--dry-run', '--out', out);
    expectOneLineFailure(dry, fixed);
    // the run refuses it the same way, now before its run directory is made (it left an empty one)
    const run = await dpzoWithEnv({ DPZO_HOME: home }, 'train', ...COMMON, '--dataset-budget', '20', '--out', out);
    expectOneLineFailure(run, fixed);
    expect(existsSync(out)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(before);
  }, 120_000);
});
