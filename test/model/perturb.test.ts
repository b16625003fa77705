// Issue "Foundation": the perturbation/update kernel θ += Σ_k c_k z(s_k) on a
// real checkpoint (stories260K, a tiny trained Llama): the direction lands at
// each tensor's global offset (canonical order, tied weights once, trainable
// only), F32/BF16/F16 rounding is exactly one fma then round-to-nearest-even,
// ±a restores, fused updates equal sequential perturbs, and the bits do not
// depend on thread count or SIMD level.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import { native } from '../../lib/native.js';
import { fma32, ulp32 } from '../helpers/float32.js';
import type { Model, WeightDType } from '../../lib/model/types.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../helpers/safetensors.js';
import { HAVE_STORIES260K, STORIES260K } from '../helpers/shared.js';
import { runWithIsa } from '../helpers/isa.js';
import { roundingWord, stochasticRound } from '../helpers/stochastic-round.js';

const MODEL = STORIES260K;

// ---- float32 arithmetic in TS, independent of native/ ----------------------

type Store = (x: number) => number;
const STORE: Record<WeightDType, Store> = {
  float32: Math.fround,
  bfloat16: (x) => bf16ToF32(f32ToBf16(x)),
  float16: (x) => f16ToF32(f32ToF16(x)),
};

/** Global offset of each trainable tensor: canonical (byte-sorted) order, running sum of numel. */
function offsets(m: Model): Map<string, number> {
  const out = new Map<string, number>();
  let g = 0;
  for (const name of m.trainableNames()) {
    out.set(name, g);
    g += m.parameterShape(name).reduce((a, b) => a * b, 1);
  }
  expect(g).toBe(m.numTrainable);
  return out;
}
function snapshot(m: Model): Map<string, Float32Array> {
  return new Map(m.parameterNames().map((n) => [n, m.getParameter(n)]));
}
/**
 * Expected weights after θ ← store(fma(c_k, z_k, ...)) with one rounding to the dtype at the end: to nearest
 * (perturb), or stochastically with the rounding word of (first seed, g) (update, F16/BF16).
 */
function expected(
  m: Model,
  before: Map<string, Float32Array>,
  pairs: Array<[bigint, number]>,
  stochastic = false,
  key: bigint | undefined = pairs[0]?.[0],
): Map<string, Float32Array> {
  const nearest = STORE[m.dtype];
  const sr = m.dtype === 'float32' ? undefined : m.dtype === 'bfloat16' ? 'BF16' : 'F16';
  const store = (x: number, g: number) => (stochastic && sr && key !== undefined ? stochasticRound(x, roundingWord(key, BigInt(g)), sr) : nearest(x));
  const out = new Map<string, Float32Array>();
  const off = offsets(m);
  for (const [name, w] of before) {
    const g0 = off.get(name);
    if (g0 === undefined) {
      out.set(name, w);
      continue;
    }
    const zs = pairs.map(([s]) => native.direction(s, BigInt(g0), w.length));
    const e = new Float32Array(w.length);
    for (let i = 0; i < w.length; i++) {
      let acc = w[i]!;
      pairs.forEach(([, c], k) => (acc = fma32(Math.fround(c), zs[k]![i]!, acc)));
      e[i] = store(acc, g0 + i);
    }
    out.set(name, e);
  }
  return out;
}
function expectBits(m: Model, want: Map<string, Float32Array>, what: string): void {
  for (const [name, w] of want) {
    const got = m.getParameter(name);
    if (!Buffer.from(got.buffer).equals(Buffer.from(w.buffer))) {
      const i = got.findIndex((v, j) => !Object.is(v, w[j]));
      expect.fail(`${what}: ${name}[${i}] = ${got[i]}, expected ${w[i]}`);
    }
  }
}

