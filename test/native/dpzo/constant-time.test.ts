// Constant-time steps on the native model (issue 11.1): the head on every row changes no loss, the
// padded slots give the real examples the same per-example scalars, and `dpzo train
// --constant-time-steps` records and prints its shape and the doubled sensitivity.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { estimateScalars } from '../../../lib/dpzo/estimator.js';
import { loadModel } from '../../../lib/index.js';
import { makeTempDir } from '../../helpers/checkpoints.js';
import { dpzo } from '../../helpers/cli.js';
import { writeTinyModel } from '../../helpers/tiny.js';

const tmp = makeTempDir('dpzo-constant-time-');
afterAll(() => tmp.cleanup());
const modelDir = writeTinyModel(join(tmp.dir, 'model'));
const examples = [
  { inputIds: Int32Array.from([1, 5, 9, 2, 7, 3]) },
  { inputIds: Int32Array.from([1, 4, 4]), labels: Int32Array.from([-100, -100, 4]) },
  { inputIds: Int32Array.from([1, 8, 2, 2, 6, 11, 3, 9, 10]) },
];
const hex = (a: ArrayLike<number>) => Buffer.from(Float64Array.from(a).buffer).toString('hex');

describe('constant-time forwards', () => {
  it('allRows: the head on every position leaves every loss bit-identical', async () => {
    const m = await loadModel(modelDir, { threads: 2 });
    const batch = { inputIds: examples.map((e) => e.inputIds), labels: examples.map((e) => e.labels ?? Int32Array.from(e.inputIds, (t, i) => (i === 0 ? -100 : t))) };
    expect(hex((await m.perExampleLoss(batch, { allRows: true })).loss)).toBe(hex((await m.perExampleLoss(batch)).loss));
    const pts = [[{ seed: 3n, coeff: 1e-2 }], [{ seed: 3n, coeff: -1e-2 }]];
    const a = await m.perExampleLossAt(batch, pts, { allRows: true });
    const b = await m.perExampleLossAt(batch, pts);
    expect(a.map((r) => hex(r.loss))).toEqual(b.map((r) => hex(r.loss)));
    m.dispose();
  });

  it('padded slots and dummies give the real examples the same scalars', async () => {
    const m = await loadModel(modelDir, { threads: 2 });
    const seeds = [11n, 12n];
    const plain = await estimateScalars(m, examples, seeds, 1e-2);
    const ct = await estimateScalars(m, examples, seeds, 1e-2, { constantTime: { slots: 5, length: 12 }, maxBatchTokens: 40 });
    expect(ct.g).toHaveLength(plain.g.length);
    ct.g.forEach((g, i) => expect(g).toBeCloseTo(plain.g[i]!, 6));
    // an empty batch still does the work of its slots, and releases nothing about it
    const empty = await estimateScalars(m, [], seeds, 1e-2, { constantTime: { slots: 5, length: 12 } });
    expect(empty.g).toHaveLength(0);
    m.dispose();
  });
});

describe('dpzo train --constant-time-steps', () => {
  it('records the shape in run.json, prints it and the doubled sensitivity, and trains', async () => {
    const data = join(tmp.dir, 'train.jsonl');
    writeFileSync(data, Array.from({ length: 200 }, (_, i) => JSON.stringify({ input_ids: [1, 2 + (i % 5), 3, 4].slice(0, 2 + (i % 3)) })).join('\n') + '\n');
    const out = join(tmp.dir, 'run');
    const r = await dpzo('train', '--model', modelDir, '--data', data, '--task', 'tokens', '--epsilon', '8', '--delta', '1e-5', '--accountant', 'rdp', '--sample-rate', '0.05', '--batch-size', '10', '--steps', '4', '--max-length', '8', '--constant-time-steps', '16', '--threads', '1', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    const screen = r.stdout + r.stderr;
    expect(screen).toMatch(/16 slots × 8 tokens/);
    expect(screen).toMatch(/σ·2C/);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(run.plan.constantTime).toEqual({ slots: 16, length: 8 });
    expect(readFileSync(join(out, 'trajectory.jsonl'), 'utf8').trim().split('\n')).toHaveLength(4);
  });
});
