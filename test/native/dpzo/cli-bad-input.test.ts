// Bad input found by an input audit of the CLI: each must fail with one line on stderr naming the
// file and the reason, exit 2, without quoting the training file and without leaving output behind.
// A CSV field with text after its closing quote (an unbalanced quote swallowed the next row), a CSV
// header naming a column twice (one silently won), and a run.json that is not JSON or lacks its
// model/plan (a bare SyntaxError or TypeError with no file named).
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { makeTempDir } from '../../helpers/checkpoints.js';
import { type CliResult, ROOT, dpzoWithEnv, expectOneLineFailure } from '../../helpers/cli.js';

const tmp = makeTempDir('dpzo-cli-bad-input-');
afterAll(() => tmp.cleanup());
const MODEL = join(ROOT, 'data', 'models', 'word-llama');
const ENV = { DPZO_HOME: join(tmp.dir, 'home') };
const dpzo = (...args: string[]) => dpzoWithEnv(ENV, ...args);
let counter = 0;

async function train(data: string): Promise<{ r: CliResult; out: string }> {
  const out = join(tmp.dir, `run-${counter++}`);
  const r = await dpzo('train', '--model', MODEL, '--data', data, '--task', 'classification', '--steps', '2', '--batch-size', '1',
    '--epsilon', '8', '--delta', '1e-5', '--threads', '1', '--out', out);
  return { r, out };
}

