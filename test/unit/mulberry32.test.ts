// lib/mulberry32.ts: the seeded generator of the public, reproducible parts (the demo model's start and
// corpus, pretraining's shuffle); its stream is pinned so the shipped model stays reproducible.
import { describe, expect, it } from 'vitest';

import { mulberry32, shuffleInPlace } from '../../lib/mulberry32.js';

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

describe('shuffleInPlace', () => {
  it('is Fisher–Yates from the end with j = floor(u·(i+1)), u = next / 2³²', () => {
    // a stream of fixed uint32s: u = 0.5, 0, 0.999…, so j = floor(0.5·4) = 2, then 0, then 1
    const words = [2 ** 31, 0, 2 ** 32 - 1];
    let k = 0;
    const a = shuffleInPlace(['a', 'b', 'c', 'd'], () => words[k++]!);
    // i = 3 swaps with 2: a b d c; i = 2 with 0: d b a c; i = 1 with 1: unchanged
    expect(a).toEqual(['d', 'b', 'a', 'c']);
    expect(k).toBe(3);
  });

  it('permutes: every element once, the same order for the same seed', () => {
    const a = shuffleInPlace(
      Array.from({ length: 50 }, (_, i) => i),
      mulberry32(3),
    );
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(
      shuffleInPlace(
        Array.from({ length: 50 }, (_, i) => i),
        mulberry32(3),
      ),
    ).toEqual(a);
  });
});
