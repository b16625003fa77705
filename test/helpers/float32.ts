// float32 arithmetic in TypeScript, independent of native/: the next float32, an fma rounded
// once, and the ulp — what the native kernels' results are pinned against.

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);
/** The float32 next to f (a finite float32) in direction dir (+1 up, -1 down). */
export function nextF32(f: number, dir: 1 | -1): number {
  if (f === 0) return dir * 2 ** -149;
  f32buf[0] = f;
  u32buf[0] = f > 0 === dir > 0 ? u32buf[0]! + 1 : u32buf[0]! - 1;
  return f32buf[0]!;
}
/** fma in float32: a·b + c rounded once (a, b, c float32). a·b is exact in float64;
 * the sum's float64 rounding error is recovered (TwoSum) to break float32 ties. */
export function fma32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const bv = s - p;
  const err = p - (s - bv) + (c - bv); // p + c = s + err exactly
  const f = Math.fround(s);
  if (err === 0 || f === s) return f;
  const other = nextF32(f, f < s ? 1 : -1); // the float32 on the other side of s
  if (s !== (f + other) / 2) return f; // not a tie: s and s + err round alike
  return err > 0 ? Math.max(f, other) : Math.min(f, other);
}
/** Distance to the next float32 above |x| (x finite, nonzero). */
export function ulp32(x: number): number {
  const a = Math.fround(Math.abs(x));
  return nextF32(a, 1) - a;
}
