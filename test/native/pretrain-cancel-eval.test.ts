// A cancel (Ctrl-C, SIGTERM) during pretrain's held-out evaluations: the evaluation every --eval-every steps ran to the
// end without the signal, then the final evaluation ran in full too, and only then was the model so far saved (a
// SIGTERM's grace period could run out first). Now the evaluation in flight stops and a cancelled run is not evaluated
// again.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadDataset, loadModel } from '../../lib/index.js';
import { type PretrainOptions, pretrain } from '../../lib/pretrain/pretrain.js';
import { makeTempDir } from '../helpers/checkpoints.js';
import { writeCyclesJsonl, writeTinyModel } from '../helpers/tiny.js';

const tmp = makeTempDir('dpzo-pretrain-cancel-eval-');
afterAll(() => tmp.cleanup());
const dir = writeTinyModel(join(tmp.dir, 'model'));
const train = writeCyclesJsonl(join(tmp.dir, 'train.jsonl'), 20, 1);
const held = writeCyclesJsonl(join(tmp.dir, 'eval.jsonl'), 8, 2);

/** The model with its held-out forward (perExampleLoss) counted, and `onCall(n)` run before the n-th call goes in. */
async function counted(onCall: (n: number) => void) {
  const model = await loadModel(dir, { threads: 1, dtype: 'float32' });
  const inner = model.perExampleLoss.bind(model);
  const calls = { n: 0 };
  const wrapped = Object.assign(Object.create(model) as typeof model, {
    perExampleLoss: (...a: Parameters<typeof inner>) => {
      onCall(++calls.n);
      return inner(...a);
    },
  });
  const data = (f: string) => loadDataset(f, { task: { kind: 'tokens' }, modelDir: dir, config: model.config });
  return { model, wrapped, calls, train: data(train), eval: data(held) };
}

describe('pretrain cancelled during or before an evaluation', () => {
  it('a cancel that lands in the evaluation every evalEvery steps stops it and the run: no final evaluation', async () => {
    const controller = new AbortController();
    // call 1 is the evaluation before training, call 2 the one after step 2
    const c = await counted((n) => n === 2 && controller.abort());
    try {
      const steps: number[] = [];
      const report = await pretrain(c.wrapped, {
        train: c.train,
        eval: c.eval,
        steps: 10,
        batchSize: 4,
        evalEvery: 2,
        signal: controller.signal,
        onEval: (e) => void steps.push(e.step),
      });
      expect(report).toMatchObject({ stopReason: 'cancelled', steps: 2 });
      expect(report.evalAfter).toBeUndefined();
      expect(c.calls.n).toBe(2);
      expect(steps).toEqual([0]);
    } finally {
      c.model.dispose();
    }
  });

  it.each([
    ['a cancel between steps saves at once: the held-out set is not evaluated again', 10],
    ["a cancel in the last step's onStep (after the loop's last check) is a cancel: no final evaluation", 3],
  ])('%s', async (_, steps) => {
    const controller = new AbortController();
    const c = await counted(() => {});
    try {
      const report = await pretrain(c.wrapped, {
        train: c.train,
        eval: c.eval,
        steps,
        batchSize: 4,
        signal: controller.signal,
        onStep: (s) => {
          if (s.step === 2) controller.abort();
        },
      });
      expect(report).toMatchObject({ stopReason: 'cancelled', steps: 3 });
      expect(report.evalBefore).toBeDefined();
      expect(report.evalAfter).toBeUndefined();
      expect(c.calls.n).toBe(1);
    } finally {
      c.model.dispose();
    }
  });

  it('a cancel during the final evaluation stops it (it ran without the signal, to the end of the held-out set)', async () => {
    const controller = new AbortController();
    // call 1 is the evaluation before training; the final evaluation's first forward is call 2 (no evalEvery)
    const c = await counted((n) => n === 2 && controller.abort());
    try {
      const report = await pretrain(c.wrapped, { train: c.train, eval: c.eval, steps: 3, batchSize: 4, signal: controller.signal });
      expect(report).toMatchObject({ stopReason: 'cancelled', steps: 3 });
      expect(report.evalAfter).toBeUndefined();
      expect(c.calls.n).toBe(2);
    } finally {
      c.model.dispose();
    }
  });

  it('a run that completes is evaluated before, every evalEvery steps and after', async () => {
    const c = await counted(() => {});
    try {
      const steps: number[] = [];
      const report = await pretrain(c.wrapped, { train: c.train, eval: c.eval, steps: 4, batchSize: 4, evalEvery: 2, onEval: (e) => void steps.push(e.step) });
      expect(report.stopReason).toBe('completed');
      expect(steps).toEqual([0, 2, 4]);
      expect(report.evalAfter).toBeDefined();
    } finally {
      c.model.dispose();
    }
  });
});

