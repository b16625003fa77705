// The plan's bounds on a constant-time step: a --constant-time-steps of 10^9 was accepted, and the first step's padded
// slots grew the CLI past 14 GB in one synchronous loop that held off SIGTERM.
import { describe, expect, it } from 'vitest';

import { makePlan, type TrainOptions } from '../../../lib/dpzo/index.js';
import { MAX_CONSTANT_TIME_SLOTS, MAX_CONSTANT_TIME_TOKENS } from '../../../lib/dpzo/options.js';
import { tokenDataset } from '../../helpers/fake-model.js';

const train = { ...tokenDataset(Array.from({ length: 100 }, (_, i) => 3 + (i % 40))), maxLength: 128 };
const base: TrainOptions = { train, epsilon: 8, delta: 1e-5, batchSize: 16, steps: 2, accountant: 'rdp' };

describe('the constant-time slots of a plan', () => {
  it('refuses more slots than a step may hold, naming constantTimeSteps, before any allocation', () => {
    const t0 = performance.now();
    expect(() => makePlan({ ...base, constantTimeSteps: 1_000_000_000 })).toThrow(
      expect.objectContaining({
        code: 'ERR_TRAIN_OPTION',
        message: expect.stringMatching(/^constantTimeSteps \(1000000000\) is more than the most slots a step may hold, 1048576$/),
      }),
    );
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(() => makePlan({ ...base, constantTimeSteps: MAX_CONSTANT_TIME_SLOTS + 1 })).toThrow(/^constantTimeSteps /);
  });

  it('refuses slots whose tokens (K × the slot length) exceed the bound, and keeps the plans at the bounds', () => {
    const K = MAX_CONSTANT_TIME_TOKENS / 128;
    expect(makePlan({ ...base, constantTimeSteps: K }).constantTime).toEqual({ slots: K, length: 128 });
    expect(() => makePlan({ ...base, constantTimeSteps: K + 1 })).toThrow(
      expect.objectContaining({
        code: 'ERR_TRAIN_OPTION',
        message: expect.stringMatching(/^constantTimeSteps \(262145\) × the slot length 128 is 33554560 tokens a step/),
      }),
    );
    const short = { ...train, maxLength: 1 };
    expect(makePlan({ ...base, train: short, constantTimeSteps: MAX_CONSTANT_TIME_SLOTS }).constantTime?.slots).toBe(MAX_CONSTANT_TIME_SLOTS);
    expect(makePlan({ ...base, constantTimeSteps: 101 }).constantTime).toEqual({ slots: 101, length: 128 });
  });
});
