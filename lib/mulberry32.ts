// defines: mulberry32 — the seeded 32-bit generator of the public, reproducible parts (the demo model's
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
