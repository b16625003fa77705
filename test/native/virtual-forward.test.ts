// The forward at a virtual point θ + Σ c_k z(s_k) (ARCHITECTURE §2, exactness): θ is never written, each
// trainable weight is read as fl(w + Σ c_k z_k). Pinned against the in-place perturb + forward (F32, bit for
// bit), against an F32 copy of a low-precision model (the virtual read is exact where the in-place perturb
// rounds), and the paired evaluation against separate calls.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadModel, type Model } from '../../lib/index.js';
import { makeTempDir, VARIANTS, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { runWithIsa } from '../helpers/isa.js';

const tmp = makeTempDir('dpzo-virtual-');
afterAll(() => tmp.cleanup());

// two sequences of different lengths (edge tiles in every GEMM), labels on every position
const BATCH = { inputIds: [Int32Array.from([1, 5, 9, 2, 7, 3, 3, 8, 4]), Int32Array.from([6, 2, 2, 11, 5])] };
const SEED = 0x1234_5678_9abcn;
const EPS = 1e-3;

function hashes(model: Model): string[] {
  return model.parameterNames().map((n) => Buffer.from(model.getParameter(n).buffer).toString('base64'));
}

function bits(a: Float64Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
}

describe('forward at a virtual point', () => {
  for (const variant of Object.keys(VARIANTS)) {
    it(`${variant}, F32: equals perturb + forward bit for bit, and θ is untouched`, async () => {
      const dir = join(tmp.dir, `${variant}-f32`);
      writeRandomCheckpoint(dir, { ...VARIANTS[variant]!, dtype: 'F32', seed: 5 });
      // part of the model frozen: frozen tensors are read as stored at every point
      // part of the model frozen: frozen tensors are read as stored at every point
      const opts = { threads: 2, trainable: variant.startsWith('gpt2') ? ['h.0', 'wte', 'ln_f'] : undefined };
      const model = await loadModel(dir, opts);
      const before = hashes(model);
      const atPlus = await model.perExampleLoss(BATCH, { at: [{ seed: SEED, coeff: EPS }] });
      const [p, m] = await model.perExampleLossAt(BATCH, [[{ seed: SEED, coeff: EPS }], [{ seed: SEED, coeff: -EPS }]]);
      const atTheta = await model.perExampleLoss(BATCH);
      expect(hashes(model)).toEqual(before);
      // the reference: a fresh copy of θ perturbed in place once per point
      const inPlace = async (coeff: number) => {
        const ref = await loadModel(dir, opts);
        await ref.perturb(SEED, coeff);
        const r = await ref.perExampleLoss(BATCH);
        ref.dispose();
        return r;
      };
      const inPlacePlus = await inPlace(EPS);
      const inPlaceMinus = await inPlace(-EPS);
      expect(bits(atPlus.loss)).toBe(bits(inPlacePlus.loss));
      expect(bits(p!.loss)).toBe(bits(inPlacePlus.loss));
      expect(bits(m!.loss)).toBe(bits(inPlaceMinus.loss));
      // and the points are not θ
      expect(bits(atTheta.loss)).not.toBe(bits(inPlacePlus.loss));
      expect(bits(atTheta.loss)).not.toBe(bits(inPlaceMinus.loss));
      model.dispose();
    });
  }

  for (const dtype of ['BF16', 'F16'] as const) {
    it(`${dtype}: reads fl(w + c·z) in float32, as an F32 copy perturbed in place`, async () => {
      const dir = join(tmp.dir, `llama-${dtype}`);
      writeRandomCheckpoint(dir, { ...VARIANTS['llama-qkv-bias']!, dtype, seed: 9 });
      const low = await loadModel(dir, { threads: 2 });
      const wide = await loadModel(dir, { threads: 2, dtype: 'float32' }); // the same values, widened exactly
      const pairs = [
        { seed: 3n, coeff: 2e-3 },
        { seed: 77n, coeff: -5e-4 },
      ];
      const before = hashes(low);
      const [v] = await low.perExampleLossAt(BATCH, [pairs]);
      expect(hashes(low)).toEqual(before);
      await wide.update(pairs);
      const ref = await wide.perExampleLoss(BATCH);
      expect(bits(v!.loss)).toBe(bits(ref.loss));
      // the in-place perturb of the low-precision model rounds θ + c·z to the dtype: not the same point
      await low.update(pairs);
      const rounded = await low.perExampleLoss(BATCH);
      expect(bits(rounded.loss)).not.toBe(bits(ref.loss));
      low.dispose();
      wide.dispose();
    });
  }

  it('GPT-2 products wide enough for 128-column tasks (2 and 3 threads): equal perturb + forward bit for bit', async () => {
    // hidden 192: the 576- and 768-column products of a virtual (in, out) weight are split in tasks of whole
    // 128 columns (cpu/gemm.cpp), which the small variants above never reach
    const dir = join(tmp.dir, 'gpt2-wide-f32');
    writeRandomCheckpoint(dir, { family: 'gpt2', hiddenSize: 192, numHeads: 4, numLayers: 1, intermediateSize: 768, dtype: 'F32', seed: 9 });
    for (const threads of [2, 3]) {
      const model = await loadModel(dir, { threads });
      const [p, m] = await model.perExampleLossAt(BATCH, [[{ seed: SEED, coeff: EPS }], [{ seed: SEED, coeff: -EPS }]]);
      model.dispose();
      for (const [point, coeff] of [[p!, EPS] as const, [m!, -EPS] as const]) {
        const ref = await loadModel(dir, { threads: 1 });
        await ref.perturb(SEED, coeff);
        const r = await ref.perExampleLoss(BATCH);
        ref.dispose();
        expect(bits(point.loss)).toBe(bits(r.loss));
      }
    }
  });

  it('candidate mode and several pairs per point: each point as alone', async () => {
    const dir = join(tmp.dir, 'opt-cand');
    writeRandomCheckpoint(dir, { ...VARIANTS['opt-project']!, dtype: 'F32', seed: 3 });
    const model = await loadModel(dir, { threads: 2 });
    const batch = { ...BATCH, labels: [Int32Array.from([-100, -100, -100, -100, -100, -100, -100, -100, 4]), Int32Array.from([-100, -100, -100, -100, 7])], candidates: Int32Array.from([4, 7, 9]) };
    const points = [[{ seed: 1n, coeff: 1e-2 }, { seed: 2n, coeff: 3e-3 }], [{ seed: 2n, coeff: -1e-2 }], [], [{ seed: 1n, coeff: 0 }]];
    const all = await model.perExampleLossAt(batch, points);
    for (let p = 0; p < points.length; p++) {
      const alone = await model.perExampleLoss(batch, { at: points[p] });
      expect(bits(all[p]!.loss)).toBe(bits(alone.loss));
      expect(Buffer.from(all[p]!.candidateLogits!.buffer).toString('hex')).toBe(Buffer.from(alone.candidateLogits!.buffer).toString('hex'));
    }
    // an empty point and a zero coefficient are θ itself
    const theta = await model.perExampleLoss(batch);
    expect(bits(all[2]!.loss)).toBe(bits(theta.loss));
    expect(bits(all[3]!.loss)).toBe(bits(theta.loss));
    model.dispose();
  });

  it('with the scalar, AVX2 and AVX-512 kernels alike (DPZO_ISA in a child process)', () => {
    // the forward's elementwise math differs between ISAs; the virtual reads must match perturb on each
    const dir = join(tmp.dir, 'gpt2-isa');
    writeRandomCheckpoint(dir, { ...VARIANTS['gpt2']!, dtype: 'F32', seed: 4 });
    const indexUrl = new URL('../../lib/index.ts', import.meta.url).href;
    const script = `
      const { loadModel } = await import(${JSON.stringify(indexUrl)});
      const hex = (r) => Buffer.from(r.loss.buffer).toString('hex');
      const batch = { inputIds: ${JSON.stringify(BATCH.inputIds.map((a) => Array.from(a)))} };
      const m = await loadModel(${JSON.stringify(dir)}, { threads: 2 });
      const pts = [[{ seed: ${SEED}n, coeff: ${EPS} }, { seed: 9n, coeff: 1e-4 }], [{ seed: ${SEED}n, coeff: ${-EPS} }]];
      const virt = (await m.perExampleLossAt(batch, pts)).map(hex);
      m.dispose();
      const ref = [];
      for (const p of pts) {
        const r = await loadModel(${JSON.stringify(dir)}, { threads: 2 });
        await r.update(p);
        ref.push(hex(await r.perExampleLoss(batch)));
        r.dispose();
      }
      process.stdout.write(JSON.stringify({ virt, ref }));`;
    for (const isa of ['scalar', 'avx2', 'avx512']) {
      const r = runWithIsa<{ virt: string[]; ref: string[] }>(isa, script);
      expect(r.virt, isa).toEqual(r.ref);
    }
  });

  it('refuses bad points with ERR_ARGUMENT', async () => {
    const dir = join(tmp.dir, 'gpt2-bad');
    writeRandomCheckpoint(dir, { ...VARIANTS['gpt2']!, dtype: 'F32', seed: 4 });
    const model = await loadModel(dir, { threads: 1 });
    await expect(model.perExampleLossAt(BATCH, [])).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
    await expect(model.perExampleLoss(BATCH, { at: [{ seed: 1n, coeff: NaN }] })).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
    await expect(model.perExampleLossAt(BATCH, Array.from({ length: 9 }, () => []))).rejects.toMatchObject({ code: 'ERR_ARGUMENT' });
    model.dispose();
  });
});
