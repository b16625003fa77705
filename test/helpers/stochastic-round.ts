// An independent reference of ARCHITECTURE §2's stochastic rounding, written from the spec (not from the
// C++): the rounding word of element g (Philox4x32-10, key = seed, counter = (lo32 b, hi32 b, 1, 0),
// b = g/4, word g mod 4), and the BF16/F16 rounding of a float32 value, by value rather than by bits.
import { philoxRef } from './philox-ref.js';

export function roundingWord(seed: bigint, g: bigint): number {
  const b = g >> 2n;
  const key = [Number(seed & 0xffffffffn), Number(seed >> 32n)];
  return philoxRef([Number(b & 0xffffffffn), Number(b >> 32n), 1, 0], key)[Number(g & 3n)]!;
}

const f32 = new Float32Array(1);

/** The float32 value of a stochastically rounded BF16/F16: the magnitude cut toward zero to the grid, plus
 * one step when (dropped fraction as 32-bit fixed point) + r ≥ 2^32. Reference by value, not by bit tricks. */
export function stochasticRound(x: number, r: number, dtype: 'BF16' | 'F16'): number {
  f32[0] = x;
  const v = f32[0]!;
  if (Number.isNaN(v)) return NaN;
  const a = Math.abs(v);
  if (dtype === 'F16' && a >= 65536) return Math.sign(v) * Infinity;
  if (!Number.isFinite(a)) return v;
  // the grid spacing at a: BF16 keeps 8 significant bits, F16 11 (its subnormal grid is 2^-24)
  let exp = a === 0 ? 0 : Math.floor(Math.log2(a));
  if (a !== 0 && 2 ** (exp + 1) <= a) exp++;
  if (a !== 0 && 2 ** exp > a) exp--;
  let ulp = dtype === 'BF16' ? 2 ** (exp - 7) : 2 ** (Math.max(exp, -14) - 10);
  if (dtype === 'BF16' && a !== 0 && a < 2 ** -126) ulp = 2 ** -133; // BF16 subnormals share the float32 exponent
  const down = Math.floor(a / ulp) * ulp;
  const frac = Math.floor(((a - down) / ulp) * 2 ** 32); // the dropped fraction, truncated to 32 bits
  const up = frac + r >= 2 ** 32;
  const m = up ? down + ulp : down;
  if (dtype === 'F16' && m > 65504) return Math.sign(v) * Infinity;
  if (dtype === 'BF16' && m > 3.3895313892515355e38) return Math.sign(v) * Infinity;
  return (v < 0 || Object.is(v, -0) ? -1 : 1) * m;
}
