// defines: rounding_block, rounding_word, f32_to_bf16_sr, f32_to_f16_sr — the stochastic rounding of
// F16/BF16 updates (ARCHITECTURE §2, "Exactness in every dtype"): the rounding word r of element g comes
// from Philox4x32-10 with key = the update's first seed and counter = (lo32 b, hi32 b, 1, 0), b = g/4,
// output word g mod 4 (counter word 2 = 1 keeps this stream apart from the directions'). A value's
// magnitude is cut toward zero to the target grid and rounded up iff the dropped fraction, as a 32-bit
// fixed-point number, plus r carries out of 32 bits: probability = the fraction, so E[SR(v)] = v, and a
// representable v is returned unchanged. One __host__ __device__ implementation; the SIMD kernels
// (cpu/perturb_avx*.cpp) repeat it lane-wise.
#pragma once
#include <cstdint>

#include "dpzo/dtype.h"
#include "dpzo/philox.h"

namespace dpzo {

// The four rounding words of elements 4b .. 4b+3.
DPZO_HD void rounding_block(uint64_t seed, uint64_t b, uint32_t out[4]) {
  const uint32_t key[2] = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  const uint32_t ctr[4] = {static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32), 1u, 0u};
  philox4x32_10(ctr, key, out);
}

DPZO_HD uint32_t rounding_word(uint64_t seed, uint64_t g) {
  uint32_t w[4];
  rounding_block(seed, g >> 2, w);
  return w[g & 3u];
}

// BF16: add the word's high 16 bits to the float32 pattern's low 16 bits, then truncate (the carry is
// the round-up; the maximum finite value may round up to infinity). NaN as round to nearest.
DPZO_HD uint16_t f32_to_bf16_sr(float v, uint32_t r) {
  const uint32_t u = f32_bits(v);
  if ((u & 0x7fffffffu) > 0x7f800000u) return f32_to_bf16(v);
  return static_cast<uint16_t>((u + (r >> 16)) >> 16);
}

// F16: the same on the bits below the half's ulp at v's magnitude (13 for normal halves, more on the
// subnormal grid 2^-24); |v| >= 2^16 is infinity, NaN as round to nearest.
DPZO_HD uint16_t f32_to_f16_sr(float v, uint32_t r) {
  const uint32_t u = f32_bits(v);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return f32_to_f16(v);
  if (a >= 0x47800000u) return static_cast<uint16_t>(sign | 0x7c00u);
  uint32_t h, frac;
  const int32_t e = static_cast<int32_t>(a >> 23) - 127;
  if (e >= -14) {  // a normal half: 10 of the 23 mantissa bits stay
    const uint32_t mant = a & 0x7fffffu;
    h = (static_cast<uint32_t>(e + 15) << 10) | (mant >> 13);
    frac = (mant & 0x1fffu) << 19;
  } else {  // the subnormal grid: v = m·2^(ee−23) is m >> s units of 2^-24, s = −1 − ee
    const uint32_t m = (a >> 23) ? ((a & 0x7fffffu) | 0x800000u) : a;
    const int32_t ee = (a >> 23) ? e : -126;
    const int32_t s = -1 - ee;
    const uint64_t F = s >= 64 ? 0 : (static_cast<uint64_t>(m) << 32) >> s;
    h = static_cast<uint32_t>(F >> 32);
    frac = static_cast<uint32_t>(F);
  }
  if (static_cast<uint64_t>(frac) + r >= (uint64_t{1} << 32)) h += 1;  // 0x7bff + 1 = 0x7c00: infinity
  return static_cast<uint16_t>(sign | h);
}

}  // namespace dpzo