describe.skipIf(!HAVE_STORIES260K)('perturb on stories260K (F32)', () => {
  let m: Model;
  beforeAll(async () => {
    m = await loadModel(MODEL, { threads: 2 });
  });
  afterAll(() => m.dispose());

  it('canonical order is byte order and the whole model is trainable', () => {
    const names = m.trainableNames();
    expect(names).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(m.numTrainable).toBe(m.numParameters);
  });

  it('θ += a·z(s) places z(s, offset_j + e) on element e of tensor j, one fma per element', async () => {
    const before = snapshot(m);
    const a = 1e-3,
      seed = 0x5eed_0000_0001n; // a seed with a nonzero high word
    await m.perturb(seed, a);
    expectBits(m, expected(m, before, [[seed, a]]), 'after perturb');
    // restore for the next tests (checked in the next test)
    await m.perturb(seed, -a);
  });

  it('perturb(s, a) then perturb(s, -a) returns every weight within one rounding', async () => {
    const before = snapshot(m);
    for (const a of [1e-3, 0.5]) {
      await m.perturb(77n, a);
      const mid = snapshot(m);
      await m.perturb(77n, -a);
      let exact = 0,
        total = 0;
      for (const [name, w0] of before) {
        const w = m.getParameter(name),
          w1 = mid.get(name)!;
        for (let i = 0; i < w.length; i++) {
          // θ'' = RN(RN(θ + az) − az): off by at most the rounding of θ' (half its ulp) plus half an ulp
          const bound = ulp32(Math.max(Math.abs(w0[i]!), Math.abs(w1[i]!), Math.abs(w[i]!)) || 2 ** -126);
          if (!(Math.abs(w[i]! - w0[i]!) <= bound)) expect.fail(`a=${a}: ${name}[${i}] ${w0[i]} -> ${w[i]}`);
          exact += Number(w[i] === w0[i]);
          total++;
        }
      }
      if (a === 1e-3) expect(exact / total).toBeGreaterThan(0.5); // small steps mostly restore exactly
      // start the next round from the restored weights
      for (const [name] of before) before.set(name, m.getParameter(name));
    }
  });

  it('update with 3 pairs equals 3 sequential perturbs (bit for bit in F32) and the TS reference', async () => {
    const [fused, seq] = await Promise.all([loadModel(MODEL, { threads: 1 }), loadModel(MODEL, { threads: 2 })]);
    try {
      const pairs: Array<[bigint, number]> = [
        [11n, 2e-3],
        [12n, -1.5e-3],
        [2n ** 64n - 1n, 7e-4],
      ];
      const before = snapshot(fused);
      await fused.update(pairs.map(([seed, coeff]) => ({ seed, coeff })));
      for (const [seed, coeff] of pairs) await seq.perturb(seed, coeff);
      // acc = fma(c_k, z_k, acc), k ascending, in float32 either way: the fusion changes no bit
      expectBits(seq, snapshot(fused), 'sequential perturbs vs fused update');
      expectBits(fused, expected(fused, before, pairs), 'fused update vs reference');
    } finally {
      fused.dispose();
      seq.dispose();
    }
  });

  it('zero coefficients and empty updates leave the weights untouched; a NaN coefficient is refused', async () => {
    const h = await m.weightsHash();
    await m.perturb(5n, 0);
    await m.update([]);
    await m.update([
      { seed: 1n, coeff: 0 },
      { seed: 2n, coeff: -0 },
    ]);
    expect(await m.weightsHash()).toBe(h);
    await expect(async () => m.update([{ seed: 1n, coeff: Number.NaN }])).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
    expect(await m.weightsHash()).toBe(h);
  });
});

describe.skipIf(!HAVE_STORIES260K)('perturb with a trainable subset', () => {
  it('frozen tensors do not move; trainable ones get z at offsets over trainable tensors only', async () => {
    const m = await loadModel(MODEL, { threads: 2, trainable: ['self_attn'] });
    try {
      const names = m.trainableNames();
      expect(names.length).toBeGreaterThan(0);
      expect(names.every((n) => n.includes('self_attn'))).toBe(true);
      expect(m.numTrainable).toBeLessThan(m.numParameters);
      const before = snapshot(m);
      await m.perturb(3n, 0.01);
      expectBits(m, expected(m, before, [[3n, 0.01]]), 'subset perturb');
    } finally {
      m.dispose();
    }
  });
});

describe.skipIf(!HAVE_STORIES260K)('half-precision weights: one fma chain in float32, then one rounding (perturb to nearest, update stochastic)', () => {
  for (const dtype of ['bfloat16', 'float16'] as const) {
    it(`${dtype}: perturb equals RNE(fma(c, z, θ)) and a 2-pair update SR(fma-chain) computed in TS`, async () => {
      const m = await loadModel(MODEL, { threads: 2, dtype });
      try {
        expect(m.dtype).toBe(dtype);
        let before = snapshot(m);
        await m.perturb(99n, 0.03);
        expectBits(m, expected(m, before, [[99n, 0.03]]), `${dtype} perturb`);
        // the update fuses: one rounding to the dtype for both pairs, not one per pair
        before = snapshot(m);
        const pairs: Array<[bigint, number]> = [
          [100n, 0.02],
          [101n, -0.01],
        ];
        await m.update(pairs.map(([seed, coeff]) => ({ seed, coeff })));
        expectBits(m, expected(m, before, pairs, true), `${dtype} update`);
      } finally {
        m.dispose();
      }
    });

    it(`${dtype}: an update keys its rounding by the first seed as given, even when that pair's coefficient is 0; all-zero coefficients change nothing`, async () => {
      const m = await loadModel(MODEL, { threads: 2, dtype });
      try {
        const h = await m.weightsHash();
        // every weight is representable, so stochastic rounding returns it unchanged (frac = 0)
        await m.update([
          { seed: 41n, coeff: 0 },
          { seed: 42n, coeff: -0 },
        ]);
        expect(await m.weightsHash()).toBe(h);
        const before = snapshot(m);
        // the zero pair is dropped from the sum but its seed is still the rounding key
        await m.update([
          { seed: 555n, coeff: 0 },
          { seed: 556n, coeff: 0.01 },
        ]);
        expectBits(m, expected(m, before, [[556n, 0.01]], true, 555n), `${dtype} update keyed by a zero pair's seed`);
      } finally {
        m.dispose();
      }
    });
  }
});

