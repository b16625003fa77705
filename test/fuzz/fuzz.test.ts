// The fuzz suite (issue 10): seeded random mutations of a small checkpoint's safetensors header,
// its config.json, and JSONL / TSV data files. Property: each case loads (and runs a forward), or
// fails with one coded error — one line, a stable ERR_ code, never ERR_INTERNAL, never the text of
// a data row — and the process never dies by a signal nor hangs. The driver runs in a child
// process (fuzz-child.ts) so a crash is a failed test, not a dead runner; a few mutated inputs also
// go through the real CLI, whose contract is exit 2 with one stderr line.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { makeTempDir } from '../helpers/checkpoints.js';
import { dpzo } from '../helpers/cli.js';
import { writeTinyModel } from '../helpers/tiny.js';

const tmp = makeTempDir('dpzo-fuzz-');
afterAll(() => tmp.cleanup());
const CHILD = join(import.meta.dirname, 'fuzz-child.ts');

interface Case {
  i: number;
  target: string;
  mutation: string;
  ok: boolean;
  code?: string | null;
  message?: string;
}

function fuzz(seed: number, count: number): Case[] {
  const dir = join(tmp.dir, `seed-${seed}`);
  mkdirSync(dir);
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, String(seed), String(count), dir], {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 64 << 20,
  });
  expect(r.signal, `seed ${seed}: killed by ${r.signal} (a crash or a hang)\n${r.stderr}`).toBeNull();
  expect(r.status, r.stderr).toBe(0);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Case);
}

describe('fuzzing the loaders', () => {
  for (const seed of [11, 12]) {
    it(`seed ${seed}: 1500 mutations, every failure one coded line without private text`, () => {
      const cases = fuzz(seed, 1500);
      expect(cases).toHaveLength(1500);
      for (const c of cases) {
        if (c.ok) continue;
        const where = `case ${c.i} (${c.target}, ${c.mutation}): ${c.code} ${c.message}`;
        expect(c.code, where).toMatch(/^ERR_[A-Z_]+$/);
        expect(c.code, where).not.toBe('ERR_INTERNAL');
        expect(c.message, where).not.toMatch(/\n/);
        expect(c.message, where).not.toMatch(/SECRETmarker|alice@example/);
      }
      // the mutations reach every target and both outcomes (a fuzzer that only ever fails tests nothing)
      for (const t of ['safetensors', 'config', 'jsonl', 'tsv']) {
        expect(
          cases.some((c) => c.target === t && c.ok),
          `${t} ok`,
        ).toBe(true);
        expect(
          cases.some((c) => c.target === t && !c.ok),
          `${t} fails`,
        ).toBe(true);
      }
    });
  }
});

describe('mutated inputs through the CLI', () => {
  const model = writeTinyModel(join(tmp.dir, 'model'));
  const weights = readFileSync(join(model, 'model.safetensors'));

  function variant(name: string, edit: (dir: string) => void): string {
    const dir = join(tmp.dir, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), readFileSync(join(model, 'config.json')));
    writeFileSync(join(dir, 'model.safetensors'), weights);
    edit(dir);
    return dir;
  }

  function oneLine(r: { status: number | null; stderr: string; stdout: string }, code: RegExp): void {
    expect(r.status, r.stderr).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(code);
    expect(r.stdout).toBe('');
  }

  it('a torn header, an absurd config and a torn private row: exit 2, one line each', async () => {
    const torn = variant('torn', (d) => writeFileSync(join(d, 'model.safetensors'), weights.subarray(0, 40)));
    oneLine(await dpzo('info', '--model', torn), /\[ERR_SAFETENSORS_(HEADER|TRUNCATED)\]$/);
    const heads = variant('heads', (d) => {
      const c = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
      writeFileSync(
        join(d, 'config.json'),
        JSON.stringify({ ...c, num_attention_heads: 4611686018427387904 }).replace('4611686018427388000', '4611686018427387920'),
      );
    });
    oneLine(await dpzo('info', '--model', heads), /\[ERR_CONFIG\]$/);
    const data = join(tmp.dir, 'torn.jsonl');
    writeFileSync(data, '{"input_ids":[1,2,3]}\n{"input_ids":[1,"SECRETmarker alice@example.com",');
    const r = await dpzo('train', '--model', model, '--data', data, '--task', 'tokens', '--epsilon', '8', '--delta', '1e-5', '--steps', '2', '--dry-run');
    oneLine(r, /^dpzo: .*torn\.jsonl:2: .*\[ERR_DATA_FORMAT\]$/);
    expect(r.stderr).not.toMatch(/SECRETmarker|alice/);
  });
});
