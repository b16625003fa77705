// Issue "Foundation": the seeded directions z(seed, g) of ARCHITECTURE §2 —
// Philox4x32-10 known answers, an independent TypeScript re-implementation of
// the spec (float64 Box-Muller), moments of N(0, 1), offset consistency, and
// the scalar / AVX2 / AVX-512 kernels agreeing bit for bit.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { native } from '../../lib/native.js';
import { runWithIsa } from '../helpers/isa.js';

import { directionRef, philoxRef } from '../helpers/philox-ref.js';

const hex = (xs: ArrayLike<number>) => Array.from(xs, (v) => (v >>> 0).toString(16).padStart(8, '0')).join(' ');
const words = (s: string) => s.split(' ').map((w) => parseInt(w, 16));

// Salmon et al. 2011 (Random123 kat_vectors), philox4x32_10.
const KATS = [
  { ctr: '00000000 00000000 00000000 00000000', key: '00000000 00000000', out: '6627e8d5 e169c58d bc57ac4c 9b00dbd8' },
  { ctr: 'ffffffff ffffffff ffffffff ffffffff', key: 'ffffffff ffffffff', out: '408f276d 41c83b0e a20bc7c6 6d5451fd' },
  { ctr: '243f6a88 85a308d3 13198a2e 03707344', key: 'a4093822 299f31d0', out: 'd16cfe09 94fdcceb 5001e420 24126ea1' },
];

describe('Philox4x32-10 known answers', () => {
  for (const k of KATS) {
    it(`counter ${k.ctr}, key ${k.key}`, () => {
      const got = native.philox(Uint32Array.from(words(k.ctr)), Uint32Array.from(words(k.key)));
      expect(hex(got)).toBe(k.out);
      // the TypeScript reference used below is checked by the same vectors
      expect(hex(philoxRef(words(k.ctr), words(k.key)))).toBe(k.out);
    });
  }
});

describe('direction z(seed, g) against the float64 reference', () => {
  // |native − reference| ≤ 4·2^-24·r, r the pair's radius: r carries ≤ 1.92·2^-24 relative
  // error (ln within 0.92 ulp, halved by sqrt, plus sqrt's rounding), sin/cos ≤ 1.02·2^-24
  // absolute (within 1.02 ulp, |value| ≤ 1), the product ≤ 2^-24·r; in total ≤ 3.94·2^-24·r.
  // (dpzo_check accuracy measures these bounds exhaustively over all 2^23 inputs.)
  const cases: Array<[bigint, bigint, number]> = [
    [0n, 0n, 4096],
    [1n, 3n, 1001],
    [42n, 4097n, 2050],
    [0xffffffffn, 2n, 777], // largest 32-bit seed
    [0x100000000n, 1n, 1500], // first seed using the key's high word
    [0xdeadbeefcafebaben, (1n << 34n) + 1n, 1203], // block index >= 2^32: counter high word
    [0xffffffffffffffffn, (1n << 50n) - 5n, 999],
  ];
  for (const [seed, g0, n] of cases) {
    it(`seed ${seed}, g0 ${g0}, ${n} elements`, () => {
      const got = native.direction(seed, g0, n);
      expect(got).toBeInstanceOf(Float32Array);
      expect(got.length).toBe(n);
      const ref = directionRef(seed, g0, n);
      let worst = 0;
      for (let i = 0; i < n; i++) {
        const err = Math.abs(got[i]! - ref.z[i]!) / (ref.r[i]! * 2 ** -24);
        worst = Math.max(worst, err);
        if (!(err <= 4)) expect.fail(`z[${g0 + BigInt(i)}] = ${got[i]}, reference ${ref.z[i]} (${err.toFixed(2)}·2^-24·r)`);
      }
      // the tolerance is not vacuous: a float32 computation cannot be much better than 1/2
      expect(worst).toBeGreaterThan(0.25);
    });
  }

  it('accepts a safe-integer seed and offset like the equal bigint', () => {
    expect(native.direction(123456789, 5, 64)).toEqual(native.direction(123456789n, 5n, 64));
  });
});

