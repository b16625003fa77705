// A run's steps are bounded (MAX_STEPS, 10^8): `--steps 99999999999` (or `--epochs 1e9`) was accepted in silence, and the
// noise calibrated for that many releases drowned every update of a run that would never end.
import { describe, expect, it } from 'vitest';

import { makePlan, type TrainOptions } from '../../../lib/dpzo/index.js';
import { MAX_STEPS } from '../../../lib/dpzo/options.js';
import { tokenDataset } from '../../helpers/fake-model.js';

const train = tokenDataset(Array.from({ length: 100 }, (_, i) => 3 + (i % 40)));
const base: TrainOptions = { train, epsilon: 8, delta: 1e-5, batchSize: 10, accountant: 'rdp' };

describe('the most steps a run may plan', () => {
  it('is 10^8: one more, by steps or by epochs, is refused naming the field', () => {
    expect(makePlan({ ...base, steps: 1e8 }).steps).toBe(1e8);
    expect(() => makePlan({ ...base, steps: 1e8 + 1 })).toThrow(
      expect.objectContaining({ code: 'ERR_TRAIN_OPTION', message: 'steps (100000001) is more than the most a run may plan, 100000000' }),
    );
    expect(() => makePlan({ ...base, steps: 99_999_999_999 })).toThrow(expect.objectContaining({ code: 'ERR_TRAIN_OPTION' }));
    // 1e9 epochs of 100 examples in batches of 10: 10^10 steps
    expect(() => makePlan({ ...base, epochs: 1e9 })).toThrow(
      expect.objectContaining({ code: 'ERR_TRAIN_OPTION', message: expect.stringMatching(/^epochs \(1000000000\) gives 10000000000 steps, more than/) }),
    );
    expect(MAX_STEPS).toBe(1e8);
  });
});
