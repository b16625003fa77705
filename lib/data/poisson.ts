// defines: PoissonSampler — each of N examples joins a batch independently with
// probability q (ARCHITECTURE §3.1), randomness from the OS CSPRNG. Indices are
// drawn by geometric skips, O(qN) per batch instead of N Bernoulli trials.
import { randomFillSync } from 'node:crypto';

import { argumentError } from './errors.js';

/** Uniform doubles in (0, 1] with 53 random bits. */
export type UniformSource = () => number;

/** A buffered CSPRNG uniform: 53 bits per draw from randomFillSync. */
export function cryptoUniform(bufferWords = 8192): UniformSource {
  // a draw takes two words: a buffer of one (or of none: a string) returned NaN for every draw
  if (!(Number.isInteger(bufferWords) && bufferWords >= 2)) throw argumentError('cryptoUniform', `bufferWords must be an integer of at least 2 (got ${String(bufferWords)})`);
  const buf = new Uint32Array(bufferWords);
  let pos = buf.length;
  return () => {
    if (pos + 2 > buf.length) {
      randomFillSync(buf);
      pos = 0;
    }
    const hi = buf[pos++]! >>> 11; // 21 bits
    const lo = buf[pos++]!; // 32 bits
    return (hi * 4294967296 + lo + 1) / 9007199254740992; // (k + 1) / 2^53 ∈ (0, 1]
  };
}

/**
 * Poisson sampling: each of N examples joins each batch independently with probability q (the sampling the privacy analysis assumes), so batch sizes vary
 * around q·N. Randomness comes from the OS CSPRNG by default.
 */
export class PoissonSampler {
  /** N, the number of examples sampled from. */
  readonly size: number;
  /** q in (0, 1]. */
  readonly sampleRate: number;
  private readonly uniform: UniformSource;
  private readonly logFail: number;

  /**
   * @param size N, a positive integer.
   * @param sampleRate q in (0, 1].
   * @param uniform Source of uniforms in (0, 1] (default: {@link cryptoUniform}); a test may inject one.
   * @throws {@link DpzoError} `ERR_ARGUMENT` for a bad size, rate or uniform source (it was an uncoded RangeError).
   */
  constructor(size: number, sampleRate: number, uniform: UniformSource = cryptoUniform()) {
    if (!Number.isInteger(size) || size < 1) throw argumentError('PoissonSampler', `size must be a positive integer, got ${String(size)}`);
    if (typeof sampleRate !== 'number' || !(sampleRate > 0 && sampleRate <= 1))
      throw argumentError('PoissonSampler', `sampleRate must be in (0, 1], got ${String(sampleRate)}`);
    if (typeof uniform !== 'function') throw argumentError('PoissonSampler', 'uniform must be a function returning numbers in (0, 1]');
    this.size = size;
    this.sampleRate = sampleRate;
    this.uniform = uniform;
    this.logFail = Math.log1p(-sampleRate);
  }

  /** One batch: the sorted indices of the examples that joined (possibly none). */
  sample(): number[] {
    const out: number[] = [];
    if (this.sampleRate === 1) {
      for (let i = 0; i < this.size; i++) out.push(i);
      return out;
    }
    // The gap before the next success of Bernoulli(q) trials is Geometric(q): floor(ln U / ln(1-q)).
    let i = -1;
    for (;;) {
      const skip = Math.floor(Math.log(this.uniform()) / this.logFail);
      i += skip + 1;
      if (i >= this.size || !Number.isFinite(i)) return out;
      out.push(i);
    }
  }
}
