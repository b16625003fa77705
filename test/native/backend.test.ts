// The Backend seam (issue 8, item 4): the native registry picks the backend for a device
// ('cpu', 'auto', 'cuda'); the CPU backend runs everything; the fused update with weight decay
// θ ← f·(θ + Σ c·z) is pinned against a float32 reference computed here (bit for bit in every
// dtype: one fma per pair, one multiply by f, one rounding to the dtype) and, for float32, equals
// the old two passes (update, then decay). (The forward at a virtual point: virtual-forward.test.ts.)
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/index.js';
import { nativeAddon } from '../../lib/native.js';
import type { Model, WeightDType } from '../../lib/model/types.js';
import { makeTempDir, VARIANTS, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { fma32 } from '../helpers/float32.js';
import { roundTo, type FloatDType } from '../helpers/safetensors.js';
import { roundingWord, stochasticRound } from '../helpers/stochastic-round.js';

const tmp = makeTempDir('dpzo-backend-');
afterAll(() => tmp.cleanup());
const dir = join(tmp.dir, 'gpt2');
writeRandomCheckpoint(dir, { ...VARIANTS['gpt2']!, seed: 21 });

const FILE_DTYPE: Record<WeightDType, FloatDType> = { float32: 'F32', bfloat16: 'BF16', float16: 'F16' };
const PAIRS: [bigint, number][] = [
  [5n, 0.013],
  [2n ** 63n + 7n, -0.021],
  [99n, 0.004],
];

/**
 * θ' = store(f·fma-chain(θ, c_k, z_k)) on trainable tensors (f only on rank ≥ 2), θ elsewhere; store rounds
 * F16/BF16 stochastically with the rounding word of (first seed, g) (the update), F32 to nearest.
 */
function expected(m: Model, before: Map<string, Float32Array>, factor: number): Map<string, Float32Array> {
  const dt = FILE_DTYPE[m.dtype];
  const store = (x: number, g: number) => (dt === 'F32' ? roundTo(x, dt) : stochasticRound(x, roundingWord(PAIRS[0]![0], BigInt(g)), dt));
  const out = new Map<string, Float32Array>();
  let g0 = 0;
  const trainable = new Set(m.trainableNames());
  for (const name of m.parameterNames()) {
    const w = before.get(name)!;
    if (!trainable.has(name)) {
      out.set(name, w);
      continue;
    }
    const zs = PAIRS.map(([s]) => nativeAddon().direction(s, BigInt(g0), w.length));
    const f = m.parameterShape(name).length >= 2 ? Math.fround(factor) : 1;
    const e = new Float32Array(w.length);
    for (let i = 0; i < w.length; i++) {
      let acc = w[i]!;
      PAIRS.forEach(([, c], k) => (acc = fma32(Math.fround(c), zs[k]![i]!, acc)));
      e[i] = store(f === 1 ? acc : Math.fround(acc * f), g0 + i);
    }
    out.set(name, e);
    g0 += w.length;
  }
  return out;
}

describe('the backend registry', () => {
  it('cpu and auto run on the CPU backend here; cuda says why it cannot; anything else is an argument error', async () => {
    const cpu = await loadModel(dir, { threads: 1 });
    expect(cpu.backend).toBe('cpu');
    cpu.dispose();
    const auto = await loadModel(dir, { threads: 1, device: 'auto' });
    expect(auto.backend).toBe('cpu'); // no GPU on this machine (and the CUDA backend runs no model yet)
    auto.dispose();
    const err = await loadModel(dir, { device: 'cuda' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_DEVICE', message: expect.stringMatching(/cuda.*(use device 'cpu' or 'auto'|not implemented|no CUDA device)/) });
    // the native registry refuses an unknown device itself (the TS check is bypassed here)
    await expect(Promise.resolve().then(() => nativeAddon().loadModel(dir, { device: 'tpu' }))).rejects.toMatchObject({ code: 'ERR_ARGUMENT', message: expect.stringMatching(/'tpu'/) });
  });
});

describe('update with fused weight decay', () => {
  for (const dtype of ['float32', 'bfloat16', 'float16'] as WeightDType[]) {
    it(`θ ← f·(θ + Σ c·z) on matrices, θ + Σ c·z on biases and norms, one rounding (${dtype})`, async () => {
      const m = await loadModel(dir, { threads: 2, dtype, trainable: ['mlp', 'ln_', 'attn.c_attn'] });
      const before = new Map(m.parameterNames().map((n) => [n, m.getParameter(n)]));
      const factor = 0.995;
      await m.update(
        PAIRS.map(([seed, coeff]) => ({ seed, coeff })),
        { decay: factor },
      );
      let matrices = 0;
      for (const [name, want] of expected(m, before, factor)) {
        const got = m.getParameter(name);
        const i = got.findIndex((v, j) => !Object.is(v, want[j]));
        if (i >= 0) expect.fail(`${name}[${i}] = ${got[i]}, expected ${want[i]}`);
        if (m.trainableNames().includes(name) && m.parameterShape(name).length >= 2) matrices++;
      }
      expect(matrices).toBeGreaterThan(0);
      m.dispose();
    });
  }

  it('float32: bit for bit the old two passes (update, then decay), whatever the thread count', async () => {
    const hashes: string[] = [];
    for (const [threads, fused] of [
      [1, true],
      [2, true],
      [2, false],
    ] as const) {
      const m = await loadModel(dir, { threads });
      const pairs = PAIRS.map(([seed, coeff]) => ({ seed, coeff }));
      if (fused) await m.update(pairs, { decay: 0.9 });
      else {
        await m.update(pairs);
        await m.decay(0.9);
      }
      hashes.push(await m.weightsHash());
      m.dispose();
    }
    expect(new Set(hashes).size).toBe(1);
  });

  it('refuses a decay outside (0, 1] before touching the weights', async () => {
    const m = await loadModel(dir, { threads: 1 });
    const h = await m.weightsHash();
    for (const bad of [0, -1, 1.01, Number.NaN]) await expect(m.update([{ seed: 1n, coeff: 0.1 }], { decay: bad })).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
    await expect(nativeAddon().loadModel(dir, {}).then((n) => n.update([1n], [0.1], { decay: 2 }))).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
    expect(await m.weightsHash()).toBe(h);
    m.dispose();
  });
});
