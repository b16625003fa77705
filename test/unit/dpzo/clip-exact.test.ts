// The clip bound checked with exact arithmetic: every double is an integer multiple of 2^-1074,
// so |x|·2^1074 and x²·2^2148 are integers and the norms below are computed without rounding.
import { describe, expect, it } from 'vitest';

import { clipScalars } from '../../../lib/dpzo/clip.js';

const view = new DataView(new ArrayBuffer(8));
/** |x|·2^1074 as an exact BigInt. */
function scaled(x: number): bigint {
  view.setFloat64(0, Math.abs(x));
  const bits = view.getBigUint64(0);
  const exp = Number(bits >> 52n);
  const mant = bits & ((1n << 52n) - 1n);
  return exp === 0 ? mant : (mant | (1n << 52n)) << BigInt(exp - 1);
}
function exactAtMost(v: Float64Array, clip: number, norm: 'l1' | 'l2'): boolean {
  const c = scaled(clip);
  let acc = 0n;
  for (const x of v) {
    const s = scaled(x);
    acc += norm === 'l1' ? s : s * s;
  }
  return acc <= (norm === 'l1' ? c : c * c);
}

// a seeded generator (xorshift32): reproducible inputs, so a failure can be replayed
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

describe('clipScalars against exact norms', () => {
  it('a clipped g_i is never longer than C, for n up to 10^5 (10^4 vectors, exact BigInt norms)', () => {
    const r = rng(12345);
    let checked = 0;
    for (let t = 0; t < 10_000; t++) {
      // n log-uniform in [1, 2000], and every 1000th vector at n = 10^5, where the margin is tightest
      const n = t % 1000 === 0 ? 100_000 : Math.max(1, Math.floor(10 ** (3.3 * r())));
      const spread = t % 3; // equal entries (the worst case for rounding in a sum), narrow, wide
      const g = Float64Array.from({ length: n }, () => {
        const base = spread === 0 ? 1 + 2 ** -30 * r() : (r() - 0.5) * 10 ** (spread === 1 ? r() : 12 * r() - 6);
        return base;
      });
      const clip = 10 ** (4 * r() - 2);
      for (const norm of ['l1', 'l2'] as const) {
        const out = clipScalars(g, n, clip, norm);
        if (out.clipped === 0) continue;
        checked++;
        if (!exactAtMost(out.sum, clip, norm)) throw new Error(`vector ${t} (n=${n}, ${norm}): clipped norm exceeds C=${clip}`);
      }
    }
    expect(checked).toBeGreaterThan(15_000);
  });

  it('a g_i passed unclipped is never longer than C either, also within rounding of C (10^4 vectors at the boundary)', () => {
    // the pass test compared the rounded norm with C, so a g_i whose exact norm was C·(1 + 1e-16) went into the sum
    // unscaled, above the sensitivity the noise is set for (found at n = 3 within a few dozen tries)
    const r = rng(777);
    let passed = 0;
    for (let t = 0; t < 10_000; t++) {
      const n = 1 + Math.floor(20 * r());
      const g = Float64Array.from({ length: n }, () => (r() - 0.5) * 10 ** (4 * r() - 2));
      for (const norm of ['l1', 'l2'] as const) {
        const approx = norm === 'l2' ? Math.hypot(...g) : g.reduce((a, b) => a + Math.abs(b), 0);
        for (const d of [-2, -1, 0, 1, 2, 8, 32, 64]) {
          const clip = approx * (1 + d * Number.EPSILON);
          const out = clipScalars(g, n, clip, norm);
          if (out.clipped === 0) passed++;
          if (!exactAtMost(out.sum, clip, norm)) throw new Error(`vector ${t} (n=${n}, ${norm}, C=${clip}): the summed g_i exceeds C`);
        }
      }
    }
    expect(passed).toBeGreaterThan(20_000);
  });

  it('a huge finite g_i (whose L1 norm overflows) is scaled to norm C, not zeroed', () => {
    for (const norm of ['l1', 'l2'] as const) {
      const out = clipScalars(Float64Array.of(1.5e308, 1.5e308), 2, 2, norm);
      expect(out.nonFinite).toBe(0);
      expect(out.clipped).toBe(1);
      const expected = norm === 'l1' ? 1 : Math.SQRT2;
      expect(out.sum[0]).toBeCloseTo(expected, 10);
      expect(out.sum[1]).toBeCloseTo(expected, 10);
    }
  });
});
