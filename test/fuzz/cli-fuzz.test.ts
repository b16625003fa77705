// The fuzz suite through the real CLI (issue 10): seeded mutations of a model's safetensors header and
// config.json, and of JSONL / TSV data files with private rows, fed to `dpzo info`, `dpzo loss` and
// `dpzo train --dry-run` as child processes with a timeout. Property: exit 0, or exit 2 with exactly one
// stderr line `dpzo: … [ERR_…]` (never ERR_INTERNAL) — never a signal, a hang, a stack trace or the text of
// a row. Few processes (each costs a Node start-up); fuzz-child.ts drives thousands of cases in one.
// FUZZ_SEED / FUZZ_CASES explore further (CI runs the pinned seed 2026, 12 cases).
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { writeByteTokenizer } from '../helpers/byte-tokenizer.js';
import { makeTempDir } from '../helpers/checkpoints.js';
import { CLI_MAIN, ROOT } from '../helpers/cli.js';
import { Rng } from '../helpers/prng.js';
import { writeTinyModel } from '../helpers/tiny.js';
import { Mutator } from './mutate.js';

const tmp = makeTempDir('dpzo-cli-fuzz-');
afterAll(() => tmp.cleanup());
const SECRET = 'SECRETmarker';
const CASES = Number(process.env.FUZZ_CASES ?? 12);

interface Outcome {
  args: string[];
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(args: string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, DPZO_HOME: join(tmp.dir, 'home') },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ args, status, signal, stdout, stderr }));
  });
}

function rows(): string[] {
  return Array.from({ length: 8 }, (_, i) => JSON.stringify({ sentence: `${SECRET} row ${i} alice@example.com`, label: i % 2, input_ids: [1, 3 + i, 7, 2] }));
}

/** One mutated input and the command that reads it. */
function makeCase(m: Mutator, i: number, base: string): string[] {
  const dir = join(tmp.dir, `case-${i}`);
  mkdirSync(dir);
  const target = m.pick(['safetensors', 'config', 'jsonl', 'tsv'] as const);
  const good = join(tmp.dir, 'good.jsonl');
  if (target === 'safetensors' || target === 'config') {
    copyFileSync(join(base, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    let weights: Buffer = readFileSync(join(base, 'model.safetensors'));
    let config = readFileSync(join(base, 'config.json'), 'utf8');
    if (target === 'safetensors') {
      const headerLen = Number(weights.readBigUInt64LE(0));
      weights = m.bytes(weights, 0, 8 + headerLen).out;
    } else {
      const c = JSON.parse(config) as Record<string, unknown>;
      m.json(c);
      config = JSON.stringify(c);
    }
    writeFileSync(join(dir, 'model.safetensors'), weights);
    writeFileSync(join(dir, 'config.json'), config);
    return m.pick([
      ['info', '--model', dir],
      ['loss', '--model', dir, '--data', good, '--threads', '1'],
    ]);
  }
  const file = join(dir, `data.${target}`);
  const common = ['--epsilon', '8', '--delta', '1e-5', '--steps', '2', '--dry-run', '--threads', '1', '--out', join(dir, 'run')];
  if (target === 'jsonl') {
    const r = rows();
    const k = m.int(r.length);
    const obj = JSON.parse(r[k]!) as Record<string, unknown>;
    if (m.int(2) === 0) {
      m.json(obj);
      r[k] = JSON.stringify(obj);
      writeFileSync(file, r.join('\n') + '\n');
    } else writeFileSync(file, m.bytes(Buffer.from(r.join('\n') + '\n'), 0, r.join('\n').length).out);
    return m.pick([
      ['loss', '--model', base, '--data', file, '--threads', '1'],
      ['train', '--model', base, '--data', file, '--task', 'tokens', ...common],
    ]);
  }
  const tsv = ['sentence\tlabel', ...rows().map((r, j) => `${(JSON.parse(r) as { sentence: string }).sentence}\t${j % 2}`)].join('\n') + '\n';
  writeFileSync(file, m.bytes(Buffer.from(tsv), 0, tsv.length).out);
  return ['train', '--model', base, '--data', file, '--task', 'classification', '--label-words', 'no,yes', ...common];
}

describe('fuzzing the CLI', () => {
  it(`${CASES} mutated headers, configs and data files: exit 0 or one coded line, nothing private`, async () => {
    const base = writeTinyModel(join(tmp.dir, 'base'));
    writeByteTokenizer(base);
    writeFileSync(join(tmp.dir, 'good.jsonl'), '{"input_ids":[1,5,9,2]}\n{"input_ids":[1,7,2]}\n');
    const m = new Mutator(new Rng(Number(process.env.FUZZ_SEED ?? 2026)));
    const cases = Array.from({ length: CASES }, (_, i) => makeCase(m, i, base));
    const outcomes: Outcome[] = [];
    // two at a time: CI has two cores
    for (let i = 0; i < cases.length; i += 2) outcomes.push(...(await Promise.all(cases.slice(i, i + 2).map(run))));
    let failures = 0;
    for (const o of outcomes) {
      const where = `dpzo ${o.args.join(' ')}\n${o.stderr}`;
      expect(o.signal, where).toBeNull();
      expect([0, 2], where).toContain(o.status);
      expect(o.stderr + o.stdout, where).not.toMatch(/SECRETmarker|alice@example|\n\s+at /);
      if (o.status === 2) {
        failures++;
        expect(o.stderr, where).toMatch(/^dpzo: [^\n]+ \[ERR_[A-Z_]+\]\n$/);
        expect(o.stderr, where).not.toMatch(/ERR_INTERNAL/);
        expect(o.stdout, where).toBe('');
      }
    }
    // the mutations must produce both outcomes, or the property was never exercised
    expect(failures).toBeGreaterThan(0);
    expect(failures).toBeLessThan(outcomes.length);
  }, 120_000);
});
