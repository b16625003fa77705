// Stochastic rounding of F16/BF16 updates (issue 9.3, ARCHITECTURE §2): the rounding stream pinned with
// known answers, the rounding itself against a by-value reference (edge values included), and the
// property it exists for: updates of 1 % of an ulp move BF16 weights by Σ c·z on average, where rounding
// to nearest drops them all.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import { native } from '../../lib/native.js';
import { makeTempDir, VARIANTS, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { philoxRef } from '../helpers/philox-ref.js';
import { roundingWord, stochasticRound } from '../helpers/stochastic-round.js';

const tmp = makeTempDir('dpzo-sr-');
afterAll(() => tmp.cleanup());
const hex = (w: number) => (w >>> 0).toString(16).padStart(8, '0');

describe('the rounding stream', () => {
  it('known answers: Philox4x32-10 at counter (lo b, hi b, 1, 0), word g mod 4', () => {
    // recorded from the reference, which Random123's known answers check (philox.test.ts)
    expect([0n, 1n, 2n, 3n].map((g) => hex(roundingWord(0n, g)))).toEqual(['844515e1', 'f08d6eaa', '0f19c053', '83f875f0']);
    expect(hex(roundingWord(0x0123456789abcdefn, (1n << 34n) + 5n))).toBe('d13c3398');
    // the third counter word separates it from the directions' stream (counter word 2 = 0)
    const native1 = native.philox(Uint32Array.from([0, 0, 1, 0]), Uint32Array.from([0, 0]));
    expect(Array.from(native1, hex)).toEqual(philoxRef([0, 0, 1, 0], [0, 0]).map(hex));
    expect(hex(native.philox(Uint32Array.from([0, 0, 0, 0]), Uint32Array.from([0, 0]))[0]!)).not.toBe(hex(roundingWord(0n, 0n)));
  });

  it('BF16 and F16 rounding equals the by-value reference, edge values included', () => {
    const values = [
      0, -0, 1, -1, 1.00390625, 0.1, -0.1, 3.14159, 1e-3, -2.5e-4, 65504, 65519, 65535.9, -65520, 70000, 6.0e-8, 2.98e-8, 5.9e-8, 1e-9, 1e-40, -3e-39,
      3.3e38, -3.39e38, Infinity, -Infinity, 6.1e-5, 6.103515625e-5, 6.09e-5,
    ];
    const words = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x12345678, 0xfedcba98];
    const v = new Float32Array(values.length * words.length);
    const w = new Uint32Array(v.length);
    values.forEach((x, i) => words.forEach((r, j) => ((v[i * words.length + j] = x), (w[i * words.length + j] = r))));
    for (const dt of ['bf16', 'f16'] as const) {
      const got = native.roundStochastic(v, w, dt);
      for (let i = 0; i < v.length; i++) {
        const want = stochasticRound(v[i]!, w[i]!, dt === 'bf16' ? 'BF16' : 'F16');
        if (!Object.is(got[i], Math.fround(want))) throw new Error(`${dt}: SR(${v[i]}, ${hex(w[i]!)}) = ${got[i]}, expected ${want}`);
      }
    }
    // NaN stays NaN
    expect(Number.isNaN(native.roundStochastic(Float32Array.of(NaN), Uint32Array.of(0xffffffff), 'bf16')[0])).toBe(true);
  });
});

describe('updates below an ulp', () => {
  it('BF16: 2,000 updates of about 1 % of an ulp move each weight by Σ c·z on average; to nearest they vanish', async () => {
    const dir = join(tmp.dir, 'gpt2-bf16');
    writeRandomCheckpoint(dir, { ...VARIANTS['gpt2']!, hiddenSize: 128, numHeads: 4, dtype: 'BF16', seed: 12 });
    const m = await loadModel(dir, { threads: 2, trainable: ['.weight'] });
    // the trainable space in canonical order: global index = running offset
    const names = m.trainableNames();
    const w0 = Float64Array.from(names.flatMap((n) => Array.from(m.getParameter(n))));
    const read = (mm: typeof m) => Float64Array.from(names.flatMap((n) => Array.from(mm.getParameter(n))));
    expect(w0.length).toBe(m.numTrainable);
    // one c for all steps: per-element |c·z| ≈ 1 % of the median BF16 ulp
    const ulps = Array.from(w0, (x) => (x === 0 ? 0 : 2 ** (Math.floor(Math.log2(Math.abs(x))) - 7))).sort((a, b) => a - b);
    const c = 0.01 * ulps[ulps.length >> 1]!;
    const steps = 2000;
    const want = new Float64Array(w0.length);
    for (let t = 0; t < steps; t++) {
      const seed = BigInt(7000 + t); // a fresh seed per step, as in training (the rounding words follow it)
      const z = native.direction(seed, 0n, w0.length);
      for (let i = 0; i < w0.length; i++) want[i] += c * z[i]!;
      await m.update([{ seed, coeff: c }]);
    }
    const d = read(m).map((x, i) => x - w0[i]!);
    m.dispose();
    // the regression slope of the displacement on Σ c·z: 1 within 3 standard errors, far from 0
    let num = 0,
      den = 0;
    for (let i = 0; i < d.length; i++) {
      num += d[i]! * want[i]!;
      den += want[i]! * want[i]!;
    }
    const slope = num / den;
    let resid = 0;
    for (let i = 0; i < d.length; i++) resid += (d[i]! - slope * want[i]!) ** 2;
    const se = Math.sqrt(resid / (d.length - 1) / den);
    console.log(`BF16, 2,000 updates of 1 % of an ulp: displacement = ${slope.toFixed(3)} ± ${se.toFixed(3)} × Σ c·z`);
    expect(Math.abs(slope - 1)).toBeLessThan(3 * se);
    expect(slope).toBeGreaterThan(10 * se);

    // the same kind of steps rounded to nearest (the in-place perturb) leave almost every weight in place
    const rn = await loadModel(dir, { threads: 2, trainable: ['.weight'] });
    for (let t = 0; t < 200; t++) await rn.perturb(BigInt(7000 + t), c);
    const w2 = read(rn);
    rn.dispose();
    let moved = 0;
    for (let i = 0; i < w0.length; i++) if (w2[i] !== w0[i]) moved++;
    console.log(`rounded to nearest: ${((100 * moved) / w0.length).toFixed(2)} % of the weights moved in 200 steps`);
    expect(moved / w0.length).toBeLessThan(0.05);
  });
});
