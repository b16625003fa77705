// lib/mulberry32.ts: the seeded generator of the public, reproducible parts (the demo model's start and
// corpus, pretraining's shuffle); its stream is pinned so the shipped model stays reproducible.
import { describe, expect, it } from 'vitest';

import { mulberry32 } from '../../lib/mulberry32.js';

describe('mulberry32', () => {
  it("gives the published algorithm's stream (values from an independent Python implementation)", () => {
    const a = mulberry32(1);
    expect([a(), a(), a()]).toEqual([2693262067, 11749833, 2265367787]);
    const b = mulberry32(0);
    expect([b(), b(), b()]).toEqual([1144304738, 1416247, 958946056]);
  });

  it('takes the seed mod 2³²', () => {
    const a = mulberry32(2 ** 32 + 1);
    expect(a()).toBe(2693262067);
  });
});
