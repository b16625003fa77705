// Arguments of the model API that were let through to the core or silently read as something else: a dtype named after an
// Object.prototype member, a coefficient finite as a double but not as the core's float32, a non-boolean allRows, a
// trainable entry that is not a string. Each is a coded error naming the argument, and θ is untouched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import type { Model } from '../../lib/index.js';
import { makeTempDir } from '../helpers/checkpoints.js';
import { expectRejection } from '../helpers/expect-error.js';
import { writeTinyModel } from '../helpers/tiny.js';

let tmp: { dir: string; cleanup: () => void };
let dir: string;
let model: Model;

beforeAll(async () => {
  tmp = makeTempDir('dpzo-api-args-');
  dir = writeTinyModel(`${tmp.dir}/model`);
  model = await loadModel(dir, { threads: 1 });
});

afterAll(() => {
  model.dispose();
  tmp.cleanup();
});

const batch = { inputIds: [[1, 2, 3]] };

describe('loadModel', () => {
  it.each(['toString', 'constructor', 'hasOwnProperty'])("dtype '%s' (an Object.prototype member) is refused by name", async (dtype) => {
    // it reached the core as a function: "dtype must be an integer"
    await expectRejection(() => loadModel(dir, { dtype: dtype as never }), 'ERR_ARGUMENT', ['float32, float16 or bfloat16', dtype]);
  });

  it('a trainable entry that is not a string names its index', async () => {
    // the core said "trainable[i] must be a string"
    await expectRejection(() => loadModel(dir, { trainable: ['norm', 3 as never] }), 'ERR_ARGUMENT', ['trainable[1]']);
  });
});

describe('coefficients beyond float32', () => {
  it('perturb: scale 1e39 is refused as the scale, not as an update coefficient', async () => {
    const before = await model.weightsHash();
    const e = await expectRejection(() => model.perturb(1, 1e39), 'ERR_ARGUMENT', ['scale', 'float32']);
    expect(e.message).not.toMatch(/update/);
    expect(await model.weightsHash()).toBe(before);
  });

  it('update, perExampleLoss at, perExampleLossAt name the pair', async () => {
    await expectRejection(() => model.update([{ seed: 1, coeff: -1e39 }]), 'ERR_ARGUMENT', ['pairs[0].coeff', 'float32']);
    await expectRejection(() => model.perExampleLoss(batch, { at: [{ seed: 1, coeff: 1e39 }] }), 'ERR_ARGUMENT', ['at[0].coeff', 'float32']);
    await expectRejection(() => model.perExampleLossAt(batch, [[{ seed: 1, coeff: 1 }], [{ seed: 1, coeff: 1e300 }]]), 'ERR_ARGUMENT', ['points[1][0].coeff']);
  });

  it('the largest float32 itself is not refused as out of range', async () => {
    // the core may refuse it for its own reason (weights would overflow), never as "within the float32 range"
    const e = await model.update([{ seed: 1, coeff: 3.4028234663852886e38 }]).catch((err: Error) => err);
    if (e instanceof Error) expect(e.message).not.toMatch(/float32 range/);
  });
});

describe('allRows', () => {
  it.each(['yes', 1, null])('a non-boolean allRows (%s) is refused, not read as false', async (v) => {
    await expectRejection(() => model.perExampleLoss(batch, { allRows: v as never }), 'ERR_ARGUMENT', ['allRows', 'boolean']);
    await expectRejection(() => model.perExampleLossAt(batch, [[{ seed: 1, coeff: 1e-3 }]], { allRows: v as never }), 'ERR_ARGUMENT', ['allRows']);
  });

  it('true and false still work', async () => {
    const a = await model.perExampleLoss(batch, { allRows: true });
    const b = await model.perExampleLoss(batch, { allRows: false });
    expect(Array.from(a.loss)).toEqual(Array.from(b.loss));
  });
});
