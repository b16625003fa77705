// getTrainable / setTrainable, how a DP-SGD checkpoint is taken and restored: the trainable parameters
// flat in canonical order (getParameter's values at each tensor's globalOffset), set back bit for bit,
// frozen tensors untouched; bad input refused before anything is written; float32 on the CPU only.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import { makeTempDir } from '../helpers/checkpoints.js';
import { writeTinyModel } from '../helpers/tiny.js';

const tmp = makeTempDir('dpzo-set-trainable-');
afterAll(() => tmp.cleanup());
const dir = join(tmp.dir, 'model');
writeTinyModel(dir);

describe('getTrainable / setTrainable', () => {
  it('reads the trainable parameters in canonical order and sets them exactly (NaN payloads, −0 and subnormals included)', async () => {
    const m = await loadModel(dir, { threads: 2, trainable: ['layers.1', 'norm'] });
    try {
      const flat = await m.getTrainable();
      expect(flat).toHaveLength(m.numTrainable);
      const frozen = new Map(m.tensors().filter((t) => !t.trainable).map((t) => [t.name, m.getParameter(t.name)]));
      for (const t of m.tensors().filter((t) => t.trainable)) {
        expect(Buffer.from(flat.subarray(t.globalOffset, t.globalOffset + t.numel).slice().buffer).equals(Buffer.from(m.getParameter(t.name).buffer)), t.name).toBe(
          true,
        );
      }
      const values = Float32Array.from({ length: m.numTrainable }, (_, i) => Math.fround(Math.cos(i) * 0.3));
      values[0] = -0;
      values[1] = 1e-45; // the smallest subnormal
      values[2] = 3.4e38;
      await m.setTrainable(values);
      const back = await m.getTrainable();
      expect(Buffer.from(back.buffer).equals(Buffer.from(values.buffer))).toBe(true);
      for (const [name, was] of frozen) expect(Buffer.from(m.getParameter(name).buffer).equals(Buffer.from(was.buffer)), name).toBe(true);
      // the overflow guard of later updates sees the new values (3.4e38 + a step would overflow)
      await expect(m.addDense(Float32Array.from({ length: m.numTrainable }, () => 1e38))).rejects.toMatchObject({ code: 'ERR_NON_FINITE' });
    } finally {
      m.dispose();
    }
  });

  it('refuses a wrong length, a non-finite value or a plain array, writing nothing', async () => {
    const m = await loadModel(dir, { threads: 1 });
    try {
      const hash = await m.weightsHash();
      await expect(m.setTrainable(new Float32Array(m.numTrainable + 1))).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
      const nan = new Float32Array(m.numTrainable);
      nan[m.numTrainable - 1] = NaN;
      await expect(m.setTrainable(nan)).rejects.toMatchObject({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/not finite/) });
      await expect(m.setTrainable([1, 2] as unknown as Float32Array)).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
      expect(await m.weightsHash()).toBe(hash);
    } finally {
      m.dispose();
    }
  });

  it('a BF16 model is refused (ERR_DTYPE)', async () => {
    const m = await loadModel(dir, { threads: 1, dtype: 'bfloat16' });
    try {
      await expect(m.getTrainable()).rejects.toMatchObject({ code: 'ERR_DTYPE' });
      await expect(m.setTrainable(new Float32Array(m.numTrainable))).rejects.toMatchObject({ code: 'ERR_DTYPE' });
    } finally {
      m.dispose();
    }
  });
});
