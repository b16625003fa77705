import { describe, expect, it } from 'vitest';

import { learningRate } from '../../../lib/dpzo/schedule.js';
import { exactMatch, normalizeAnswer, tokenF1 } from '../../../lib/dpzo/squad.js';

describe('learning-rate schedules', () => {
  const base = { lr: 1, totalSteps: 110, warmupSteps: 10 };
  it('an unknown kind is ERR_ARGUMENT (it was read as cosine)', () => {
    expect(() => learningRate({ ...base, kind: 'cosin' as 'cosine' }, 50)).toThrow(
      expect.objectContaining({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/cosin'/) }),
    );
    expect(learningRate({ ...base, kind: 'cosine' }, 60)).toBeCloseTo(0.5, 12);
  });
  it('warmup rises linearly to lr', () => {
    expect(learningRate({ ...base, kind: 'constant' }, 0)).toBeCloseTo(0.1, 12);
    expect(learningRate({ ...base, kind: 'constant' }, 9)).toBeCloseTo(1, 12);
    expect(learningRate({ ...base, kind: 'constant' }, 100)).toBe(1);
  });
  it('linear and cosine decay to 0 at the last step', () => {
    expect(learningRate({ ...base, kind: 'linear' }, 10)).toBe(1);
    expect(learningRate({ ...base, kind: 'linear' }, 60)).toBeCloseTo(0.5, 12);
    expect(learningRate({ ...base, kind: 'cosine' }, 60)).toBeCloseTo(0.5, 12);
    expect(learningRate({ ...base, kind: 'cosine' }, 35)).toBeCloseTo(0.5 * (1 + Math.cos(Math.PI / 4)), 12);
    expect(learningRate({ ...base, kind: 'linear' }, 110)).toBe(0);
  });
});

describe('SQuAD metrics', () => {
  it('normalises like the official script', () => {
    expect(normalizeAnswer('The  Eiffel Tower!')).toBe('eiffel tower');
    expect(exactMatch('the Eiffel tower.', 'Eiffel Tower')).toBe(1);
    expect(exactMatch('Paris', 'Eiffel Tower')).toBe(0);
  });
  it('token F1 counts overlaps with multiplicity', () => {
    expect(tokenF1('eiffel tower paris', 'the eiffel tower')).toBeCloseTo((2 * (2 / 3) * 1) / (2 / 3 + 1), 12);
    expect(tokenF1('a a b', 'a b b')).toBeCloseTo(2 / 3, 12);
    expect(tokenF1('', '')).toBe(1);
    expect(tokenF1('x', 'y')).toBe(0);
  });
});
