// Findings of a CLI exploration of `dpzo train` / `dpzo export`:
// - --constant-time-steps 10^9 was accepted and grew the process past 14 GB (padded slots) while deaf to SIGTERM;
// - a new --dataset-budget smaller than the first step's ε opened the run, stopped "before step 0", exited 0 and fixed
//   that budget for the training file for good;
// - `dpzo export --out /proc/x` failed after the whole replay naming the internal staging directory;
// - `dpzo train --resume` of a completed run evaluated again and appended a second eval and report to metrics.jsonl.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { makeTempDir } from '../../helpers/checkpoints.js';
import { CLI_MAIN, type CliResult, ROOT, dpzoWithEnv, expectOneLineFailure } from '../../helpers/cli.js';

const tmp = makeTempDir('dpzo-cli-train-fixes2-');
afterAll(() => tmp.cleanup());
const MODEL = join(ROOT, 'data', 'models', 'word-llama');
const DATA = join(ROOT, 'data', 'sst2', 'train.tsv');
const COMMON = ['--model', MODEL, '--data', DATA, '--task', 'classification', '--epsilon', '8', '--delta', '1e-5', '--limit', '100', '--steps', '2', '--threads', '1'];
let homes = 0;
const newHome = () => join(tmp.dir, `home-${homes++}`);

/** The CLI, killed (SIGKILL) after `ms`: the old code ran away with the host's memory. */
function dpzoKilledAfter(ms: number, env: Record<string, string>, ...args: string[]): Promise<CliResult & { killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, ms);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, killed });
    });
  });
}

describe('dpzo train --constant-time-steps', () => {
  it('a slot count no step could hold is refused at once, naming the field, with nothing created', async () => {
    const out = join(tmp.dir, 'ct');
    const r = await dpzoKilledAfter(15_000, { DPZO_HOME: newHome() }, 'train', ...COMMON, '--constant-time-steps', '1000000000', '--out', out);
    expect(r.killed, 'still running after 15 s').toBe(false);
    expectOneLineFailure(r, /^dpzo: --constant-time-steps \(1000000000\) is more than the most slots a step may hold, 1048576 \[ERR_TRAIN_OPTION\]$/);
    expect(existsSync(out)).toBe(false);
  }, 30_000);
});

describe('dpzo train --dataset-budget', () => {
  it('a new dataset budget the first step alone exceeds is refused before anything is made, and so is a run on an existing spent one', async () => {
    const home = newHome();
    const env = { DPZO_HOME: home };
    const out = join(tmp.dir, 'db-1');
    const r = await dpzoWithEnv(env, 'train', ...COMMON, '--dataset-budget', '1', '--out', out);
    expectOneLineFailure(r, /^dpzo: --dataset-budget \(ε = 1 at δ = 0\.00001\) is exceeded by the run's first step alone.*\[ERR_TRAIN_OPTION\]$/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(home, 'datasets'))).toBe(false);
    // the refused budget was not fixed for the training file: another one is taken
    const ok = await dpzoWithEnv(env, 'train', ...COMMON, '--dataset-budget', '9', '--out', join(tmp.dir, 'db-2'));
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/completed: 2 of 2 steps/);
    // the ledger exists and its budget has no room left for the first step: refused before anything is made (it made the
    // run directory and stopped 'budget' before step 0, exit 0: cli-dataset-budget-spent.test.ts)
    const spent = await dpzoWithEnv(env, 'train', ...COMMON, '--dataset-budget', '9', '--out', join(tmp.dir, 'db-3'));
    expectOneLineFailure(spent, /dataset budget ε = 9 at δ = 0\.00001 .* is spent: ε = [0-9.]+ already spent on it .*\[ERR_BUDGET_EXCEEDED\]$/);
    expect(existsSync(join(tmp.dir, 'db-3'))).toBe(false);
  }, 60_000);
});

describe('dpzo export --out that cannot be made', () => {
  it('is refused before the model is loaded or replayed, naming --out and not the staging directory', async () => {
    const env = { DPZO_HOME: newHome() };
    const run = join(tmp.dir, 'ex-run');
    const t = await dpzoWithEnv(env, 'train', ...COMMON, '--out', run);
    expect(t.status, t.stderr).toBe(0);
    const r = await dpzoWithEnv(env, 'export', '--run', run, '--out', '/proc/x');
    expectOneLineFailure(r, /^dpzo: --out \/proc\/x: cannot create a directory there \(ENOENT\) \[ERR_IO\]$/);
    // checked first: a base model that is not there is not reached
    const first = await dpzoWithEnv(env, 'export', '--run', run, '--model', join(tmp.dir, 'no-model'), '--out', '/proc/x');
    expectOneLineFailure(first, /^dpzo: --out \/proc\/x: cannot create/);
    // a --out that can be made still exports, and the check left nothing beside it
    const made = join(tmp.dir, 'ex-parent', 'a', 'model');
    const ok = await dpzoWithEnv(env, 'export', '--run', run, '--out', made);
    expect(ok.status, ok.stderr).toBe(0);
    expect(readdirSync(join(tmp.dir, 'ex-parent', 'a'))).toEqual(['model']);
  }, 60_000);
});

describe('dpzo train --resume of a completed run', () => {
  it('says it is complete, prints the recorded report and changes no file', async () => {
    const env = { DPZO_HOME: newHome() };
    const run = join(tmp.dir, 'done');
    const t = await dpzoWithEnv(env, 'train', ...COMMON, '--eval', DATA, '--eval-max', '10', '--out', run);
    expect(t.status, t.stderr).toBe(0);
    const snapshot = () => Object.fromEntries(readdirSync(run).map((f) => [f, readFileSync(join(run, f), 'utf8')]));
    const before = snapshot();
    const r = await dpzoWithEnv(env, 'train', '--resume', '--out', run);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/is complete \(all 2 planned steps\): nothing to resume/);
    expect(r.stdout).toMatch(/completed: 2 of 2 steps/);
    expect(r.stdout).not.toMatch(/\(0 steps\/s\)/);
    const j = await dpzoWithEnv(env, 'train', '--resume', '--out', run, '--json');
    expect(j.status, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ stopReason: 'completed', steps: 2, plannedSteps: 2 });
    expect(snapshot()).toEqual(before);
    const metrics = before['metrics.jsonl']!.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(metrics.filter((m) => m.type === 'report')).toHaveLength(1);
  }, 60_000);
});
