// A model call runs later than it is made (after the calls queued before it, and never before the caller's synchronous
// code ends): what the batch holds is taken at the call. inputIds and labels were copied, an Int32Array of candidates was
// not, so changing it after the call gave the loss over other candidates.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import type { Model } from '../../lib/index.js';
import { makeTempDir } from '../helpers/checkpoints.js';
import { writeTinyModel } from '../helpers/tiny.js';

let tmp: { dir: string; cleanup: () => void };
let model: Model;

beforeAll(async () => {
  tmp = makeTempDir('dpzo-api-alias-');
  model = await loadModel(writeTinyModel(`${tmp.dir}/model`), { threads: 1 });
});

afterAll(() => {
  model.dispose();
  tmp.cleanup();
});

describe('a batch is taken when the call is made', () => {
  it('candidates as an Int32Array changed after the call do not change its loss', async () => {
    const inputIds = [[1, 2, 3, 4]];
    const labels = [[-100, -100, -100, 5]];
    const want = await model.perExampleLoss({ inputIds, labels, candidates: new Int32Array([5, 6]) });
    const candidates = new Int32Array([5, 6]);
    const p = model.perExampleLoss({ inputIds, labels, candidates });
    candidates[1] = 7;
    const got = await p;
    expect(Array.from(got.loss)).toEqual(Array.from(want.loss));
    expect(Array.from(got.candidateLogits ?? [])).toEqual(Array.from(want.candidateLogits ?? []));
  });

  it('inputIds and labels as Int32Arrays, changed after the call (as before)', async () => {
    const want = await model.perExampleLoss({ inputIds: [[1, 2, 3, 4]], labels: [[-100, 2, 3, 4]] });
    const ids = new Int32Array([1, 2, 3, 4]);
    const lab = new Int32Array([-100, 2, 3, 4]);
    const p = model.perExampleLoss({ inputIds: [ids], labels: [lab] });
    ids[2] = 9;
    lab[1] = -100;
    expect(Array.from((await p).loss)).toEqual(Array.from(want.loss));
  });
});

describe('logits', () => {
  it('positions changed after the call do not change how the rows are split', async () => {
    const inputIds = [
      [1, 2, 3],
      [4, 5, 6],
    ];
    const want = await model.logits({ inputIds, positions: [[0], [1, 2]] });
    const positions = [[0], [1, 2]];
    const p = model.logits({ inputIds, positions });
    positions[0]!.push(1);
    const got = await p;
    expect(got.map((r) => r.length)).toEqual(want.map((r) => r.length));
    expect(got.map((r) => Array.from(r))).toEqual(want.map((r) => Array.from(r)));
  });
});
