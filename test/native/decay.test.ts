// Decoupled weight decay (Model.decay): θ ← factor·θ on trainable tensors of
// rank ≥ 2, one float32 multiply and one round-to-nearest-even per element;
// biases, norm weights and frozen tensors are untouched.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import { makeTempDir, VARIANTS, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { roundTo, type FloatDType } from '../helpers/safetensors.js';

const tmp = makeTempDir('dpzo-decay-');
afterAll(() => tmp.cleanup());

describe('Model.decay', () => {
  for (const dtype of ['F32', 'BF16', 'F16'] as FloatDType[]) {
    it(`scales matrices only, rounding once (${dtype})`, async () => {
      const dir = join(tmp.dir, `gpt2-${dtype}`);
      writeRandomCheckpoint(dir, { ...VARIANTS['gpt2']!, dtype, seed: 11 });
      // the MLP is trainable, attention is frozen
      const model = await loadModel(dir, { threads: 2, trainable: ['mlp', 'ln_'] });
      const names = model.parameterNames();
      const before = new Map(names.map((n) => [n, model.getParameter(n)]));
      const factor = 0.9;
      await model.decay(factor);
      const trainable = new Set(model.trainableNames());
      let decayed = 0;
      for (const n of names) {
        const a = before.get(n)!;
        const b = model.getParameter(n);
        const rank = model.parameterShape(n).length;
        if (trainable.has(n) && rank >= 2) {
          decayed++;
          for (let i = 0; i < a.length; i++) {
            const want = roundTo(Math.fround(a[i]! * Math.fround(factor)), dtype);
            if (b[i] !== want) throw new Error(`${n}[${i}]: ${b[i]} != ${want}`);
          }
        } else {
          expect(b, n).toEqual(a);
        }
      }
      expect(decayed).toBeGreaterThan(0);
      model.dispose();
    });
  }

  it('is independent of the thread count and rejects factors outside (0, 1]', async () => {
    const dir = join(tmp.dir, 'llama');
    writeRandomCheckpoint(dir, { ...VARIANTS['llama-gqa-untied']!, seed: 3 });
    const hashes: string[] = [];
    for (const threads of [1, 2]) {
      const m = await loadModel(dir, { threads });
      await m.decay(0.75);
      hashes.push(await m.weightsHash());
      for (const bad of [0, -0.5, 1.5, Number.NaN]) {
        await expect(m.decay(bad)).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
      }
      m.dispose();
    }
    expect(hashes[0]).toBe(hashes[1]);
  });
});
