// `dpzo pretrain --save-total-limit N` (library: saveTotalLimit): every checkpoint of a run was kept, each about 4× the
// float32 weights (about 2 GB for GPT-2-124M), so a long run filled the disk. Now only the run's newest N stay; the
// final model, a resume (bit-exact) and anything else in --out are as they were.
import { mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadDataset, loadModel } from '../../lib/index.js';
import { isCoded } from '../../lib/errors.js';
import { type PretrainOptions, pretrain } from '../../lib/pretrain/pretrain.js';
import { makeTempDir } from '../helpers/checkpoints.js';
import { type CliResult, dpzo, expectOneLineFailure } from '../helpers/cli.js';
import { writeCyclesJsonl, writeTinyModel } from '../helpers/tiny.js';

const tmp = makeTempDir('dpzo-pretrain-save-limit-');
afterAll(() => tmp.cleanup());
const MODEL = writeTinyModel(join(tmp.dir, 'model'));
const TRAIN = writeCyclesJsonl(join(tmp.dir, 'train.jsonl'), 22, 1);

const SETTINGS = { steps: 10, batchSize: 4, lr: 3e-2, warmupSteps: 2, seed: 5, checkpointEvery: 2 } satisfies Partial<PretrainOptions>;

/** pretrain on a fresh copy of the tiny model: the report and the final weights' bytes. */
async function run(o: Partial<PretrainOptions>) {
  const model = await loadModel(MODEL, { threads: 1, dtype: 'float32' });
  try {
    const train = loadDataset(TRAIN, { task: { kind: 'tokens' }, modelDir: MODEL, config: model.config });
    const report = await pretrain(model, { train, ...SETTINGS, ...o });
    const t = await model.getTrainable!();
    return { report, weights: Buffer.from(t.buffer, t.byteOffset, t.byteLength) };
  } finally {
    model.dispose();
  }
}

const list = (dir: string) => readdirSync(dir).sort();
const bytes = (...p: string[]) => readFileSync(join(...p));

describe('pretrain saveTotalLimit (library)', () => {
  it('keeps the newest two checkpoints of 2, 4, 6, 8 and ends with the same weights as without the limit', async () => {
    const all = join(tmp.dir, 'lib-all');
    const two = join(tmp.dir, 'lib-two');
    const a = await run({ outDir: all });
    const b = await run({ outDir: two, saveTotalLimit: 2 });
    expect(list(all)).toEqual(['checkpoint-2', 'checkpoint-4', 'checkpoint-6', 'checkpoint-8']);
    expect(list(two)).toEqual(['checkpoint-6', 'checkpoint-8']);
    // (every save is reported; the older ones are gone since)
    expect(b.report.checkpoints).toEqual([2, 4, 6, 8].map((s) => join(two, `checkpoint-${s}`)));
    expect(b.weights.equals(a.weights)).toBe(true);
    for (const c of ['checkpoint-6', 'checkpoint-8'])
      for (const f of ['model.safetensors', 'config.json']) expect(bytes(two, c, f).equals(bytes(all, c, f)), `${c}/${f}`).toBe(true);
  });

  it('a cancelled run keeps its newest checkpoints, and the resume from the latest is bit-exact', async () => {
    const whole = await run({});
    const out = join(tmp.dir, 'lib-cancelled');
    const controller = new AbortController();
    const cut = await run({
      outDir: out,
      saveTotalLimit: 2,
      signal: controller.signal,
      onStep: (s) => {
        if (s.step === 6) controller.abort(); // after 7 steps: checkpoints 2, 4, 6, then 7 at the cancel
      },
    });
    expect(cut.report).toMatchObject({ stopReason: 'cancelled', steps: 7 });
    expect(list(out)).toEqual(['checkpoint-6', 'checkpoint-7']);
    const resumed = await run({ outDir: out, resume: out, saveTotalLimit: 2 });
    expect(resumed.report).toMatchObject({ stopReason: 'completed', steps: 10, resumedFrom: 7 });
    expect(resumed.weights.equals(whole.weights)).toBe(true);
    expect(resumed.report.trainLoss).toEqual(whole.report.trainLoss);
    // checkpoint-8 saved by the resumed run, with the one resumed from (the newest two)
    expect(list(out)).toEqual(['checkpoint-7', 'checkpoint-8']);
  });

  it('touches nothing but its own run\'s checkpoint-<step> directories', async () => {
    const out = join(tmp.dir, 'lib-others');
    const other = join(tmp.dir, 'lib-other-run');
    await run({ outDir: other, steps: 3 }); // another run's checkpoint-2 (its own run id)
    mkdirSync(out);
    mkdirSync(join(out, 'checkpoint-x'));
    writeFileSync(join(out, 'checkpoint-x', 'keep.txt'), 'x');
    writeFileSync(join(out, 'notes.txt'), 'mine');
    writeFileSync(join(out, 'checkpoint-3'), 'a file, not a directory');
    mkdirSync(join(out, 'checkpoint-1')); // no trainer_state.json: not proven to be the run's
    writeFileSync(join(out, 'checkpoint-1', 'model.safetensors'), 'old');
    mkdirSync(join(out, 'checkpoint-0'));
    writeFileSync(join(out, 'checkpoint-0', 'trainer_state.json'), readFileSync(join(other, 'checkpoint-2', 'trainer_state.json')));
    symlinkSync(join(other, 'checkpoint-2'), join(out, 'checkpoint-5'));
    await run({ outDir: out, saveTotalLimit: 1 });
    expect(list(out)).toEqual(['checkpoint-0', 'checkpoint-1', 'checkpoint-3', 'checkpoint-5', 'checkpoint-8', 'checkpoint-x', 'notes.txt']);
    expect(readFileSync(join(out, 'checkpoint-x', 'keep.txt'), 'utf8')).toBe('x');
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
    expect(readFileSync(join(out, 'checkpoint-1', 'model.safetensors'), 'utf8')).toBe('old');
    expect(list(join(out, 'checkpoint-5'))).toEqual(list(join(other, 'checkpoint-2')));
    expect(list(other)).toEqual(['checkpoint-2']);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses saveTotalLimit %s (ERR_TRAIN_OPTION) before any step', async (n) => {
    const out = join(tmp.dir, `lib-bad-${String(n)}`);
    let steps = 0;
    const e = await run({ outDir: out, saveTotalLimit: n, onStep: () => void steps++ }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isCoded(e) && e.code).toBe('ERR_TRAIN_OPTION');
    expect((e as Error).message).toMatch(/saveTotalLimit must be a positive integer/);
    expect(steps).toBe(0);
  });
});

