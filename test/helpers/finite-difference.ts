// The check of a native gradient against central differences of the float64 reference, element by element:
// the element of each trainable tensor with the largest gradient and random ones. Used by the backward tests
// and the edge-config tests.
//
// Central differences of the float64 reference with step h = 1e-5: truncation error h²/6·|ℓ'''| ≈ 1e-11 and
// rounding 1e-16/h = 1e-11, so the difference quotient is exact to ~1e-10 — except across a kink of ReLU
// (OPT), where a quotient whose ±h straddles a pre-activation's zero is wrong (seen with h = 1e-4 on
// opt-postln: 0.1% off on a few elements); h = 1e-5 makes that ten times rarer, and none occurs here.
// The native gradient computes in float32 (GEMMs over ≤ 96 vocabulary columns and ≤ 28 tokens, norm
// statistics in double): measured, it is within ~1e-7 of the quotient, a few float32 ulps of the
// gradient's scale (≈ 0.5 here). The bound |native − fd| ≤ 1e-4·|fd| + 1e-5·scale (scale = the largest
// |∂ℓ/∂θ| of the whole gradient) leaves a margin of ~50 over that; a missing or wrong term (a dropped
// residual, a transposed weight, a wrong softmax Jacobian, RoPE rotated the wrong way, a norm's mean term
// left out: each tried, each caught) moves an element by O(|∂ℓ/∂θ|), ~1e3–1e4 times the bound.
import { expect } from 'vitest';

import type { StoredTensor } from './checkpoints.js';
import type { Rng } from './prng.js';

const FD_STEP = 1e-5;
const REL = 1e-4;
const ABS = 1e-5;

interface TensorView {
  name: string;
  numel: number;
  trainable: boolean;
  globalOffset: number;
}

/**
 * Fails unless `grad` (over the model's trainable elements) matches the central differences of `loss()`, the
 * reference's loss at the checkpoint values `stored` (which it moves and restores), on `samples` elements of each
 * trainable tensor. Returns how many elements it checked.
 */
export function expectGradientMatchesDifferences(
  tensors: readonly TensorView[],
  stored: Map<string, StoredTensor>,
  grad: Float32Array,
  loss: () => number,
  rng: Rng,
  samples: number,
): number {
  let scale = 0;
  for (const g of grad) scale = Math.max(scale, Math.abs(g));
  expect(scale).toBeGreaterThan(0);
  let checked = 0;
  for (const t of tensors) {
    if (!t.trainable) continue;
    const s = stored.get(t.name);
    if (!s) throw new Error(`checkpoint has no tensor ${t.name}`);
    let top = 0;
    for (let e = 1; e < t.numel; e++) if (Math.abs(grad[t.globalOffset + e]!) > Math.abs(grad[t.globalOffset + top]!)) top = e;
    for (const e of [top, ...Array.from({ length: samples - 1 }, () => rng.int(t.numel))]) {
      const v0 = s.values[e]!;
      s.values[e] = v0 + FD_STEP;
      const lp = loss();
      s.values[e] = v0 - FD_STEP;
      const lm = loss();
      s.values[e] = v0;
      const fd = (lp - lm) / (2 * FD_STEP);
      const got = grad[t.globalOffset + e]!;
      const bound = REL * Math.abs(fd) + ABS * scale;
      if (!(Math.abs(got - fd) <= bound)) {
        expect.fail(`${t.name}[${e}]: native ${got}, finite difference ${fd}, error ${Math.abs(got - fd).toExponential(2)} > ${bound.toExponential(2)}`);
      }
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(0);
  return checked;
}
