// defines: mulberry32 and shuffleInPlace — the seeded 32-bit generator of the public, reproducible parts (the demo model's
// random start and corpus sampling, `dpzo pretrain`'s shuffle). Never for privacy: the mechanism's noise and
// the directions' seeds come from `crypto` (lib/privacy).

/** mulberry32 (T. Ettinger): successive uint32 values of the stream seeded with `seed` (taken mod 2³²). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Fisher–Yates in place, from the end: a[i] swaps with a[⌊u·(i+1)⌋], u = next() / 2³² (a uint32 stream such as mulberry32's). */
export function shuffleInPlace<T>(a: T[], next: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor((next() / 4294967296) * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