describe('CSV training files', () => {
  it('text after a closing quote (an unbalanced quote that swallowed the next row) is refused, naming the line, not the text', async () => {
    const data = join(tmp.dir, 'unbalanced.csv');
    // the field opened on line 2 closes at the first quote of line 3: before, rows 2-3 became one example
    writeFileSync(data, 'sentence,label\n"SECRET unterminated, 1\n"b",0\n"c",1\n');
    const { r, out } = await train(data);
    expectOneLineFailure(r, /unbalanced\.csv:3: .*quote/);
    expect(r.stderr).not.toMatch(/SECRET/);
    expect(existsSync(out)).toBe(false);
  });

  it('a header that names a column twice is refused (one of the two columns was silently dropped)', async () => {
    const data = join(tmp.dir, 'twice.csv');
    writeFileSync(data, 'sentence,label,label\na,1,0\nb,0,1\n');
    const { r, out } = await train(data);
    expectOneLineFailure(r, /twice\.csv:1: the header .*columns 2 and 3/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('train --out', () => {
  it('an existing file is refused naming --out (was a bare ENOTDIR from readdir), and left as it was', async () => {
    const data = join(tmp.dir, 'fine.tsv');
    writeFileSync(data, 'sentence\tlabel\na\t1\nb\t0\n');
    const out = join(tmp.dir, 'a-file');
    writeFileSync(out, 'mine\n');
    const r = await dpzo('train', '--model', MODEL, '--data', data, '--task', 'classification', '--steps', '2', '--batch-size', '1',
      '--epsilon', '8', '--delta', '1e-5', '--threads', '1', '--out', out);
    expectOneLineFailure(r, /a-file exists and is not a directory: choose another --out \[ERR_RUN_EXISTS\]/);
    expect(readFileSync(out, 'utf8')).toBe('mine\n');
  });
});

describe('a broken tokenizer_config.json', () => {
  for (const [name, text] of [
    ['not JSON', '{'],
    ['null', 'null'],
  ] as const) {
    it(`${name}: the error names tokenizer_config.json (it named tokenizer.json, or was a bare TypeError)`, async () => {
      const model = join(tmp.dir, `model-${counter++}`);
      cpSync(MODEL, model, { recursive: true });
      writeFileSync(join(model, 'tokenizer_config.json'), text);
      const data = join(tmp.dir, 'fine.tsv');
      writeFileSync(data, 'sentence\tlabel\na\t1\nb\t0\n');
      const r = await dpzo('eval', '--model', model, '--data', data, '--task', 'classification');
      expectOneLineFailure(r, /tokenizer_config\.json: .*\[ERR_NO_TOKENIZER\]/);
    });
  }
});

describe('export --out', () => {
  it('under an existing file: refused naming --out before the replay (was a bare EEXIST from mkdir after it)', async () => {
    const data = join(tmp.dir, 'fine.tsv');
    writeFileSync(data, 'sentence\tlabel\na\t1\nb\t0\n');
    const { r: trained, out: run } = await train(data);
    expect(trained.status, trained.stderr).toBe(0);
    const file = join(tmp.dir, 'plain-file');
    writeFileSync(file, 'mine\n');
    const r = await dpzo('export', '--run', run, '--out', join(file, 'model'));
    expectOneLineFailure(r, /plain-file exists and is not a directory: choose another --out \[ERR_EXPORT_EXISTS\]/);
    expect(readFileSync(file, 'utf8')).toBe('mine\n');
  });
});

describe('a corrupt run.json', () => {
  for (const [name, text] of [
    ['not JSON', '{'],
    ['null', 'null'],
    ['no model or plan', '{"format":"dpzo-run/2"}'],
  ] as const) {
    it(`${name}: eval and export fail naming run.json, and export writes nothing`, async () => {
      const run = join(tmp.dir, `bad-run-${counter++}`);
      mkdirSync(run);
      writeFileSync(join(run, 'run.json'), text);
      const out = join(tmp.dir, `export-${counter++}`);
      expectOneLineFailure(await dpzo('export', '--run', run, '--out', out), /run\.json: .*\[ERR_RUN_CORRUPT\]/);
      expect(existsSync(out)).toBe(false);
      const data = join(tmp.dir, 'ok.tsv');
      writeFileSync(data, 'sentence\tlabel\na\t1\nb\t0\n');
      expectOneLineFailure(await dpzo('eval', '--model', MODEL, '--data', data, '--task', 'classification', '--run', run), /run\.json: .*\[ERR_RUN_CORRUPT\]/);
    });
  }
});

describe('an empty --trainable', () => {
  it("'' (or only commas) is refused naming the flag, before any output (it trained every tensor)", async () => {
    const data = join(tmp.dir, 'fine.tsv');
    writeFileSync(data, 'sentence\tlabel\na\t1\nb\t0\n');
    for (const trainable of ['', ' , ']) {
      const out = join(tmp.dir, `run-${counter++}`);
      const r = await dpzo('train', '--model', MODEL, '--data', data, '--task', 'classification', '--steps', '2', '--batch-size', '1',
        '--epsilon', '8', '--delta', '1e-5', '--threads', '1', '--trainable', trainable, '--out', out);
      expectOneLineFailure(r, /--trainable .*must name at least one tensor pattern/);
      expect(existsSync(out)).toBe(false);
    }
    expectOneLineFailure(await dpzo('info', '--model', MODEL, '--trainable', ''), /--trainable .*must name at least one tensor pattern/);
  });

  it('an empty trainable in a --config file is refused naming the file and the field', async () => {
    const data = join(tmp.dir, 'fine.tsv');
    writeFileSync(data, 'sentence\tlabel\na\t1\nb\t0\n');
    const out = join(tmp.dir, `run-${counter++}`);
    const config = join(tmp.dir, 'empty-trainable.json');
    writeFileSync(config, JSON.stringify({ trainable: [] }));
    const r = await dpzo('train', '--model', MODEL, '--data', data, '--task', 'classification', '--steps', '2', '--batch-size', '1',
      '--epsilon', '8', '--delta', '1e-5', '--threads', '1', '--config', config, '--out', out);
    expectOneLineFailure(r, /empty-trainable\.json: trainable: must name at least one tensor pattern/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('a damaged run directory: report and eval --run', () => {
  let run = '';
  const data = join(tmp.dir, 'report-ok.tsv');
  const damaged = (edit: (dir: string) => void): string => {
    const dir = join(tmp.dir, `damaged-${counter++}`);
    cpSync(run, dir, { recursive: true });
    edit(dir);
    return dir;
  };
  const editRunJson = (dir: string, f: (r: Record<string, Record<string, unknown>>) => void) => {
    const file = join(dir, 'run.json');
    const r = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
    f(r);
    writeFileSync(file, JSON.stringify(r));
  };
  const appendMetrics = (dir: string, line: string) => writeFileSync(join(dir, 'metrics.jsonl'), readFileSync(join(dir, 'metrics.jsonl'), 'utf8') + line + '\n');

  it('trains the run the cases damage', async () => {
    writeFileSync(data, 'sentence\tlabel\na\t1\nb\t0\n');
    const t = await train(data);
    expect(t.r.status, t.r.stderr).toBe(0);
    run = t.out;
  });

  for (const [name, edit, pattern] of [
    ['a metrics line that is null', (d: string) => appendMetrics(d, 'null'), /metrics\.jsonl: line \d+: not a JSON object \[ERR_RUN_CORRUPT\]/],
    [
      'a metrics step without gHat',
      (d: string) => appendMetrics(d, '{"type":"step","step":7,"epsilon":1}'),
      /metrics\.jsonl: line \d+: field 'gHat' is missing .*\[ERR_RUN_CORRUPT\]/,
    ],
    [
      'a metrics value that is text',
      (d: string) => appendMetrics(d, '{"type":"eval","step":9,"metric":"accuracy","value":"SECRET","loss":1}'),
      /metrics\.jsonl: line \d+: field 'value' is not a number \[ERR_RUN_CORRUPT\]/,
    ],
    [
      'run.json without plan.budget',
      (d: string) => editRunJson(d, (r) => delete r.plan!.budget),
      /run\.json: field 'plan\.budget' is missing \[ERR_RUN_CORRUPT\]/,
    ],
    [
      'run.json with a numeric plan.accountant',
      (d: string) => editRunJson(d, (r) => (r.plan!.accountant = 7)),
      /run\.json: field 'plan\.accountant' is not 'pld' or 'rdp' \[ERR_RUN_CORRUPT\]/,
    ],
  ] as const) {
    it(`${name}: report and eval --run fail in one line naming the file and field, exit 2, nothing on stdout (was a bare TypeError, or printed)`, async () => {
      const dir = damaged(edit);
      for (const r of await Promise.all([
        dpzo('report', dir),
        dpzo('report', dir, '--json'),
        dpzo('eval', '--run', dir, '--data', data, '--threads', '1'),
      ])) {
        expectOneLineFailure(r, pattern);
        expect(r.stdout).toBe('');
        expect(r.stderr).not.toMatch(/SECRET|TypeError| {4}at /);
      }
    });
  }

  it('eval --run reads the metrics before the model and data: a damaged metrics.jsonl failed only after the whole evaluation', async () => {
    const dir = damaged((d) => appendMetrics(d, 'null'));
    // the data file is missing: the evaluation would fail on it first, had it started
    const r = await dpzo('eval', '--run', dir, '--data', join(tmp.dir, 'no-such-file.tsv'), '--threads', '1');
    expectOneLineFailure(r, /metrics\.jsonl: line \d+: not a JSON object \[ERR_RUN_CORRUPT\]/);
  });

  it("a bad setting in run.json's meta.config is named as run.json's, not as the options'", async () => {
    const dir = damaged((d) => editRunJson(d, (r) => ((r.meta!.config as Record<string, unknown>).task = 5)));
    const r = await dpzo('eval', '--run', dir, '--data', data, '--threads', '1');
    expectOneLineFailure(r, /run\.json: meta\.config: task: .*\[ERR_RUN_CORRUPT\]/);
  });
});
