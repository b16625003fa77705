// addDense, the dense step of gradient methods (`dpzo pretrain`): every trainable element becomes
// fl(θ + δ), or fl(f·fl(θ + δ)) on weight matrices with a decay factor (vectors undecayed, as update()),
// frozen tensors untouched, in the canonical layout of lossAndGradient's gradient; bad input is refused
// before anything is written. And one gradient step along −∇ℓ lowers the loss (the two fit together).
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import { makeTempDir } from '../helpers/checkpoints.js';
import { writeTinyModel } from '../helpers/tiny.js';

const tmp = makeTempDir('dpzo-add-dense-');
afterAll(() => tmp.cleanup());
const dir = join(tmp.dir, 'model');
writeTinyModel(dir);

describe('addDense', () => {
  it('θ ← fl(f·fl(θ + δ)) per element in canonical order; vectors and frozen tensors as specified', async () => {
    const m = await loadModel(dir, { threads: 2, trainable: ['layers.0', 'norm'] });
    try {
      const before = new Map(m.tensors().map((t) => [t.name, m.getParameter(t.name)]));
      const delta = Float32Array.from({ length: m.numTrainable }, (_, i) => Math.fround(Math.sin(i) * 1e-2));
      await m.addDense(delta, { decay: 0.9 });
      let checked = 0;
      for (const t of m.tensors()) {
        const now = m.getParameter(t.name);
        const was = before.get(t.name)!;
        if (!t.trainable) {
          expect(Buffer.from(now.buffer).equals(Buffer.from(was.buffer)), t.name).toBe(true);
          continue;
        }
        const matrix = t.shape.length >= 2;
        for (let e = 0; e < t.numel; e++) {
          const sum = Math.fround(was[e]! + delta[t.globalOffset + e]!);
          expect(now[e], `${t.name}[${e}]`).toBe(matrix ? Math.fround(Math.fround(0.9) * sum) : sum);
        }
        checked += t.numel;
      }
      expect(checked).toBe(m.numTrainable);
    } finally {
      m.dispose();
    }
  });

  it('refuses a wrong length, a non-finite value or a bad decay, writing nothing', async () => {
    const m = await loadModel(dir, { threads: 1 });
    try {
      const hash = await m.weightsHash();
      await expect(m.addDense(new Float32Array(m.numTrainable - 1))).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
      const nan = new Float32Array(m.numTrainable);
      nan[7] = NaN;
      await expect(m.addDense(nan)).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
      await expect(m.addDense(new Float32Array(m.numTrainable), { decay: 1.5 })).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
      expect(await m.weightsHash()).toBe(hash);
    } finally {
      m.dispose();
    }
  });

  it('a BF16 model is refused (ERR_DTYPE)', async () => {
    const m = await loadModel(dir, { threads: 1, dtype: 'bfloat16' });
    try {
      await expect(m.addDense(new Float32Array(m.numTrainable))).rejects.toMatchObject({ code: 'ERR_DTYPE' });
    } finally {
      m.dispose();
    }
  });

  it('a small step along −∇ℓ lowers the loss', async () => {
    const m = await loadModel(dir, { threads: 1 });
    try {
      const batch = { inputIds: [[1, 2, 3, 4, 5, 6, 7, 8], [3, 1, 4, 1, 5, 9, 2, 6]] };
      const { loss, grad } = await m.lossAndGradient!(batch);
      const before = (loss[0]! + loss[1]!) / 2;
      await m.addDense(grad.map((g) => -1e-2 * g));
      const after = await m.perExampleLoss(batch);
      expect((after.loss[0]! + after.loss[1]!) / 2).toBeLessThan(before);
    } finally {
      m.dispose();
    }
  });
});
