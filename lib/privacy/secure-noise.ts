// defines: secureUniform, fillGaussian, fillLaplace — noise for the DP release from the OS CSPRNG (node:crypto).
// Uniforms are 53-bit: two 32-bit words from crypto.randomFillSync -> (a·2^21 + b>>>11)/2^53 ∈ [0, 1), exact in double.
// Gaussian: Box–Muller, sqrt(−2 ln U1)·(cos, sin)(2π U2) with U1 ∈ (0, 1]. Laplace: sign bit · b · (−ln U), U ∈ (0, 1].
// Never Math.random. Caveat (Mironov 2012): floating-point noise has gaps in its low-order bits; the released values
// here are further scaled and summed before use, but the analysis assumes ideal real-valued noise.

import { randomFillSync } from 'node:crypto';
import { argumentError, checkNonNegative } from './errors.js';

const POOL_WORDS = 4096;
const pool = new Uint32Array(POOL_WORDS);
let poolPos = POOL_WORDS;

function nextWord(): number {
  if (poolPos >= POOL_WORDS) {
    randomFillSync(pool);
    poolPos = 0;
  }
  return pool[poolPos++];
}

/** A uniform double in [0, 1) with 53 random bits, from the CSPRNG. */
export function secureUniform(): number {
  const a = nextWord() >>> 11; // 21 bits
  const b = nextWord(); // 32 bits
  return (a * 4294967296 + b) / 9007199254740992;
}

/** A uniform double in (0, 1]. */
function uniformOpenZero(): number {
  return 1 - secureUniform();
}

type FloatArray = Float64Array | Float32Array;

/** Fills `out` with i.i.d. N(0, std²) samples. */
export function fillGaussian<T extends FloatArray>(out: T, std: number): T {
  const s = checkNonNegative('std', std);
  for (let i = 0; i < out.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniformOpenZero()));
    const theta = 2 * Math.PI * secureUniform();
    out[i] = s * r * Math.cos(theta);
    if (i + 1 < out.length) out[i + 1] = s * r * Math.sin(theta);
  }
  return out;
}

/** Fills `out` with i.i.d. Laplace(0, b) samples: density e^{−|x|/b}/(2b). */
export function fillLaplace<T extends FloatArray>(out: T, scale: number): T {
  const b = checkNonNegative('scale', scale);
  for (let i = 0; i < out.length; i++) {
    const sign = (nextWord() & 1) === 0 ? 1 : -1;
    out[i] = sign * b * -Math.log(uniformOpenZero());
  }
  return out;
}

/** n samples of N(0, std²) as a new Float64Array. */
export function gaussianNoise(n: number, std: number): Float64Array {
  if (!Number.isSafeInteger(n) || n < 0) throw argumentError('n', n, 'a non-negative integer');
  return fillGaussian(new Float64Array(n), std);
}

/** n samples of Laplace(0, b) as a new Float64Array. */
export function laplaceNoise(n: number, scale: number): Float64Array {
  if (!Number.isSafeInteger(n) || n < 0) throw argumentError('n', n, 'a non-negative integer');
  return fillLaplace(new Float64Array(n), scale);
}
