// Checks of the test references themselves: the dtype conversions of the
// safetensors helper, the float64 forward on the trained stories260K, and
// (when python3 with numpy is present) agreement with the numpy reference.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

import { VARIANTS, makeTempDir, writeRandomCheckpoint } from '../helpers/checkpoints.js';
import { Rng } from '../helpers/prng.js';
import { bf16ToF32, bitsF32, f16ToF32, f32Bits, f32ToBf16, f32ToF16, readSafetensors } from '../helpers/safetensors.js';
import { RefModel, candidateLoss, entropy, sequenceLoss } from '../reference/forward-f64.js';

const tmp = makeTempDir('dpzo-reference-');
afterAll(() => tmp.cleanup());

describe('dtype conversions (round to nearest even)', () => {
  it('every finite half and bfloat16 survives a round trip through float32', () => {
    const bad: string[] = [];
    for (let h = 0; h < 65536; h++) {
      if (((h >> 10) & 31) !== 31 && f32ToF16(f16ToF32(h)) !== h) bad.push(`f16 ${h.toString(16)}`);
      if (((h >> 7) & 255) !== 255 && f32ToBf16(bf16ToF32(h)) !== h) bad.push(`bf16 ${h.toString(16)}`);
    }
    expect(bad).toEqual([]);
  });

  it('ties go to even; just off a tie goes to the nearer neighbour', () => {
    for (let h = 0x0001; h < 0x7bff; h += 37) {
      const mid = (f16ToF32(h) + f16ToF32(h + 1)) / 2; // exact in float32
      expect(f32ToF16(mid)).toBe(h % 2 === 0 ? h : h + 1);
      expect(f32ToF16(bitsF32(f32Bits(mid) + 1))).toBe(h + 1);
      expect(f32ToF16(bitsF32(f32Bits(mid) - 1))).toBe(h);
    }
    expect(f32ToBf16(bitsF32(0x3f808000))).toBe(0x3f80); // tie, even stays
    expect(f32ToBf16(bitsF32(0x3f818000))).toBe(0x3f82); // tie, odd rounds up
    expect(f32ToBf16(bitsF32(0x3f808001))).toBe(0x3f81);
  });

  it('half overflow, underflow and subnormals', () => {
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(65519)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00);
    expect(f32ToF16(-1e6)).toBe(0xfc00);
    expect(f32ToF16(2 ** -24)).toBe(0x0001);
    expect(f32ToF16(2 ** -25)).toBe(0x0000); // tie to even (0)
    expect(f32ToF16(-(2 ** -25) * 1.5)).toBe(0x8001);
    expect(f16ToF32(0x03ff)).toBe(1023 * 2 ** -24);
  });
});

describe('random checkpoints', () => {
  it('are deterministic in the seed and follow the stored dtype', () => {
    const a = writeRandomCheckpoint(join(tmp.dir, 'a'), { family: 'llama', dtype: 'BF16', seed: 4 });
    const b = writeRandomCheckpoint(join(tmp.dir, 'b'), { family: 'llama', dtype: 'BF16', seed: 4 });
    expect(readFileSync(join(a.dir, 'model.safetensors')).equals(readFileSync(join(b.dir, 'model.safetensors')))).toBe(true);
    const f = readSafetensors(join(a.dir, 'model.safetensors'));
    expect(f.headerLength % 8).toBe(0);
    for (const t of f.tensors.values()) expect(t.dtype).toBe('BF16');
    const norm = a.tensors.get('model.norm.weight')!.values;
    for (const v of norm) expect(f32ToBf16(v) << 16).toBe(f32Bits(v)); // exactly representable
  });

  it('keep activations O(1): logits have a spread of order one', () => {
    for (const [name, v] of Object.entries(VARIANTS)) {
      const ck = writeRandomCheckpoint(join(tmp.dir, `spread-${name}`), { ...v, seed: 5 });
      const ref = new RefModel(ck.config, ck.tensors);
      const rows = ref.logits([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      for (const row of rows) {
        const h = entropy(row);
        expect(h, name).toBeGreaterThan(1);
        expect(h, name).toBeLessThan(Math.log(row.length) - 0.05); // not uniform
      }
    }
  });
});

describe('loss helpers', () => {
  it('follow Hugging Face labels: logits at t-1 predict labels[t], -100 ignored', () => {
    const logits = [Float64Array.from([0, 1, 2]), Float64Array.from([2, 0, 0]), Float64Array.from([0, 0, 0])];
    const ids = [0, 1, 2];
    const lse = (r: number[]) => Math.log(r.reduce((s, x) => s + Math.exp(x), 0));
    // targets at 1 (label 1, row 0) and 2 (label 2, row 1)
    expect(sequenceLoss(logits, ids).loss).toBeCloseTo((lse([0, 1, 2]) - 1 + (lse([2, 0, 0]) - 0)) / 2, 14);
    expect(sequenceLoss(logits, ids, [-100, -100, 0])).toEqual({ loss: lse([2, 0, 0]) - 2, targets: 1 });
    expect(sequenceLoss(logits, ids, [-100, -100, -100]).targets).toBe(0);
    expect(sequenceLoss(logits, ids, [-100, -100, -100]).loss).toBeNaN();
    const c = candidateLoss(logits, ids, [0, 2], [-100, -100, 2]);
    expect(c.loss).toBeCloseTo(lse([2, 0]) - 0, 14);
    expect(Array.from(c.candidateLogits)).toEqual([2, 0]);
  });
});

const hasNumpy = (() => {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasNumpy)('agreement with the numpy reference (crosscheck_numpy.py)', () => {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'reference', 'crosscheck_numpy.py');
  for (const [name, v] of Object.entries(VARIANTS)) {
    it(name, () => {
      const ck = writeRandomCheckpoint(join(tmp.dir, `np-${name}`), { ...v, dtype: name.includes('opt') ? 'F16' : 'BF16', seed: 6, shards: 2 });
      const rng = new Rng(9);
      const ids = Array.from({ length: 13 }, () => rng.int(ck.config.vocab_size as number));
      const want = JSON.parse(execFileSync('python3', [script, ck.dir, ids.join(',')], { encoding: 'utf8' })) as number[][];
      const got = new RefModel(ck.config, ck.tensors).logits(ids);
      got.forEach((row, t) => row.forEach((x, i) => expect(Math.abs(x - want[t]![i]!)).toBeLessThan(1e-11)));
    });
  }
});
