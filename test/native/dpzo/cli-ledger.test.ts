// The ledgers from the command line (issue 10, items 8 and 13): `dpzo account --dataset FILE`
// composes every run on a training file; `account --ledger` takes a run directory, checks the
// ledger against run.json and refuses mechanism flags it would ignore; `train --resume` refuses
// flags that would change the run; `--dataset-budget` is fixed by the first run that sets it.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeTempDir } from '../../helpers/checkpoints.js';
import { dpzo } from '../../helpers/cli.js';
import { tinyPaths, writeCyclesJsonl, writeTinyModel } from '../../helpers/tiny.js';
import { sealLine } from '../../../lib/privacy/ledger-format.js';

const tmp = makeTempDir('dpzo-cli-ledger-');
afterAll(() => tmp.cleanup());
const p = tinyPaths(tmp.dir);
writeTinyModel(p.model);
writeCyclesJsonl(p.train, 200, 1);
const home = join(tmp.dir, 'home');
const common = ['--model', p.model, '--data', p.train, '--task', 'tokens', '--epsilon', '8', '--delta', '1e-5', '--accountant', 'rdp', '--batch-size', '20', '--lr', '1e-2', '--zo-eps', '1e-2', '--threads', '1'];
const runA = join(tmp.dir, 'a');
const runB = join(tmp.dir, 'b');
let reportB: { dataset: { epsilon: number; runs: number; releases: number } };

function oneErrorLine(r: { status: number | null; stderr: string }, code: string, pattern: RegExp): void {
  expect(r.status, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^dpzo: .*\\[${code}\\]$`));
  expect(lines[0]).toMatch(pattern);
}

beforeAll(async () => {
  process.env.DPZO_HOME = home;
  const a = await dpzo('train', ...common, '--steps', '3', '--out', runA, '--json');
  expect(a.status, a.stderr).toBe(0);
  const b = await dpzo('train', ...common, '--steps', '2', '--out', runB, '--json');
  expect(b.status, b.stderr).toBe(0);
  reportB = JSON.parse(b.stdout.trim().split('\n').pop()!);
});

describe('dpzo account --dataset', () => {
  it('accounts both runs on the training file, as the last run reported', async () => {
    expect(reportB.dataset.runs).toBe(2);
    expect(reportB.dataset.releases).toBe(5);
    const r = await dpzo('account', '--dataset', p.train, '--accountant', 'pld', '--delta', '1e-5', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.runs).toBe(2);
    expect(j.releases).toBe(5);
    // the file's plain SHA-256 is printed nowhere (lib/privacy/dataset-key.ts), neither is it in the ledger's path
    const sha = createHash('sha256').update(readFileSync(p.train)).digest('hex');
    expect(r.stdout).not.toContain(sha);
    expect(j.ledger).toMatch(/[/\\]k-[0-9a-f]{64}[/\\]ledger\.jsonl$/);
    expect(j.epsilon).toBeCloseTo(reportB.dataset.epsilon, 9);
    // a file no run has used: nothing spent
    const other = join(tmp.dir, 'other.jsonl');
    writeFileSync(other, '{"input_ids":[1,2]}\n');
    const o = await dpzo('account', '--dataset', other, '--json');
    expect(o.status, o.stderr).toBe(0);
    expect(JSON.parse(o.stdout)).toMatchObject({ releases: 0, epsilon: 0 });
  });
});

describe('dpzo account --ledger', () => {
  it('takes a run directory; a directory without a ledger is one line naming it', async () => {
    const r = await dpzo('account', '--ledger', runA, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).releases).toBe(3);
    const empty = join(tmp.dir, 'empty-dir');
    mkdirSync(empty, { recursive: true });
    oneErrorLine(await dpzo('account', '--ledger', empty), 'ERR_IO', new RegExp(`${empty} is a directory without a ledger.jsonl`));
  });

  it('refuses mechanism flags it would ignore', async () => {
    oneErrorLine(await dpzo('account', '--ledger', runA, '--mechanism', 'laplace'), 'ERR_ARGUMENT', /--mechanism .*absent with --ledger/);
    oneErrorLine(await dpzo('account', '--ledger', runA, '--noise-multiplier', '3'), 'ERR_ARGUMENT', /--noise-multiplier/);
    oneErrorLine(await dpzo('account', '--dataset', p.train, '--steps', '3'), 'ERR_ARGUMENT', /--steps .*absent with --dataset/);
  });

  it('a ledger re-sealed with another σ is an error, not a smaller ε', async () => {
    const copy = join(tmp.dir, 'a-copy');
    mkdirSync(copy);
    for (const f of ['run.json', 'trajectory.jsonl']) writeFileSync(join(copy, f), readFileSync(join(runA, f)));
    const lines = readFileSync(join(runA, 'ledger.jsonl'), 'utf8').trimEnd().split('\n');
    let prev = '0'.repeat(64);
    const resealed = lines.map((text, i) => {
      const obj = JSON.parse(text) as Record<string, unknown>;
      delete obj.hash;
      obj.prevHash = prev;
      if (i > 0) obj.noiseMultiplier = 50;
      const { line } = sealLine(obj);
      prev = createHash('sha256').update(line, 'utf8').digest('hex');
      return line;
    });
    writeFileSync(join(copy, 'ledger.jsonl'), resealed.join('\n') + '\n');
    oneErrorLine(await dpzo('account', '--ledger', copy), 'ERR_LEDGER_MISMATCH', /release 1 .*noiseMultiplier 50/);
  });
});

describe('dpzo train --resume and --dataset-budget', () => {
  it('--resume refuses a flag that would change the run', async () => {
    oneErrorLine(await dpzo('train', '--resume', '--out', runA, '--epsilon', '99'), 'ERR_ARGUMENT', /--epsilon cannot be given with --resume/);
    oneErrorLine(await dpzo('train', '--resume', '--out', runA, '--steps', '9'), 'ERR_ARGUMENT', /--steps cannot be given with --resume/);
    // allowed: threads, json
    const ok = await dpzo('train', '--resume', '--out', runA, '--threads', '1', '--json');
    expect(ok.status, ok.stderr).toBe(0);
  });

  it('a dataset budget cannot be set once the dataset has a ledger without one', async () => {
    const r = await dpzo('train', ...common, '--steps', '2', '--out', join(tmp.dir, 'c'), '--dataset-budget', '20');
    oneErrorLine(r, 'ERR_ARGUMENT', /dataset budget is none: it is fixed/);
  });
});
