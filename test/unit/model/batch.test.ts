// A loss batch is private data (API path: model.loss / perExampleLoss / lossAndGradient pack it here): a
// refusal names the sequence and position, never a token id, a label or a length.
import { describe, expect, it } from 'vitest';

import { packLossBatch } from '../../../lib/model/batch.js';

function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toMatchObject({ code: 'ERR_BATCH' });
    return (e as Error).message;
  }
  throw new Error('accepted');
}

describe('packLossBatch refusals', () => {
  it('never quote a value or a length of the batch', () => {
    const m1 = message(() =>
      packLossBatch({
        inputIds: [
          [1, 2],
          [3, 987654.5],
        ],
      }),
    );
    expect(m1).toBe('inputIds[1][1] is not an integer');
    const m2 = message(() => packLossBatch({ inputIds: [[1, 2, 3, 4, 5, 6, 7]], labels: [[1, 2, 3]] }));
    expect(m2).toBe('labels[0] and inputIds[0] differ in length');
    const m3 = message(() =>
      packLossBatch({
        inputIds: [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        labels: [[1, 2]],
      }),
    );
    expect(m3).toBe('labels must be an array with one sequence per sequence of inputIds');
  });
});
