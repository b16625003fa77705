// Clipping: per-example L2 (Gaussian) / L1 (Laplace) bounds, non-finite zeroed,
// and an example with a huge loss difference moves the update by at most C/(q·N).
import { describe, expect, it } from 'vitest';

import { clipScalars } from '../../../lib/dpzo/clip.js';
import { installTestHooks } from '../../../lib/dpzo/hooks.js';
import { DPZOTrainer } from '../../../lib/dpzo/index.js';
import { FakeModel, direction, tokenDataset } from '../../helpers/fake-model.js';

describe('clipScalars', () => {
  it('scales each g_i to norm ≤ C and sums', () => {
    const g = Float64Array.of(3, 4, 0.3, 0.4, NaN, 1, Infinity, 0);
    const l2 = clipScalars(g, 2, 1, 'l2');
    expect(l2.clipped).toBe(1);
    expect(l2.nonFinite).toBe(2);
    expect(l2.sum[0]).toBeCloseTo(0.6 + 0.3, 12);
    expect(l2.sum[1]).toBeCloseTo(0.8 + 0.4, 12);
    const l1 = clipScalars(g, 2, 1, 'l1');
    expect(l1.sum[0]).toBeCloseTo(3 / 7 + 0.3, 12);
    expect(l1.sum[1]).toBeCloseTo(4 / 7 + 0.4, 12);
  });
});

describe('clipScalars at the edges', () => {
  it('clips a huge finite g_i (whose square overflows) instead of zeroing it', () => {
    const r = clipScalars(Float64Array.of(3e200, 4e200), 2, 1, 'l2');
    expect(r.nonFinite).toBe(0);
    expect(r.clipped).toBe(1);
    expect(r.sum[0]).toBeCloseTo(0.6, 12);
    expect(r.sum[1]).toBeCloseTo(0.8, 12);
  });

  it('never returns a clipped vector longer than C (10^4 random vectors)', () => {
    let x = 1;
    const rnd = () => ((x = (x * 16807) % 2147483647) / 2147483647 - 0.5) * 10 ** ((x % 13) - 4);
    for (const norm of ['l2', 'l1'] as const) {
      for (let t = 0; t < 10_000; t++) {
        const n = 1 + (t % 5);
        const g = Float64Array.from({ length: n }, rnd);
        const C = 0.1 + (t % 7);
        const s = clipScalars(g, n, C, norm).sum;
        const len = norm === 'l2' ? Math.hypot(...s) : s.reduce((a, v) => a + Math.abs(v), 0);
        if (len > C) throw new Error(`${norm} ${Array.from(g)} clipped to length ${len} > ${C}`);
      }
    }
  });
});

describe('clipScalars arguments', () => {
  it('a clip that is not positive, or g not a whole number of rows of n, is ERR_ARGUMENT (C = -1 flipped the clipped sum; a ragged g read past its end as non-finite)', () => {
    const g = Float64Array.from([3, 4, 0, 1]);
    expect(() => clipScalars(g, 2, -1, 'l2')).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT', message: expect.stringContaining('clip') }));
    expect(() => clipScalars(g, 2, Number.NaN, 'l2')).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT' }));
    expect(() => clipScalars(g, 3, 1, 'l2')).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT', message: expect.stringContaining('n') }));
    expect(() => clipScalars(g, 2, 1, 'l3' as never)).toThrow(expect.objectContaining({ code: 'ERR_ARGUMENT', message: expect.stringContaining('norm') }));
    const ok = clipScalars(g, 2, 1, 'l2').sum;
    expect(ok[0]).toBeCloseTo(0.6, 12);
    expect(ok[1]).toBeCloseTo(1.8, 12);
  });
});

describe('clipping in a step', () => {
  for (const mechanism of ['gaussian', 'laplace'] as const) {
    it(`a huge loss difference moves ĝ by at most C/(qN) (${mechanism})`, async () => {
      const model = new FakeModel(4);
      // token 7's target is scaled by 1e6: ℓ⁺ − ℓ⁻ is enormous
      model.targets[7] = model.targets[7]!.map((x) => x * 1e6);
      const N = 8;
      const batchSize = 2;
      const clip = 0.25;
      const lr = 0.01;
      const directions = 3;
      const trainer = new DPZOTrainer(model, {
        train: tokenDataset([7, 3, 4, 5, 6, 8, 9, 10]),
        epsilon: 100,
        delta: 1e-5,
        accountant: 'rdp',
        mechanism,
        ...(mechanism === 'gaussian' ? { noiseMultiplier: 1 } : { laplaceScale: 1 }),
        batchSize,
        steps: 1,
        lr,
        clip,
        directions,
      });
      const seeds = [1n, 2n, 3n];
      installTestHooks(trainer, { batch: () => [0], noise: () => new Float64Array(directions), seeds: () => seeds });
      let g: number[] = [];
      await trainer.train({ onStep: (s) => void (g = s.gHat) });
      const bound = clip / ((batchSize / N) * N);
      const size = mechanism === 'gaussian' ? Math.hypot(...g) : g.reduce((a, b) => a + Math.abs(b), 0);
      // clipped exactly to the bound (not below: the example dominates)
      expect(size).toBeLessThanOrEqual(bound * (1 + 1e-12));
      expect(size).toBeGreaterThan(bound * 0.999);
      // and the weights moved by exactly −η Σ ĝ_k z_k / n
      const zs = seeds.map((s) => direction(s, 4));
      model.getParameter().forEach((t, j) => {
        const expected = -(lr / directions) * g.reduce((a, gk, k) => a + gk * zs[k]![j]!, 0);
        expect(t).toBeCloseTo(expected, 6);
      });
    });
  }
});
