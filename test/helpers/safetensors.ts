// defines: a plain safetensors writer and reader for tests, and the F32/F16/BF16
// conversions (round to nearest even) written independently of native/.
// Format: u64 little-endian header length N, N bytes of JSON header (padded with
// spaces to a multiple of 8), then the data buffer; data_offsets are relative to it.
import { readFileSync, writeFileSync } from 'node:fs';

export type FloatDType = 'F32' | 'F16' | 'BF16';

export interface RawTensor {
  dtype: string;
  shape: number[];
  data: Uint8Array; // little-endian bytes, exactly numel × dtype size (unless a test breaks that)
}

export interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export const DTYPE_SIZE: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Bits of the float32 nearest to x (JS rounds double -> float32 to nearest even). */
export function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}
export function bitsF32(b: number): number {
  u32[0] = b >>> 0;
  return f32[0]!;
}

/** float32 -> bfloat16 bits: keep the top 16 bits, rounding the low 16 to nearest even. */
export function f32ToBf16(x: number): number {
  const u = f32Bits(x);
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff; // quiet NaN
  const lower = u & 0xffff;
  let upper = u >>> 16;
  if (lower > 0x8000 || (lower === 0x8000 && (upper & 1) === 1)) upper += 1;
  return upper & 0xffff;
}
export function bf16ToF32(h: number): number {
  return bitsF32((h & 0xffff) << 16);
}

/**
 * float32 -> IEEE binary16 bits, round to nearest even, computed from the exact
 * value (not by bit tricks) so it is an independent check of the native code.
 */
export function f32ToF16(x: number): number {
  const v = Math.fround(x);
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a === Infinity) return sign | 0x7c00;
  // quantum of the half-precision grid at a: 2^-24 in the subnormal range, else 2^(e-10)
  let e = a > 0 ? Math.floor(Math.log2(a)) : -25;
  if (a > 0 && 2 ** e > a) e -= 1; // guard log2 rounding
  if (a > 0 && 2 ** (e + 1) <= a) e += 1;
  const q = e < -14 ? 2 ** -24 : 2 ** (e - 10);
  const m = a / q; // exact: a float32 divided by a power of two
  let r = Math.floor(m);
  const frac = m - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r += 1;
  const rounded = r * q;
  if (rounded > 65504) return sign | 0x7c00; // 65520 and above round to 65536: overflow
  if (rounded < 2 ** -14) return sign | Math.round(rounded / 2 ** -24); // subnormal (or 0)
  let ee = Math.floor(Math.log2(rounded));
  if (2 ** ee > rounded) ee -= 1;
  if (2 ** (ee + 1) <= rounded) ee += 1;
  const mant = rounded / 2 ** ee - 1;
  return sign | ((ee + 15) << 10) | Math.round(mant * 1024);
}
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** The value a number takes once stored in `dtype` (via float32, as torch does). */
export function roundTo(x: number, dtype: FloatDType): number {
  if (dtype === 'F32') return Math.fround(x);
  if (dtype === 'BF16') return bf16ToF32(f32ToBf16(x));
  return f16ToF32(f32ToF16(x));
}

export function encodeValues(values: ArrayLike<number>, dtype: FloatDType): Uint8Array {
  const size = DTYPE_SIZE[dtype]!;
  const out = new Uint8Array(values.length * size);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (dtype === 'F32') dv.setFloat32(i * 4, x, true);
    else if (dtype === 'BF16') dv.setUint16(i * 2, f32ToBf16(x), true);
    else dv.setUint16(i * 2, f32ToF16(x), true);
  }
  return out;
}

export function decodeValues(data: Uint8Array, dtype: string): Float64Array {
  const size = DTYPE_SIZE[dtype];
  if (size === undefined) throw new Error(`decodeValues: unknown dtype ${dtype}`);
  const n = data.length / size;
  const out = new Float64Array(n);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < n; i++) {
    if (dtype === 'F32') out[i] = dv.getFloat32(i * 4, true);
    else if (dtype === 'F64') out[i] = dv.getFloat64(i * 8, true);
    else if (dtype === 'BF16') out[i] = bf16ToF32(dv.getUint16(i * 2, true));
    else if (dtype === 'F16') out[i] = f16ToF32(dv.getUint16(i * 2, true));
    else if (dtype === 'I64') out[i] = Number(dv.getBigInt64(i * 8, true));
    else if (dtype === 'I32') out[i] = dv.getInt32(i * 4, true);
    else throw new Error(`decodeValues: dtype ${dtype} not supported here`);
  }
  return out;
}

/** Header bytes: JSON padded with spaces to a multiple of 8, preceded by its u64 length. */
export function encodeHeader(header: Record<string, unknown>): Uint8Array {
  let json = JSON.stringify(header);
  while ((Buffer.byteLength(json) + 8) % 8 !== 0) json += ' ';
  const body = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(body.length), true);
  out.set(body, 8);
  return out;
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Serialise tensors in the given order, contiguous, with optional __metadata__. */
export function serializeSafetensors(tensors: Array<[string, RawTensor]>, metadata: Record<string, string> | null = { format: 'pt' }): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  return concatBytes([encodeHeader(header), ...tensors.map(([, t]) => t.data)]);
}

