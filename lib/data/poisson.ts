// defines: PoissonSampler — each of N examples joins a batch independently with
// probability q (ARCHITECTURE §3.1), randomness from the OS CSPRNG. Indices are
// drawn by geometric skips, O(qN) per batch instead of N Bernoulli trials.
import { randomFillSync } from 'node:crypto';

/** Uniform doubles in (0, 1] with 53 random bits. */
export type UniformSource = () => number;

/** A buffered CSPRNG uniform: 53 bits per draw from randomFillSync. */
export function cryptoUniform(bufferWords = 8192): UniformSource {
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
   * @throws RangeError for a bad size or rate.
   */
  constructor(size: number, sampleRate: number, uniform: UniformSource = cryptoUniform()) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`PoissonSampler: size must be a positive integer, got ${size}`);
    if (!(sampleRate > 0 && sampleRate <= 1)) throw new RangeError(`PoissonSampler: sampleRate must be in (0, 1], got ${sampleRate}`);
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
