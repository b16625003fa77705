// The trained stories260K checkpoint (../shared/data/models): the float64
// reference predicts like a trained model, and the native forward matches it.
// Skipped, saying so, where ../shared is absent.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, beforeAll } from 'vitest';

import { loadModel } from '../../lib/index.js';
import { HAVE_STORIES260K, STORIES260K } from '../helpers/shared.js';
import { readTensorsF64 } from '../helpers/safetensors.js';
import { RefModel, entropy, sequenceLoss } from '../reference/forward-f64.js';

function expectClose(got: number, want: number, rel: number, what: string): void {
  const err = Math.abs(got - want) / Math.max(Math.abs(want), 1e-30);
  if (!(err <= rel)) expect.fail(`${what}: native ${got}, reference ${want}, relative error ${err.toExponential(2)} > ${rel}`);
}

function expectRowClose(got: ArrayLike<number>, want: ArrayLike<number>, rel: number, what: string): void {
  expect(got.length, `${what} length`).toBe(want.length);
  let scale = 1;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  let worst = 0;
  let at = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i]! - want[i]!) / scale;
    if (!(e <= worst)) {
      worst = e;
      at = i;
    }
  }
  if (!(worst <= rel))
    expect.fail(`${what}[${at}]: native ${got[at]}, reference ${want[at]}, error ${worst.toExponential(2)} of scale ${scale.toFixed(3)} > ${rel}`);
}

describe.skipIf(!HAVE_STORIES260K)('float64 reference on stories260K', () => {
  const dir = STORIES260K;
  const ids = [1, 461, 401, 378, 455, 473, 456, 435];

  it('predicts like a trained model: entropy mostly 2.5-3 nats, loss well under uniform', () => {
    const ref = new RefModel(
      JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>,
      readTensorsF64(join(dir, 'model.safetensors')),
    );
    const rows = ref.logits(ids);
    const h = rows.map(entropy);
    const mean = h.reduce((s, x) => s + x, 0) / h.length;
    const median = [...h].sort((a, b) => a - b)[h.length / 2]!;
    expect(median).toBeGreaterThan(2.5);
    expect(median).toBeLessThan(3.05);
    expect(mean).toBeGreaterThan(2.2);
    expect(mean).toBeLessThan(3);
    for (const x of h) expect(x).toBeLessThan(Math.log(512) - 2);
    expect(sequenceLoss(rows, ids).loss).toBeLessThan(5.5);
  });
});

describe.skipIf(!HAVE_STORIES260K)('stories260K (a trained Llama, F32, tied, GQA 8/4)', () => {
  const dir = STORIES260K;
  const ids = [1, 461, 401, 378, 455, 473, 456, 435];
  let ref: RefModel;
  beforeAll(() => {
    ref = new RefModel(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>, readTensorsF64(join(dir, 'model.safetensors')));
  });

  it('native logits match the reference to 1e-4; losses to 1e-5', async () => {
    const m = await loadModel(dir, { threads: 2 });
    try {
      expect(m.config).toMatchObject({ modelType: 'llama', numHeads: 8, numKvHeads: 4, headDim: 8, tieWordEmbeddings: true, vocabSize: 512 });
      const want = ref.logits(ids);
      const [got] = await m.logits({ inputIds: [ids] });
      const V = 512;
      want.forEach((row, t) => expectRowClose(got!.subarray(t * V, (t + 1) * V), row, 1e-4, `logits at ${t}`));
      const r = await m.perExampleLoss({ inputIds: [ids, ids.slice(0, 5)] });
      expectClose(r.loss[0]!, sequenceLoss(want, ids).loss, 1e-5, 'loss');
      expectClose(r.loss[1]!, sequenceLoss(want.slice(0, 5), ids.slice(0, 5)).loss, 1e-5, 'loss of the prefix');
      // a trained model: well below the 6.24 nats of a uniform guess
      expect(sequenceLoss(want, ids).loss).toBeLessThan(5.5);
    } finally {
      m.dispose();
    }
  });
});
