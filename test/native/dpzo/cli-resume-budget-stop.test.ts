// `dpzo train --resume` of a run that stopped at its dataset budget: the resume replayed it, evaluated it again, had the
// same next release refused (the budget is fixed and the ledger only grows) and appended a second eval and report line to
// metrics.jsonl ("2 of 4 steps … (0 steps/s)"). As for a completed run, it now changes no file and prints the recorded report.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { makeTempDir } from '../../helpers/checkpoints.js';
import { ROOT, dpzoWithEnv } from '../../helpers/cli.js';

const tmp = makeTempDir('dpzo-cli-resume-budget-');
afterAll(() => tmp.cleanup());
const MODEL = join(ROOT, 'data', 'models', 'word-llama');
const DATA = join(ROOT, 'data', 'sst2', 'train.tsv');
// a first run of 2 steps at ε = 8 spends 7.997 of the training file's 9.3; a second of 4 steps fits 2 of them
const COMMON = ['--model', MODEL, '--data', DATA, '--task', 'classification', '--epsilon', '8', '--delta', '1e-5', '--limit', '100', '--threads', '1'];

/** Every file of the run directory and of the dataset ledgers in `home`, by path. */
function snapshot(dirs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of dirs) for (const f of readdirSync(d, { recursive: true, withFileTypes: true })) {
    if (f.isFile()) out[join(f.parentPath, f.name)] = readFileSync(join(f.parentPath, f.name), 'utf8');
  }
  return out;
}

const reports = (metrics: string) => metrics.trim().split('\n').filter((l) => (JSON.parse(l) as { type: string }).type === 'report');

describe('dpzo train --resume of a run stopped at its dataset budget', () => {
  it('says it stopped at its budget, prints the recorded report and changes no file', async () => {
    const home = join(tmp.dir, 'home');
    const env = { DPZO_HOME: home };
    const first = await dpzoWithEnv(env, 'train', ...COMMON, '--steps', '2', '--dataset-budget', '9.3', '--out', join(tmp.dir, 'first'));
    expect(first.status, first.stderr).toBe(0);
    const run = join(tmp.dir, 'stopped');
    const t = await dpzoWithEnv(env, 'train', ...COMMON, '--steps', '4', '--eval', DATA, '--eval-max', '10', '--out', run);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/budget: 2 of 4 steps/);
    const before = snapshot([run, join(home, 'datasets')]);
    expect(reports(before[join(run, 'metrics.jsonl')]!)).toHaveLength(1);

    const r = await dpzoWithEnv(env, 'train', '--resume', '--out', run);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/stopped at its budget after 2 of 4 planned steps .*: nothing to resume; its recorded report:\n$/);
    expect(r.stderr).not.toMatch(/eval @ step/);
    expect(r.stdout).toMatch(/budget: 2 of 4 steps/);
    expect(r.stdout).not.toMatch(/\(0 steps\/s\)/);
    const j = await dpzoWithEnv(env, 'train', '--resume', '--out', run, '--json');
    expect(j.status, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ stopReason: 'budget', steps: 2, plannedSteps: 4 });
    expect(snapshot([run, join(home, 'datasets')])).toEqual(before);

    // a third run on the file, whose first step the budget no longer admits, is refused before it makes a directory
    // (cli-dataset-budget-spent.test.ts): it no longer leaves a run stopped before its first step to resume
  }, 240_000);
});