export function writeSafetensors(path: string, tensors: Array<[string, RawTensor]>, metadata?: Record<string, string> | null): number {
  const bytes = serializeSafetensors(tensors, metadata);
  writeFileSync(path, bytes);
  return bytes.length;
}

export interface ParsedSafetensors {
  header: Record<string, HeaderEntry>;
  metadata: Record<string, string> | undefined;
  headerLength: number;
  /** In header order. */
  tensors: Map<string, RawTensor>;
}

/** Parse without the strict checks of the real loader (the tests check those). */
export function parseSafetensors(buf: Uint8Array): ParsedSafetensors {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  const json = JSON.parse(Buffer.from(buf.subarray(8, 8 + n)).toString('utf8')) as Record<string, unknown>;
  const metadata = json.__metadata__ as Record<string, string> | undefined;
  const header: Record<string, HeaderEntry> = {};
  const tensors = new Map<string, RawTensor>();
  const base = 8 + n;
  for (const [name, v] of Object.entries(json)) {
    if (name === '__metadata__') continue;
    const e = v as HeaderEntry;
    header[name] = e;
    tensors.set(name, {
      dtype: e.dtype,
      shape: e.shape,
      data: buf.slice(base + e.data_offsets[0], base + e.data_offsets[1]),
    });
  }
  return { header, metadata, headerLength: n, tensors };
}

export function readSafetensors(path: string): ParsedSafetensors {
  return parseSafetensors(new Uint8Array(readFileSync(path)));
}

/** Every tensor of a file decoded to float64, keyed by name. */
export function readTensorsF64(path: string): Map<string, { shape: number[]; dtype: string; values: Float64Array }> {
  const out = new Map<string, { shape: number[]; dtype: string; values: Float64Array }>();
  for (const [name, t] of readSafetensors(path).tensors) {
    out.set(name, { shape: t.shape, dtype: t.dtype, values: decodeValues(t.data, t.dtype) });
  }
  return out;
}

// ---- mutations that produce bad files for the loader's error tests ----

/** Rewrite a file through a function of its tensors (order kept, re-packed contiguously). */
export function rewriteSafetensors(path: string, fn: (tensors: Array<[string, RawTensor]>) => Array<[string, RawTensor]>): void {
  const p = readSafetensors(path);
  writeSafetensors(path, fn([...p.tensors.entries()]), p.metadata ?? null);
}

/** Cut `bytes` bytes off the end of the file (the header still declares them). */
export function truncateFile(path: string, bytes: number): void {
  const buf = readFileSync(path);
  writeFileSync(path, buf.subarray(0, buf.length - bytes));
}

/** Set the u64 header length to `n` without touching anything else. */
export function setHeaderLength(path: string, n: bigint): void {
  const buf = new Uint8Array(readFileSync(path));
  new DataView(buf.buffer).setBigUint64(0, n, true);
  writeFileSync(path, buf);
}

/** Write a header (entries with arbitrary offsets) followed by a raw data buffer. */
export function writeRawSafetensors(path: string, header: Record<string, unknown>, data: Uint8Array): void {
  writeFileSync(path, concatBytes([encodeHeader(header), data]));
}

/**
 * Make tensor `b` overlap tensor `a` (both same byte size is not required: b's
 * range starts inside a's), keeping every size equal to numel × dtype size and the
 * buffer length unchanged, so only the offsets are wrong.
 */
export function overlapOffsets(path: string, a: string, b: string): void {
  const p = readSafetensors(path);
  const base = 8 + p.headerLength;
  const buf = new Uint8Array(readFileSync(path));
  const data = buf.subarray(base);
  const header: Record<string, unknown> = {};
  if (p.metadata) header.__metadata__ = p.metadata;
  for (const [name, e] of Object.entries(p.header)) header[name] = { ...e };
  const ea = header[a] as HeaderEntry;
  const eb = header[b] as HeaderEntry;
  const sizeB = eb.data_offsets[1] - eb.data_offsets[0];
  const start = ea.data_offsets[0] + 2; // inside a's range
  eb.data_offsets = [start, start + sizeB];
  writeRawSafetensors(path, header, data);
}

/** Change one tensor's dtype (data re-encoded as zeros of the new size). */
export function setTensorDtype(path: string, name: string, dtype: string): void {
  rewriteSafetensors(path, (ts) =>
    ts.map(([n, t]) => {
      if (n !== name) return [n, t];
      const numel = t.shape.reduce((s, d) => s * d, 1);
      return [n, { dtype, shape: t.shape, data: new Uint8Array(numel * DTYPE_SIZE[dtype]!) }];
    }),
  );
}

export function removeTensor(path: string, name: string): void {
  rewriteSafetensors(path, (ts) => ts.filter(([n]) => n !== name));
}

/** Give a tensor another shape with the same number of elements (sizes stay consistent). */
export function setTensorShape(path: string, name: string, shape: number[]): void {
  rewriteSafetensors(path, (ts) => ts.map(([n, t]) => (n === name ? [n, { ...t, shape }] : [n, t])));
}
