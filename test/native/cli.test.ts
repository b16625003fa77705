// The `dpzo info` and `dpzo loss` commands, run as a user runs them: a child
// process (`node dist/cli/main.js ...`) on random checkpoints
// written as real Hugging Face directories. Values are checked against what the
// test wrote (parameter counts) and against the API in this process (losses).
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ExpectStatic, afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import { type Checkpoint, makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { type CliResult, dpzo } from '../helpers/cli.js';
import { Rng } from '../helpers/prng.js';

/** A failed command: exit 2, one line on stderr naming `mentions`, no stack trace. */
function expectUsageFailure(expect: ExpectStatic, r: CliResult, mentions: string[]): void {
  expect(r.status, r.stderr).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^dpzo: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  for (const m of mentions) expect(lines[0]).toContain(m);
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const paramCount = (ck: Checkpoint, keep: (name: string) => boolean = () => true) =>
  [...ck.tensors].filter(([n]) => keep(n)).reduce((s, [, t]) => s + numel(t.shape), 0);

let tmp: { dir: string; cleanup: () => void };
const ck: Record<string, Checkpoint> = {};

beforeAll(() => {
  tmp = makeTempDir('dpzo-cli-');
  // tied head stored twice plus attention buffers: neither may be counted
  ck.gpt2 = writeRandomCheckpoint(join(tmp.dir, 'gpt2'), { family: 'gpt2', storeLmHead: true, gpt2Buffers: true, seed: 3 });
  ck.opt = writeRandomCheckpoint(join(tmp.dir, 'opt'), { family: 'opt', wordEmbedProjDim: 24, seed: 4 });
  ck.llama = writeRandomCheckpoint(join(tmp.dir, 'llama'), { family: 'llama', numKvHeads: 2, tie: false, dtype: 'F16', seed: 5 });
});
afterAll(() => tmp?.cleanup());

describe.concurrent('dpzo info', () => {
  for (const [family, dtype, size] of [['gpt2', 'float32', 4], ['opt', 'float32', 4], ['llama', 'float16', 2]] as const) {
    it(`--json on a ${family} checkpoint reports the family, counts, dtype, bytes and backend`, async ({ expect }) => {
      const r = await dpzo('info', '--model', ck[family]!.dir, '--json');
      expect(r.status, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as Record<string, unknown>;
      const n = paramCount(ck[family]!);
      expect(j).toMatchObject({ modelType: family, numParameters: n, numTrainable: n, dtype, bytes: n * size, backend: 'cpu' });
      expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    });
  }

  it('human output names the family and the counts', async ({ expect }) => {
    const r = await dpzo('info', '--model', ck.opt!.dir);
    expect(r.status, r.stderr).toBe(0);
    const n = paramCount(ck.opt!);
    expect(r.stdout).toMatch(/^family\s+opt$/m);
    expect(r.stdout).toMatch(new RegExp(`^parameters\\s+${n.toLocaleString('en-US')}$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^trainable\\s+${n.toLocaleString('en-US')}$`, 'm'));
    expect(r.stdout).toMatch(/^dtype\s+float32$/m);
  });

  it('--trainable restricts numTrainable to the matching tensors', async ({ expect }) => {
    const r = await dpzo('info', '--model', ck.gpt2!.dir, '--json', '--trainable', 'ln_1, attn.c_proj');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { numParameters: number; numTrainable: number };
    const want = paramCount(ck.gpt2!, (n) => n.includes('ln_1') || n.includes('attn.c_proj'));
    expect(want).toBeGreaterThan(0);
    expect(j.numTrainable).toBe(want);
    expect(j.numParameters).toBe(paramCount(ck.gpt2!));
  });

  it('a missing directory exits 2 with one line naming config.json', async ({ expect }) => {
    const missing = join(tmp.dir, 'no-such-model');
    expectUsageFailure(expect, await dpzo('info', '--model', missing), [join(missing, 'config.json')]);
  });

  it('a truncated safetensors file exits 2 with one line naming the file', async ({ expect }) => {
    const bad = writeRandomCheckpoint(join(tmp.dir, 'truncated'), { family: 'gpt2', seed: 9 });
    const file = join(bad.dir, 'model.safetensors');
    truncateSync(file, 1000);
    expectUsageFailure(expect, await dpzo('info', '--model', bad.dir, '--json'), ['model.safetensors']);
  });

  it('an unknown model_type exits 2 with one line naming config.json', async ({ expect }) => {
    const bad = writeRandomCheckpoint(join(tmp.dir, 'bert'), { family: 'gpt2', seed: 9, extraConfig: { model_type: 'bert' } });
    expectUsageFailure(expect, await dpzo('info', '--model', bad.dir), ['config.json', 'bert']);
  });

  it('--help for info and loss exits 0 and lists the options', async ({ expect }) => {
    const [info, loss] = await Promise.all([dpzo('info', '--help'), dpzo('loss', '--help')]);
    expect(info.status, info.stderr).toBe(0);
    expect(info.stdout).toContain('--model');
    expect(info.stdout).toContain('--trainable');
    expect(loss.status, loss.stderr).toBe(0);
    expect(loss.stdout).toContain('--data');
    expect(loss.stdout).toContain('--batch-size');
    expect(loss.stdout).toMatch(/NaN/); // documents what a sequence without targets prints
  });
});

// ---- dpzo loss ---------------------------------------------------------------

interface Example {
  input_ids: number[];
  labels?: number[];
}

/** Sequences of varied length; a few with labels (-100 on the prompt), one with no targets at all. */
function examples(vocab: number, n: number, seed: number): Example[] {
  const rng = new Rng(seed);
  const out: Example[] = [];
  for (let i = 0; i < n; i++) {
    const len = 3 + rng.int(20);
    const ids = Array.from({ length: len }, () => rng.int(vocab));
    if (i % 3 === 1) out.push({ input_ids: ids, labels: ids.map((t, k) => (k < len / 2 ? -100 : t)) });
    else out.push({ input_ids: ids });
  }
  out[4] = { input_ids: out[4]!.input_ids, labels: out[4]!.input_ids.map(() => -100) };
  out[7] = { input_ids: [rng.int(vocab)] }; // length 1, no labels: no position is predicted
  return out;
}

/** The per-example losses through the API, one forward per example (independent of batching). */
async function apiLosses(dir: string, ex: Example[]): Promise<{ loss: number[]; targets: number[] }> {
  const model = await loadModel(dir, { device: 'cpu' });
  try {
    const loss: number[] = [];
    const targets: number[] = [];
    for (const e of ex) {
      const r = await model.perExampleLoss({ inputIds: [e.input_ids], labels: [e.labels ?? e.input_ids] });
      loss.push(r.loss[0]!);
      targets.push(r.targets[0]!);
    }
    return { loss, targets };
  } finally {
    model.dispose();
  }
}

const writeJsonl = (file: string, rows: unknown[]) => writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

describe.concurrent('dpzo loss', () => {
  const N = 13;
  let ex: Example[];
  let want: { loss: number[]; targets: number[] };
  let data: string;

  beforeAll(async () => {
    ex = examples(96, N, 21);
    data = join(tmp.dir, 'tokens.jsonl');
    writeJsonl(data, ex);
    want = await apiLosses(ck.llama!.dir, ex);
    // input order is only observable if the losses differ
    const finite = want.loss.filter(Number.isFinite).sort((a, b) => a - b);
    for (let i = 1; i < finite.length; i++) expect(finite[i]! - finite[i - 1]!).toBeGreaterThan(1e-4);
    expect(want.targets[4]).toBe(0);
    expect(want.targets[7]).toBe(0);
  });

  const close = (expect: ExpectStatic, got: (number | null)[], exp: number[]) => {
    expect(got).toHaveLength(exp.length);
    got.forEach((v, i) => {
      if (Number.isNaN(exp[i])) expect(v, `example ${i}`).toBeNull();
      else expect(Math.abs((v as number) - exp[i]!), `example ${i}: ${v} vs ${exp[i]}`).toBeLessThanOrEqual(1e-5 * Math.abs(exp[i]!));
    });
  };

  it('prints one loss per line in input order, NaN where a sequence has no targets', async ({ expect }) => {
    const r = await dpzo('loss', '--model', ck.llama!.dir, '--data', data);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(N);
    expect(lines[4]).toBe('NaN');
    expect(lines[7]).toBe('NaN');
    close(expect, lines.map((l) => (l === 'NaN' ? null : Number(l))), want.loss);
  });

  it('--json gives {"loss": [...], "targets": [...]} with null for no targets', async ({ expect }) => {
    const r = await dpzo('loss', '--model', ck.llama!.dir, '--data', data, '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { loss: (number | null)[]; targets: number[] };
    expect(Object.keys(j).sort()).toEqual(['loss', 'targets']);
    expect(j.targets).toEqual(want.targets);
    close(expect, j.loss, want.loss);
  });

  it('--batch-size smaller than the file keeps input order', async ({ expect }) => {
    const r = await dpzo('loss', '--model', ck.llama!.dir, '--data', data, '--json', '--batch-size', '3');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { loss: (number | null)[]; targets: number[] };
    expect(j.targets).toEqual(want.targets);
    close(expect, j.loss, want.loss);
  });

  it('--batch-size is a count of sequences: beyond 1024 (the thread cap it was parsed with) it works, 0 and 1.5 are refused', async ({ expect }) => {
    const [big, zero, frac] = await Promise.all([
      dpzo('loss', '--model', ck.llama!.dir, '--data', data, '--json', '--batch-size', '2048'),
      dpzo('loss', '--model', ck.llama!.dir, '--data', data, '--batch-size', '0'),
      dpzo('loss', '--model', ck.llama!.dir, '--data', data, '--batch-size', '1.5'),
    ]);
    expect(big.status, big.stderr).toBe(0);
    const j = JSON.parse(big.stdout) as { loss: (number | null)[]; targets: number[] };
    expect(j.targets).toEqual(want.targets);
    close(expect, j.loss, want.loss);
    expectUsageFailure(expect, zero, ['--batch-size', 'positive integer']);
    expectUsageFailure(expect, frac, ['--batch-size', 'integer']);
    for (const r of [zero, frac]) expect(r.stdout).toBe('');
  });

  const good = (i: number) => JSON.stringify({ input_ids: [1 + i, 2, 3] });
  const badFiles: Array<[string, string[], string[]]> = [
    ['invalid JSON on line 3', [good(0), good(1), '{"input_ids": [1, 2,', good(3)], [':3:', 'JSON']],
    ['missing input_ids on line 2', [good(0), '{"labels": [1, 2, 3]}', good(2)], [':2:', 'input_ids']],
    ['labels of another length on line 4', [good(0), good(1), good(2), '{"input_ids": [1, 2, 3], "labels": [-100, 2]}'], [':4:', 'labels']],
    ['a token id >= vocab on line 2', [good(0), '{"input_ids": [1, 97, 3]}'], [':2:', 'input_ids.1', 'vocabulary [0, 96)']],
    ['a negative token id on line 1', ['{"input_ids": [-1, 2]}'], [':1:', 'input_ids']],
    ['a sequence longer than max positions on line 2', [good(0), JSON.stringify({ input_ids: Array(65).fill(1) })], [':2:', 'input_ids', 'max positions 64']],
    ['a label >= vocab on line 2', [good(0), '{"input_ids": [1, 2, 3], "labels": [-100, 5, 400]}'], [':2:', 'labels.2', 'vocabulary [0, 96)']],
    // the first label is never a target, but the native check refuses it all the same: the CLI names file:line first
    ['a first label >= vocab on line 2', [good(0), '{"input_ids": [1, 2, 3], "labels": [400, 5, 5]}'], [':2:', 'labels.0', 'vocabulary [0, 96)']],
  ];
  for (const [what, lines, mentions] of badFiles) {
    it(`${what}: exit 2, one line naming file:line and field`, async ({ expect }) => {
      const file = join(tmp.dir, `bad-${what.replace(/\W+/g, '-')}.jsonl`);
      writeFileSync(file, lines.join('\n') + '\n');
      const r = await dpzo('loss', '--model', ck.llama!.dir, '--data', file);
      expectUsageFailure(expect, r, [file, ...mentions]);
      // the data's values and lengths stay in the process: not the id 97, the label 400 or the 65 tokens
      expect(r.stderr.replace(file, '')).not.toMatch(/\b(97|400|65)\b/);
      expect(r.stdout).toBe('');
    });
  }

  it('a missing data file or a directory: exit 2, one line naming it', async ({ expect }) => {
    const file = join(tmp.dir, 'no-such.jsonl');
    const [missing, dir] = await Promise.all([
      dpzo('loss', '--model', ck.llama!.dir, '--data', file),
      dpzo('loss', '--model', ck.llama!.dir, '--data', tmp.dir),
    ]);
    expectUsageFailure(expect, missing, [file]);
    expectUsageFailure(expect, dir, [tmp.dir]);
  });
});