describe.skipIf(!HAVE_STORIES260K)('determinism', () => {
  it('the same bits at 1 and 2 threads (F32, BF16 and F16)', async () => {
    for (const dtype of ['float32', 'bfloat16', 'float16'] as const) {
      const hashes: string[] = [];
      for (const threads of [1, 2]) {
        const m = await loadModel(MODEL, { threads, dtype });
        try {
          expect(m.threads).toBe(threads);
          await m.perturb(2024n, 0.05);
          await m.update([
            { seed: 2025n, coeff: -0.01 },
            { seed: 2026n, coeff: 0.02 },
          ]);
          hashes.push(await m.weightsHash());
        } finally {
          m.dispose();
        }
      }
      expect(hashes[0], dtype).toBe(hashes[1]);
    }
  });

  it('the same bits with the scalar, AVX2 and AVX-512 kernels (DPZO_ISA in a child process)', () => {
    const indexUrl = new URL('../../lib/index.ts', import.meta.url).href;
    const nativeUrl = new URL('../../lib/native.ts', import.meta.url).href;
    const script = `
      const { loadModel } = await import(${JSON.stringify(indexUrl)});
      const { nativeAddon } = await import(${JSON.stringify(nativeUrl)});
      const out = { isa: nativeAddon().directionIsa(), hashes: {} };
      for (const dtype of ['float32', 'bfloat16', 'float16']) {
        const m = await loadModel(${JSON.stringify(MODEL)}, { threads: 2, dtype });
        await m.perturb(31337n, 0.02);
        await m.update([{ seed: 1n, coeff: 0.01 }, { seed: 2n ** 40n, coeff: -0.02 }, { seed: 5n, coeff: 0.003 }]);
        out.hashes[dtype] = await m.weightsHash();
        m.dispose();
      }
      process.stdout.write(JSON.stringify(out));`;
    const run = (isa: string) => runWithIsa<{ isa: string; hashes: Record<string, string> }>(isa, script);
    const scalar = run('scalar');
    expect(scalar.isa).toBe('scalar');
    const seen = new Set(['scalar']);
    for (const isa of ['avx2', 'avx512']) {
      const r = run(isa);
      if (seen.has(r.isa)) continue; // not on this CPU: fell back to a level already compared
      seen.add(r.isa);
      expect(r.hashes, `${r.isa} vs scalar`).toEqual(scalar.hashes);
    }
    expect(seen.has(native.directionIsa()), 'the best ISA of this CPU was among those compared').toBe(true);
  });
});

// The native check driver (built next to the addon by CMake; absent in node-gyp builds).
const checkBin = process.env.DPZO_ADDON
  ? join(dirname(dirname(process.env.DPZO_ADDON)), 'dpzo_check')
  : fileURLToPath(new URL('../../build/dpzo_check', import.meta.url));
const check = (...args: string[]) => JSON.parse(execFileSync(checkBin, args, { encoding: 'utf8' })) as Record<string, unknown>;

describe.skipIf(!existsSync(checkBin))('dpzo_check (the driver for machines without Node)', () => {
  it("philox known answers and directions equal to the addon's", () => {
    expect(check('philox').ok).toBe(true);
    const r = check('direction', '--seed', '18446744073709551615', '--g0', '4294967299', '--n', '257');
    const z = Float32Array.from(r.z as number[]); // printed with 9 significant digits: exact for float32
    expect(Buffer.from(z.buffer).equals(Buffer.from(native.direction(2n ** 64n - 1n, 4294967299n, 257).buffer))).toBe(true);
  });
  it('every kernel this CPU has (the axpy and the virtual GEMM row kernels) matches the scalar one on edge offsets, lengths and special weights', () => {
    const r = check('isa');
    expect(r.mismatches).toBe(0);
    expect(r.kernels).toContain(native.directionIsa());
  });
  it('log/sin/cos are within 2 ulp over all 2^23 inputs', () => {
    const r = check('accuracy');
    for (const k of ['log_max_ulp', 'sin_max_ulp', 'cos_max_ulp']) expect(r[k] as number, k).toBeLessThanOrEqual(2);
    expect(r.ok).toBe(true);
  });
});
