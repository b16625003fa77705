// The tensor path's split of a 16-bit weight at a virtual point (k::split_at, cuda/tensor_kernels.h) in the host
// emulation (dpzo_check_emu split-at: the kernel's own split_value, beside the CPU's float32 value there). A
// perturbed weight beyond the 16-bit range (F16 near 65504, BF16 near its largest) rounded hi to ±inf, the
// residual to ∓inf, and the GEMM read hi + lo/lo_scale = NaN where the CPU read a finite float32 (or, past
// float32's range, the same infinity). The split now saturates: hi + lo/lo_scale is v, or as close to it as two
// finite halves get, never NaN.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/cli.js';

const BIN = join(ROOT, 'build', 'dpzo_check_emu');
const F16_MAX = 65504;
const BF16_MAX = 3.3895313892515355e38;

interface Split {
  loScale: number;
  v: number[];
  hi: number[];
  lo: number[];
}

// each printed as %.9g: Math.fround gives back the float32
const num = (x: number | string): number => (typeof x === 'number' ? Math.fround(x) : x === 'inf' ? Infinity : x === '-inf' ? -Infinity : NaN);

function splitAt(dtype: 'f16' | 'bf16', w: number, coeff: number, extra: string[] = []): Split {
  const args = ['split-at', '--dtype', dtype, '--w', String(w), '--coeff', String(coeff), '--n', '256', ...extra];
  const r = spawnSync(BIN, args, { encoding: 'utf8', timeout: 30_000 });
  expect(r.status, r.stdout + r.stderr).toBe(0);
  const j = JSON.parse(r.stdout) as { loScale: number; v: (number | string)[]; hi: (number | string)[]; lo: (number | string)[] };
  return { loScale: j.loScale, v: j.v.map(num), hi: j.hi.map(num), lo: j.lo.map(num) };
}

/** What the two GEMMs read: hi + lo/lo_scale. */
const sum = (s: Split, i: number): number => s.hi[i]! + s.lo[i]! / s.loScale;

describe.skipIf(!existsSync(BIN))('split_at beyond the 16-bit range (host emulation)', () => {
  it('F16 near 65504: hi + lo/1024 is the CPU value within the residual precision, never NaN or infinite', () => {
    for (const sign of [1, -1]) {
      const s = splitAt('f16', sign * F16_MAX, 10);
      // the values that rounded hi to infinity before (≥ 65520 in magnitude) are there, and every v within reach
      const beyond = s.v.filter((v) => Math.abs(v) >= 65520);
      expect(beyond.length, 'perturbed values past the F16 range').toBeGreaterThan(10);
      s.v.forEach((v, i) => {
        expect(Number.isFinite(s.hi[i]) && Number.isFinite(s.lo[i]), `hi, lo of element ${i}`).toBe(true);
        expect(Math.abs(s.hi[i]!)).toBeLessThanOrEqual(F16_MAX);
        // the residual rounded to a half of 11 bits: at most 2^-11 of |v - hi| (< 64 here), over lo_scale
        expect(Math.abs(sum(s, i) - v), `element ${i}: v ${v}, hi ${s.hi[i]}, lo ${s.lo[i]}`).toBeLessThanOrEqual(Math.abs(v - s.hi[i]!) / 2048 + 1e-9);
      });
    }
  });

  it('F16 far beyond 65504: the largest sum two finite halves hold, with the sign of v', () => {
    for (const sign of [1, -1]) {
      const s = splitAt('f16', sign * F16_MAX, 1000);
      const far = s.v.map((v, i) => [v, i] as const).filter(([v]) => Math.abs(v) > F16_MAX + 64);
      expect(far.length).toBeGreaterThan(10);
      for (const [, i] of far) expect(sum(s, i)).toBe(sign * (F16_MAX + F16_MAX / 1024));
      s.v.forEach((v, i) => expect(Number.isNaN(sum(s, i)), `element ${i}`).toBe(false));
    }
  });

  it('BF16 near its largest value: finite v within the residual precision, a float32 overflow the same infinity', () => {
    const s = splitAt('bf16', BF16_MAX, 3e36);
    expect(s.loScale).toBe(1);
    let pastBf16 = 0;
    let infinite = 0;
    s.v.forEach((v, i) => {
      if (!Number.isFinite(v)) {
        // fl(w + c·z) overflowed float32: the CPU reads ±inf, and so does the split (hi = v, lo = 0)
        infinite++;
        expect(s.hi[i], `element ${i}`).toBe(v);
        expect(s.lo[i], `element ${i}`).toBe(0);
        return;
      }
      if (Math.abs(v) > 3.3961e38) pastBf16++; // rn16 rounds these to infinity
      expect(Number.isFinite(s.hi[i]) && Number.isFinite(s.lo[i]), `hi, lo of element ${i}`).toBe(true);
      expect(Math.abs(sum(s, i) - v), `element ${i}`).toBeLessThanOrEqual(Math.abs(v - s.hi[i]!) / 256);
    });
    expect(pastBf16, 'finite values past the BF16 range').toBeGreaterThan(5);
    expect(infinite, 'float32 overflows').toBeGreaterThan(5);
  });

  it('DPZO_CUDA_POINT_GEMM=round (hi only): the nearest finite half, not infinity', () => {
    const s = splitAt('f16', F16_MAX, 10, ['--point', 'round']);
    expect(s.v.some((v) => v >= 65520)).toBe(true);
    s.v.forEach((v, i) => expect(s.hi[i], `element ${i}: v ${v}`).toBe(v >= F16_MAX ? F16_MAX : s.hi[i]));
    expect(s.hi.every((h) => Number.isFinite(h) && h <= F16_MAX)).toBe(true);
  });

  it('inside the range the split is unchanged: hi the nearest half, lo its scaled residual', () => {
    for (const [dtype, w, c] of [['f16', 1.5, 0.01], ['f16', -300, 2], ['bf16', 0.75, 0.01], ['bf16', 1e30, 1e28]] as const) {
      const s = splitAt(dtype, w, c);
      s.v.forEach((v, i) => {
        expect(Number.isFinite(v)).toBe(true);
        // hi the nearest: the residual at most half a 16-bit ulp of hi (2^-11 F16, 2^-8 BF16, relative)
        expect(Math.abs(v - s.hi[i]!), `${dtype} element ${i}`).toBeLessThanOrEqual(Math.abs(s.hi[i]!) * (dtype === 'f16' ? 2 ** -11 : 2 ** -8));
        expect(Math.abs(sum(s, i) - v), `${dtype} element ${i}`).toBeLessThanOrEqual(Math.abs(v) * (dtype === 'f16' ? 2 ** -21 : 2 ** -16));
      });
    }
  });
});