describe('a resume after a cancel during an evaluation takes that evaluation', () => {
  /** pretrain on a fresh model whose n-th held-out forward aborts `abortAt` (never when undefined): the report, the evaluations and the weights' hash. */
  async function run(o: Partial<PretrainOptions>, abortAt?: number) {
    const controller = new AbortController();
    const c = await counted((n) => n === abortAt && controller.abort());
    try {
      const evals: { step: number; loss: number }[] = [];
      const report = await pretrain(c.wrapped, {
        train: c.train,
        eval: c.eval,
        steps: 6,
        batchSize: 4,
        evalEvery: 2,
        signal: controller.signal,
        onEval: (e) => void evals.push({ step: e.step, loss: e.result.loss }),
        ...o,
      });
      return { report, evals, hash: await c.model.weightsHash() };
    } finally {
      c.model.dispose();
    }
  }

  it('cancelled in the evaluation after step 2: checkpoint-2 says so, and the resume evaluates step 2 before step 3', async () => {
    const whole = await run({});
    expect(whole.evals.map((e) => e.step)).toEqual([0, 2, 4, 6]);
    const out = join(tmp.dir, 'eval-cancelled');
    // call 1 is the evaluation before training, call 2 the one after step 2
    const cut = await run({ outDir: out }, 2);
    expect(cut.report).toMatchObject({ stopReason: 'cancelled', steps: 2, checkpoints: [join(out, 'checkpoint-2')] });
    expect(JSON.parse(readFileSync(join(out, 'checkpoint-2', 'trainer_state.json'), 'utf8'))).toMatchObject({ step: 2, pendingEval: true });
    const resumed = await run({ resume: out });
    // the evaluation at step 2 is the uninterrupted run's (the metrics lacked it), then the run goes on as before
    expect(resumed.evals).toEqual(whole.evals.slice(1));
    expect(resumed.report).toMatchObject({ stopReason: 'completed', steps: 6, resumedFrom: 2 });
    expect(resumed.hash).toBe(whole.hash);
  });

  it('a checkpoint whose evaluation ran is not evaluated again on resume', async () => {
    const out = join(tmp.dir, 'eval-done');
    await run({ outDir: out, checkpointEvery: 2, steps: 3 });
    expect(JSON.parse(readFileSync(join(out, 'checkpoint-2', 'trainer_state.json'), 'utf8'))).not.toHaveProperty('pendingEval');
    const resumed = await run({ resume: join(out, 'checkpoint-2'), steps: 3 });
    expect(resumed.evals.map((e) => e.step)).toEqual([3]);
  });

  it('cancelled in the final evaluation: a checkpoint at the last step, from which a resume only evaluates', async () => {
    const whole = await run({ evalEvery: undefined });
    const out = join(tmp.dir, 'final-eval-cancelled');
    // no evalEvery: call 2 is the final evaluation
    const cut = await run({ outDir: out, evalEvery: undefined }, 2);
    expect(cut.report).toMatchObject({ stopReason: 'cancelled', steps: 6, checkpoints: [join(out, 'checkpoint-6')] });
    expect(cut.report.evalAfter).toBeUndefined();
    expect(existsSync(join(out, 'checkpoint-6', 'checkpoint.bin'))).toBe(true);
    const resumed = await run({ resume: out, evalEvery: undefined, onStep: () => expect.unreachable('no step is taken again') });
    expect(resumed.report).toMatchObject({ stopReason: 'completed', steps: 6, resumedFrom: 6, evalAfter: whole.report.evalAfter });
    expect(resumed.evals).toEqual([{ step: 6, loss: whole.report.evalAfter!.loss }]);
    expect(resumed.hash).toBe(whole.hash);
  });
});
