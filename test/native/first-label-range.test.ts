// The core's batch check (native/core/batch_check.cpp) range-checked the labels from the second position of each
// sequence on, the ones the loss reads (position t is predicted from t-1), and let the first label of a sequence
// through unchecked: a batch whose labels[s][0] was outside the vocabulary and not -100 was scored as if it were
// well formed. Every label is now a token id or -100 (LossBatch's contract), the first one too, at every entry
// point that takes labels, through the public API: a rejection with a code, never a crash or a loss.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import { type NativeBackedModel } from '../../lib/model/model.js';
import { type Checkpoint, makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { expectRejection } from '../helpers/expect-error.js';

let tmp: { dir: string; cleanup: () => void };
let ckpt: Checkpoint;
let m: NativeBackedModel;
let V: number;

beforeAll(async () => {
  tmp = makeTempDir('dpzo-first-label-');
  ckpt = writeRandomCheckpoint(join(tmp.dir, 'm'), { family: 'gpt2', seed: 5 });
  m = await loadModel(ckpt.dir, { threads: 1 });
  V = m.config.vocabSize;
});
afterAll(() => {
  m?.dispose();
  tmp?.cleanup();
});

const inputIds = [
  [1, 2, 3, 4],
  [5, 6, 7],
];
// the labels of the second sequence with `first` at its first position (the first sequence's are well formed)
const labelsWithFirst = (first: number) => [
  [-100, 2, 3, 4],
  [first, 6, 7],
];

describe('the first label of a sequence', () => {
  it('out of the vocabulary (V, a large id, -1, -101): every labelled entry point rejects it with ERR_TOKEN_RANGE', async () => {
    for (const first of [V, V + 1000, 2 ** 31 - 1, -1, -101, -(2 ** 31)]) {
      const batch = { inputIds, labels: labelsWithFirst(first) };
      const mentions = ['position 0 of sequence 1', `[0, ${V})`, 'not -100'];
      const e = await expectRejection(() => m.perExampleLoss(batch), 'ERR_TOKEN_RANGE', mentions);
      // a batch is private data: the label itself is never in the message
      if (first !== -1 && first !== V) expect(e.message, String(first)).not.toContain(String(first));
      await expectRejection(() => m.perExampleLoss(batch, { at: [{ seed: 3, coeff: 1e-3 }] }), 'ERR_TOKEN_RANGE', mentions);
      await expectRejection(() => m.perExampleLossAt(batch, [[{ seed: 3, coeff: 1e-3 }], [{ seed: 3, coeff: -1e-3 }]]), 'ERR_TOKEN_RANGE', mentions);
      await expectRejection(() => m.perExampleLoss(batch, { allRows: true }), 'ERR_TOKEN_RANGE', mentions);
      await expectRejection(() => m.lossAndGradient(batch), 'ERR_TOKEN_RANGE', mentions);
      await expectRejection(() => m.perExampleGradNorms(batch), 'ERR_TOKEN_RANGE', mentions);
      await expectRejection(() => m.perExampleLoss({ ...batch, candidates: [2, 3, 4, 6, 7] }), 'ERR_TOKEN_RANGE', mentions);
    }
    // the first sequence's first label too (labels[0][0], the first label of the whole batch)
    const atZero = { inputIds, labels: [[V, 2, 3, 4], [5, 6, 7]] };
    await expectRejection(() => m.perExampleLoss(atZero), 'ERR_TOKEN_RANGE', ['position 0 of sequence 0']);
    // the model is still usable after the refusals
    expect(Number.isFinite((await m.perExampleLoss({ inputIds })).loss[1])).toBe(true);
  });

  it('is still never a target: -100 or any token id there leaves the losses and target counts unchanged', async () => {
    const ref = await m.perExampleLoss({ inputIds, labels: labelsWithFirst(-100) });
    expect(Array.from(ref.targets)).toEqual([3, 2]);
    for (const first of [0, 5, V - 1]) {
      const r = await m.perExampleLoss({ inputIds, labels: labelsWithFirst(first) });
      expect(Array.from(r.loss), String(first)).toEqual(Array.from(ref.loss));
      expect(Array.from(r.targets)).toEqual([3, 2]);
      const g = await m.lossAndGradient({ inputIds, labels: labelsWithFirst(first) });
      expect(Array.from(g.loss)).toEqual(Array.from(ref.loss));
    }
    // in candidate mode the first label need not be a candidate (it is not a target), only a token id or -100
    const cands = { inputIds, candidates: [2, 3, 4, 6, 7] };
    const c100 = await m.perExampleLoss({ ...cands, labels: labelsWithFirst(-100) });
    const cTok = await m.perExampleLoss({ ...cands, labels: labelsWithFirst(V - 1) });
    expect(Array.from(cTok.loss)).toEqual(Array.from(c100.loss));
  });
});
