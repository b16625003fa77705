// bench/timing.ts: pairedRatio, the statistic issue 9's per-point cost is read from (bench/forward.ts).
import { describe, expect, it } from 'vitest';

import { pairedRatio } from '../../../bench/timing.js';

describe('pairedRatio', () => {
  it('takes the ratio within each round, so a load shared by both operations cancels', () => {
    // b's rounds are 1, 3, 1.5, 10 s (a busy spell in round 4); a is 5 % above b in every round
    const b = [1, 3, 1.5, 10];
    const a = b.map((x) => 1.05 * x);
    const r = pairedRatio(a, b);
    expect(r.median).toBeCloseTo(1.05, 12);
    expect(r.q1).toBeCloseTo(1.05, 12);
    expect(r.q3).toBeCloseTo(1.05, 12);
    // the ratio of the minima agrees here; the ratio of the means does not (the busy round weighs most)
    expect(Math.min(...a) / Math.min(...b)).toBeCloseTo(1.05, 12);
  });

  it('gives the median and quartiles of the per-round ratios (type-7 interpolation)', () => {
    const b = [1, 1, 1, 1, 1];
    const a = [1.3, 1.0, 1.1, 1.4, 1.2];
    const r = pairedRatio(a, b);
    expect(r.n).toBe(5);
    expect(r.median).toBeCloseTo(1.2, 12);
    expect(r.q1).toBeCloseTo(1.1, 12);
    expect(r.q3).toBeCloseTo(1.3, 12);
    // even n: halfway between the middle two
    expect(pairedRatio([1, 2, 3, 4], [1, 1, 1, 1]).median).toBeCloseTo(2.5, 12);
  });

  it('is not fooled by one outlier round, where the ratio of the minima is', () => {
    // round 3 of a ran alone on an idle host (0.5 s): the minima would say a costs half of b
    const a = [1.04, 1.05, 0.5, 1.06, 1.05];
    const b = [1, 1, 1, 1, 1];
    expect(pairedRatio(a, b).median).toBeCloseTo(1.05, 12);
    expect(Math.min(...a) / Math.min(...b)).toBeCloseTo(0.5, 12);
  });

  it('refuses series of different lengths or none', () => {
    expect(() => pairedRatio([1, 2], [1])).toThrow(RangeError);
    expect(() => pairedRatio([], [])).toThrow(RangeError);
  });
});