describe('direction is a function of (seed, g) only', () => {
  it('any window of a long run has the same bits as the run', () => {
    const seed = 0x1234_5678_9abcn;
    const long = native.direction(seed, 1000n, 5000);
    for (const [off, n] of [[0, 1], [1, 3], [3, 64], [5, 1000], [63, 65], [1234, 2000], [4999, 1]] as const) {
      const w = native.direction(seed, 1000n + BigInt(off), n);
      expect(Buffer.from(w.buffer).equals(Buffer.from(long.buffer, off * 4, n * 4)), `window at +${off}, ${n}`).toBe(true);
    }
  });

  it('different seeds give different directions; same seed, same bits', () => {
    const a = native.direction(7n, 0n, 256), b = native.direction(8n, 0n, 256), c = native.direction(7n, 0n, 256);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(true);
    expect(a.filter((v, i) => v === b[i]).length).toBe(0);
    // seeds that differ only in the high word are different keys
    const hi = native.direction(7n + (1n << 32n), 0n, 256);
    expect(a.filter((v, i) => v === hi[i]).length).toBe(0);
  });
});

describe('moments of z over 1e6 elements (N(0,1) within 5 standard errors)', () => {
  const n = 1_000_000;
  const z = native.direction(0xc0ffeen, 12_345n, n);
  it('mean, variance, fourth moment', () => {
    let s1 = 0, s2 = 0, s4 = 0;
    for (let i = 0; i < n; i++) {
      const v = z[i]!;
      s1 += v;
      s2 += v * v;
      s4 += v * v * v * v;
    }
    // standard errors of the sample moments of N(0,1): Var z = 1, Var z² = 2, Var z⁴ = 105 − 9
    expect(Math.abs(s1 / n)).toBeLessThan(5 * Math.sqrt(1 / n));
    expect(Math.abs(s2 / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(s4 / n - 3)).toBeLessThan(5 * Math.sqrt(96 / n));
  });
  it('tail mass P(|z| > 3) and uncorrelated neighbours and seeds', () => {
    let tail = 0, lag1 = 0, lag2 = 0, cross = 0;
    const other = native.direction(0xc0ffefn, 12_345n, n);
    for (let i = 0; i < n; i++) {
      if (Math.abs(z[i]!) > 3) tail++;
      if (i + 1 < n) lag1 += z[i]! * z[i + 1]!; // z0·z1 share (u0, u1) within a block
      if (i + 2 < n) lag2 += z[i]! * z[i + 2]!;
      cross += z[i]! * other[i]!;
    }
    const p = 0.0026997960632601866; // 2(1 − Φ(3))
    expect(Math.abs(tail / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
    for (const c of [lag1, lag2, cross]) expect(Math.abs(c / n)).toBeLessThan(5 / Math.sqrt(n));
  });
});

describe('SIMD kernels (DPZO_ISA in a child process) agree bit for bit', () => {
  const nativeUrl = new URL('../../lib/native.ts', import.meta.url).href;
  const script = `
    const { native } = await import(${JSON.stringify(nativeUrl)});
    const { createHash } = await import('node:crypto');
    const h = createHash('sha256');
    for (const [s, g, n] of [[1n, 0n, 100003], [2n ** 63n + 5n, 4n * 2n ** 32n - 37n, 4099], [9n, 3n, 65]]) {
      h.update(new Uint8Array(native.direction(s, g, n).buffer));
    }
    process.stdout.write(JSON.stringify({ isa: native.directionIsa(), hash: h.digest('hex') }));`;
  const run = (isa: string) => runWithIsa<{ isa: string; hash: string }>(isa, script);

  it('scalar, avx2 and avx512 (those this CPU has) give the same directions', () => {
    const scalar = run('scalar');
    expect(scalar.isa).toBe('scalar');
    // the parent process' own result, by whatever ISA it picked
    const h = createHash('sha256');
    for (const [s, g, n] of [[1n, 0n, 100003], [2n ** 63n + 5n, 4n * 2n ** 32n - 37n, 4099], [9n, 3n, 65]] as const) {
      h.update(new Uint8Array(native.direction(s, g, n).buffer));
    }
    expect(h.digest('hex')).toBe(scalar.hash);
    const seen = new Set(['scalar']);
    for (const isa of ['avx2', 'avx512']) {
      const r = run(isa);
      if (seen.has(r.isa)) continue; // this CPU lacks the ISA: the child fell back
      seen.add(r.isa);
      expect(r.hash, `${r.isa} vs scalar`).toBe(scalar.hash);
    }
    expect(seen.has(native.directionIsa()), 'the best ISA of this CPU was among those compared').toBe(true);
  });
});
