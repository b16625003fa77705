// Adam against the textbook recursion computed independently in float64 (moments
// rounded to float32 where the implementation stores them), and its known
// first-step property: Δθ = −lr·sign(g) (up to ε) whatever |g|.
import { describe, expect, it } from 'vitest';

import { Adam } from '../../../lib/optim/adam.js';

describe('Adam', () => {
  it('the first step is −lr·sign(g) for any gradient scale', () => {
    const g = Float32Array.of(1e-3, -2, 5e2, -7e-5);
    const out = new Adam(4).step(g, 0.01, new Float32Array(4));
    // m̂ = g, √v̂ = |g|: −lr·g/(|g| + ε)
    out.forEach((d, i) => expect(d).toBeCloseTo((-0.01 * g[i]!) / (Math.abs(g[i]!) + 1e-8), 7));
  });

  it('matches the recursion over 20 steps of varying gradients', () => {
    const n = 3;
    const adam = new Adam(n, { beta1: 0.8, beta2: 0.99, eps: 1e-6 });
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    for (let t = 1; t <= 20; t++) {
      const g = Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(t * (i + 1)) * (i + 0.5)));
      const lr = 0.001 * t;
      const out = adam.step(g, lr, new Float32Array(n));
      for (let i = 0; i < n; i++) {
        m[i] = Math.fround(0.8 * m[i]! + 0.2 * g[i]!);
        v[i] = Math.fround(0.99 * v[i]! + 0.01 * g[i]! * g[i]!);
        const want = (-lr * m[i]!) / (1 - 0.8 ** t) / (Math.sqrt(v[i]! / (1 - 0.99 ** t)) + 1e-6);
        expect(out[i]).toBeCloseTo(Math.fround(want), 6);
      }
    }
    expect(adam.t).toBe(20);
  });
});
