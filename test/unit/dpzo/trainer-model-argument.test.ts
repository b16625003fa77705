// new DPZOTrainer(null | {}, opts).plan() failed with an uncoded TypeError ("reading 'config'").
import { describe, expect, it } from 'vitest';

import { DPZOTrainer, type TrainOptions } from '../../../lib/dpzo/index.js';
import type { Model } from '../../../lib/model/types.js';
import { FakeModel, tokenDataset } from '../../helpers/fake-model.js';

const train = { ...tokenDataset(Array.from({ length: 100 }, (_, i) => 3 + (i % 40))), maxLength: 128 };
const base: TrainOptions = { train, epsilon: 8, delta: 1e-5, batchSize: 16, steps: 2, accountant: 'rdp' };

describe('new DPZOTrainer(model, …) with a model that is not one', () => {
  for (const [name, model] of [
    ['null', null],
    ['{}', {}],
    ['undefined', undefined],
    ['a number', 3],
  ] as const) {
    it(`${name}: plan() and train() throw ERR_ARGUMENT naming the model argument`, async () => {
      const t = new DPZOTrainer(model as unknown as Model, base);
      expect(() => t.plan()).toThrow(
        expect.objectContaining({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/the model argument must be a loaded Model/) }),
      );
      await expect(t.train()).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
    });
  }

  it('a model still plans', () => {
    expect(new DPZOTrainer(new FakeModel(4), { ...base, train: tokenDataset(Array.from({ length: 100 }, () => 5)) }).plan().steps).toBe(2);
  });
});
