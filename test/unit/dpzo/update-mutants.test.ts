// Mutation-found gap: the decoupled weight decay of a step is θ ← (1 − ηλ)·θ (η the step's learning rate), not
// (1 − λ)·θ; no unit test pinned the factor, and runs with lr ≠ 1 would have decayed 1/η times too fast.
import { describe, expect, it } from 'vitest';

import { applyUpdate, decayFactor, updatePairs } from '../../../lib/dpzo/update.js';
import { FakeModel } from '../../helpers/fake-model.js';

describe('the DP-ZO update (mutants)', () => {
  it('decayFactor is 1 − ηλ, and 1 without decay or without a step', () => {
    expect(decayFactor(0.1, 0.01)).toBe(1 - 0.1 * 0.01);
    expect(decayFactor(2e-3, 0.5)).toBe(1 - 2e-3 * 0.5);
    expect(decayFactor(0.1, 0)).toBe(1);
    expect(decayFactor(0, 0.5)).toBe(1);
  });
  it('applyUpdate passes θ −= η Σ ĝ_k z_k / n and the decay 1 − ηλ to the model', async () => {
    const model = new FakeModel(4, [1, -1, 0.5, 2]);
    const lr = 0.05;
    await applyUpdate(model, [7n, 9n], [0.3, -0.6], lr, 0.2);
    const pairs = updatePairs([7n, 9n], [0.3, -0.6], lr);
    expect(pairs.map((p) => p.coeff)).toEqual([-(lr * 0.3) / 2, (lr * 0.6) / 2]);
    expect(model.log).toEqual([`update ${pairs.map((p) => `${p.seed}:${p.coeff}`).join(',')}`, `decay ${1 - lr * 0.2}`]);
  });
});
