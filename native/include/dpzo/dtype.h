// defines: DType, dtype names/sizes, and bit-exact F16/BF16 <-> F32 conversions
// (round to nearest even on store), usable on host and device.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

#if defined(__CUDACC__)
#define DPZO_HD __host__ __device__ __forceinline__
#else
#define DPZO_HD inline
#endif

namespace dpzo {

enum class DType : int { F32 = 0, F16 = 1, BF16 = 2 };

inline int dtype_size(DType t) { return t == DType::F32 ? 4 : 2; }
// Largest finite value of each dtype.
inline double dtype_max(DType t) {
  return t == DType::F32 ? 3.4028234663852886e38 : t == DType::F16 ? 65504.0 : 3.3895313892515355e38;
}
inline const char* dtype_name(DType t) {  // safetensors spelling
  return t == DType::F32 ? "F32" : t == DType::F16 ? "F16" : "BF16";
}

DPZO_HD uint32_t f32_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}
DPZO_HD float bits_f32(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

// bfloat16: upper 16 bits of the float32, rounded to nearest even; NaN stays NaN.
DPZO_HD uint16_t f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
DPZO_HD float bf16_to_f32(uint16_t h) { return bits_f32(static_cast<uint32_t>(h) << 16); }

// IEEE half: round to nearest even, overflow to inf, subnormals handled.
DPZO_HD uint16_t f32_to_f16(float f) {
  uint32_t u = f32_bits(f);
  uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
  if (a >= 0x47800000u) {  // >= 65536 (after rounding handled below) -> check exact overflow
    // values >= 65520 round to inf
    return static_cast<uint16_t>(sign | 0x7c00u);
  }
  if (a < 0x38800000u) {  // below the smallest normal half (2^-14): subnormal or zero
    // shift the (implicit-1) mantissa into the subnormal position with RNE
    if (a < 0x33000000u) return static_cast<uint16_t>(sign);  // < 2^-25 rounds to 0
    uint32_t e = a >> 23;
    uint32_t m = (a & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - e;  // 113 - e + 13
    uint32_t r = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1u))) r++;
    return static_cast<uint16_t>(sign | r);
  }
  // normal: rebias exponent 127 -> 15 and round the 13 dropped mantissa bits
  uint32_t v = a - 0x38000000u;  // exponent rebias (112 << 23)
  uint32_t r = v >> 13;
  uint32_t rem = v & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) r++;
  if (r >= 0x7c00u) return static_cast<uint16_t>(sign | 0x7c00u);
  return static_cast<uint16_t>(sign | r);
}
DPZO_HD float f16_to_f32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1fu;
  uint32_t m = h & 0x3ffu;
  if (e == 0) {
    if (m == 0) return bits_f32(sign);
    // subnormal: normalise
    int k = -1;
    do {
      k++;
      m <<= 1;
    } while ((m & 0x400u) == 0);
    m &= 0x3ffu;
    return bits_f32(sign | ((112u - k) << 23) | (m << 13));
  }
  if (e == 31) return bits_f32(sign | 0x7f800000u | (m << 13));
  return bits_f32(sign | ((e + 112u) << 23) | (m << 13));
}

// The 16-bit dtypes' bits (F16 or BF16, by dt) widened to float32 (exact), and float32 rounded to them (to
// nearest even); element i of a tensor stored in dt, as float32. One definition for the CUDA kernels, their
// host emulation and the core.
DPZO_HD float half_to_f32(uint16_t h, DType dt) { return dt == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h); }
DPZO_HD uint16_t f32_to_half(float v, DType dt) { return dt == DType::F16 ? f32_to_f16(v) : f32_to_bf16(v); }
DPZO_HD float load_as_f32(const void* p, DType dt, int64_t i) {
  if (dt == DType::F32) return static_cast<const float*>(p)[i];
  return half_to_f32(static_cast<const uint16_t*>(p)[i], dt);
}

}  // namespace dpzo
