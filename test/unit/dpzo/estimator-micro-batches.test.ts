// estimateScalars over a batch split into micro-batches (maxBatchTokens below the batch's tokens, no constant-time
// slots): each example's g_ik lands in its own row whatever call evaluated it, so the estimate equals the one-call
// estimate bit for bit. Only the constant-time native test split a step's batch before, so an offset dropped inside
// a micro-batch (every call writing rows from 0) passed the unit tests.
import { describe, expect, it } from 'vitest';

import { estimateScalars } from '../../../lib/dpzo/estimator.js';
import { FakeModel, tokenDataset } from '../../helpers/fake-model.js';

describe('estimateScalars in micro-batches', () => {
  it('gives every example its own g_ik, equal to the one-call estimate, for each direction', async () => {
    const examples = tokenDataset([3, 17, 5, 40, 9, 28, 11]).examples; // 2 tokens each
    const seeds = [11n, 12n, 13n];
    const whole = new FakeModel(
      8,
      Array.from({ length: 8 }, (_, j) => 0.1 * j - 0.3),
    );
    const one = await estimateScalars(whole, examples, seeds, 1e-3);
    const split = new FakeModel(
      8,
      Array.from({ length: 8 }, (_, j) => 0.1 * j - 0.3),
    );
    // a call at two points holds twice its tokens: 6 tokens per call are 3 per point, one example per micro-batch
    const parts = await estimateScalars(split, examples, seeds, 1e-3, { maxBatchTokens: 6 });
    expect(split.log.filter((l) => l.startsWith('lossAt'))).toHaveLength(examples.length * seeds.length);
    expect(whole.log.filter((l) => l.startsWith('lossAt'))).toHaveLength(seeds.length);
    expect(Array.from(parts.g)).toEqual(Array.from(one.g));
    expect(parts.loss).toBe(one.loss);
    // and the rows differ from example to example (a test of equal rows would pass with the offset dropped)
    for (let k = 0; k < seeds.length; k++) expect(new Set(examples.map((_, i) => one.g[i * seeds.length + k])).size).toBe(examples.length);
  });
});
