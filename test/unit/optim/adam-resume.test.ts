// Adam's step is computed from the float64 moments of this step (before they are rounded to the float32 stored in m
// and v), and the next step reads the stored float32 ones. So the state a DP-SGD checkpoint saves (m, v, t) is all
// the next step depends on: a run restored from it takes bit for bit the steps the uninterrupted run took.
import { describe, expect, it } from 'vitest';

import { Adam } from '../../../lib/optim/adam.js';

/** A reproducible float32 gradient per step. */
function gradient(t: number, n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(12.9898 * (t + 1) + 78.233 * i) * (1 + (i % 7))));
}

describe('Adam restored from its saved state', () => {
  it('takes bit for bit the steps of the uninterrupted run', () => {
    const n = 257;
    const T = 24;
    const lr = (t: number) => 1e-3 * (1 - t / (2 * T));
    const whole = new Adam(n);
    const steps = Array.from({ length: T }, (_, t) => whole.step(gradient(t, n), lr(t), new Float32Array(n)));
    for (const cut of [1, 7, 16]) {
      const before = new Adam(n);
      for (let t = 0; t < cut; t++) before.step(gradient(t, n), lr(t), new Float32Array(n));
      // what the checkpoint holds: copies of the float32 moments and t
      const resumed = new Adam(n);
      resumed.restore(Float32Array.from(before.m), Float32Array.from(before.v), before.t);
      for (let t = cut; t < T; t++) {
        const d = resumed.step(gradient(t, n), lr(t), new Float32Array(n));
        expect(Buffer.from(d.buffer).equals(Buffer.from(steps[t]!.buffer)), `step ${t} after a resume at ${cut}`).toBe(true);
      }
      expect(Buffer.from(resumed.m.buffer).equals(Buffer.from(whole.m.buffer))).toBe(true);
      expect(Buffer.from(resumed.v.buffer).equals(Buffer.from(whole.v.buffer))).toBe(true);
      expect(resumed.t).toBe(whole.t);
    }
  });

  it('the step uses the moments before their float32 rounding (what the doc comment states)', () => {
    const n = 64;
    const adam = new Adam(n);
    const g0 = gradient(0, n);
    adam.step(g0, 1e-3, new Float32Array(n));
    const m = Float32Array.from(adam.m);
    const v = Float32Array.from(adam.v);
    const g = gradient(1, n);
    const d = adam.step(g, 1e-3, new Float32Array(n));
    const c1 = 1 - 0.9 ** 2;
    const c2 = 1 - 0.999 ** 2;
    for (let i = 0; i < n; i++) {
      const mu = 0.9 * m[i]! + 0.1 * g[i]!;
      const vu = 0.999 * v[i]! + 0.001 * g[i]! * g[i]!;
      expect(d[i]).toBe(Math.fround((-1e-3 * (mu / c1)) / (Math.sqrt(vu / c2) + 1e-8)));
    }
  });
});
