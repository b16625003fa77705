// defines: secureUniform, standardExponential, fillGaussian, fillLaplace — noise for the DP release from the OS CSPRNG (node:crypto).
// Uniforms are 53-bit: two 32-bit words from crypto.randomFillSync -> (a·2^21 + b>>>11)/2^53 ∈ [0, 1), exact in double.
// Both mechanisms are built on E = −ln U, U uniform on (0, 1], drawn WITHOUT a cut-off: U = (1 + f)·2^−(k+1) with k the
// number of leading zero bits of an unbounded CSPRNG bit stream (geometric) and f a 52-bit fraction, so E = (k+1)·ln 2 −
// ln(1 + f) is computed without ever forming U. A 53-bit U would bound E by 53·ln 2 = 36.7, so the Gaussian by 8.57σ and
// the Laplace by 36.7b: an output beyond a neighbour's support would then carry an unaccounted δ (issue 11.4).
// Gaussian: Box–Muller, sqrt(2E)·(cos, sin)(2π U2). Laplace: sign bit · b · E.
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

/**
 * A standard exponential sample E = −ln U, U uniform on (0, 1], with unbounded support. `next` gives uniform
 * 32-bit words (the CSPRNG pool; a parameter so the tail can be tested with a chosen stream).
 */
export function standardExponential(next: () => number = nextWord): number {
  // k ~ Geometric(1/2): leading zero bits of the stream, read 32 at a time, with no upper bound
  let k = 0;
  for (;;) {
    const w = next() >>> 0;
    if (w !== 0) {
      k += Math.clz32(w);
      break;
    }
    k += 32;
  }
  const f = ((next() >>> 12) * 4294967296 + (next() >>> 0)) / 4503599627370496; // 20 + 32 bits: [0, 1)
  return (k + 1) * Math.LN2 - Math.log1p(f);
}

type FloatArray = Float64Array | Float32Array;

/** Fills `out` with i.i.d. N(0, std²) samples. */
export function fillGaussian<T extends FloatArray>(out: T, std: number): T {
  const s = checkNonNegative('std', std);
  for (let i = 0; i < out.length; i += 2) {
    const r = Math.sqrt(2 * standardExponential());
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
    out[i] = sign * b * standardExponential();
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