interface Out {
  steps: number;
  weightsHash: string;
  resumedFrom: number;
}
const json = (r: CliResult) => JSON.parse(r.stdout.trim().split('\n').pop()!) as Out;
const ARGS = ['--model', MODEL, '--data', TRAIN, '--task', 'tokens', '--batch-size', '4', '--lr', '0.03', '--seed', '5', '--threads', '1', '--json'];
const cli = (...extra: string[]) => dpzo('pretrain', ...ARGS, '--steps', '10', '--checkpoint-every', '2', ...extra);

describe('dpzo pretrain --save-total-limit', () => {
  it('keeps the newest two, the same final model as without it, and a crashed run resumes bit-exact', { timeout: 90_000 }, async () => {
    const all = join(tmp.dir, 'cli-all');
    const two = join(tmp.dir, 'cli-two');
    const [a, b] = await Promise.all([cli('--out', all), cli('--out', two, '--save-total-limit', '2')]);
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    const checkpoints = (dir: string) => list(dir).filter((f) => f.startsWith('checkpoint-'));
    expect(checkpoints(all)).toEqual(['checkpoint-2', 'checkpoint-4', 'checkpoint-6', 'checkpoint-8']);
    expect(checkpoints(two)).toEqual(['checkpoint-6', 'checkpoint-8']);
    // nothing else went: the same files beside the checkpoints, and the same final model, byte for byte
    expect(list(two).filter((f) => !f.startsWith('checkpoint-'))).toEqual(list(all).filter((f) => !f.startsWith('checkpoint-')));
    expect(bytes(two, 'model.safetensors').equals(bytes(all, 'model.safetensors'))).toBe(true);
    expect(json(b).weightsHash).toBe(json(a).weightsHash);
    // killed after checkpoint-8 (its final model and completion record never written): resumed from the latest kept
    for (const f of list(two)) if (!f.startsWith('checkpoint-') && f !== 'pretrain-metrics.jsonl') rmSync(join(two, f), { recursive: true });
    const r = await dpzo('pretrain', ...ARGS, '--steps', '10', '--checkpoint-every', '2', '--save-total-limit', '2', '--resume', two);
    expect(r.status, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ steps: 10, resumedFrom: 8, weightsHash: json(a).weightsHash });
    expect(bytes(two, 'model.safetensors').equals(bytes(all, 'model.safetensors'))).toBe(true);
    expect(checkpoints(two)).toEqual(['checkpoint-6', 'checkpoint-8']);
  });

  it.each(['0', '-2', '1.5', 'all'])('refuses --save-total-limit %s in one line (exit 2), before --out is made', { timeout: 30_000 }, async (n) => {
    const out = join(tmp.dir, `cli-bad-${n}`);
    expectOneLineFailure(await cli('--out', out, '--save-total-limit', n), /--save-total-limit.*must be (a positive integer|an integer)/);
    expect(() => readdirSync(out)).toThrow();
  });
});
