// defines: philox4x32_10, direction_uniform_bits, dir_log_unit, dir_sincos_turn,
// direction_pair, direction_block: the seeded direction z(seed, g) of
// ARCHITECTURE §2, one __host__ __device__ implementation shared by the CPU
// scalar path and the CUDA kernel. The SIMD paths (cpu/perturb_avx2.cpp,
// cpu/perturb_avx512.cpp) repeat exactly this operation sequence, lane-wise.
//
// Bit reproducibility: every product that feeds a sum is an explicit fused
// multiply-add (fma32), every other operation is a single IEEE-rounded
// mul/add/sqrt/int->float conversion whose result never feeds an addition
// (so compiler FMA contraction has nothing to contract), and the range
// reductions are exact integer arithmetic. Hence scalar, AVX2, AVX-512 and
// CUDA produce identical bits. No libm: log/sin/cos are polynomials below.
//
// Accuracy (target: 2 ulp; measured exhaustively over all 2^23 possible
// inputs by `dpzo_check accuracy` against long double): dir_log_unit within
// 0.93 ulp of ln(u); dir_sincos_turn within 1.02 ulp of sin(2πu), cos(2πu);
// Composed, z is within 4·2^-24·r of r·cos(2πu1), r = sqrt(-2 ln u0) exact.
#pragma once
#include <cstdint>

#include "dpzo/dtype.h"

namespace dpzo {

// Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3".
constexpr uint32_t kPhiloxM0 = 0xD2511F53u, kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u, kPhiloxW1 = 0xBB67AE85u;

// Polynomial coefficients: weighted least squares on 400 Chebyshev nodes in
// 40-digit arithmetic (mpmath), i.e. near-minimax; fit errors below are relative.
namespace dirc {
// ln(1+f) = f + f^2 (f P(f) - 1/2), f in [sqrt(1/2)-1, sqrt(2)-1]; rel. error of the fit 6e-9
constexpr float kLogP0 = 0.333333290305f, kLogP1 = -0.250008462131f, kLogP2 = 0.200014123574f,
                kLogP3 = -0.166227524584f, kLogP4 = 0.141978766341f, kLogP5 = -0.131616057473f,
                kLogP6 = 0.127863305294f, kLogP7 = -0.0766081894657f;
// ln 2 = hi + lo with hi = 355/512, so e*hi is exact for the exponents that occur (|e| <= 24)
constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -0.000212194440055f;
// sin(2πr) = r (2π + r^2 S(r^2)), |r| <= 1/8; 2π = hi + lo; rel. error of the fit 5e-12
constexpr float kTwoPiHi = 6.2831854820251465f, kTwoPiLo = -1.74845560007e-7f;
constexpr float kSin3 = -41.3417021766f, kSin5 = 81.6052100685f, kSin7 = -76.698323822f, kSin9 = 41.4858521774f;
// cos(2πr) = 1 + r^2 C(r^2), |r| <= 1/8; rel. error of the fit 9e-14
constexpr float kCos2 = -19.739208802f, kCos4 = 64.9393938569f, kCos6 = -85.4567686784f, kCos8 = 60.2384231582f,
                kCos10 = -26.0637014411f;
constexpr float kTwoM24 = 5.9604644775390625e-8f;  // 2^-24
}  // namespace dirc

// ---- IEEE single operations that no compiler may fuse or reorder ----------
DPZO_HD float fma32(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(a, b, c);
#else
  return __builtin_fmaf(a, b, c);
#endif
}
DPZO_HD float mul32(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
DPZO_HD float add32(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
DPZO_HD float sqrt32(float a) {
#if defined(__CUDA_ARCH__)
  return __fsqrt_rn(a);
#else
  return __builtin_sqrtf(a);
#endif
}

DPZO_HD void mulhilo32(uint32_t a, uint32_t b, uint32_t* hi, uint32_t* lo) {
#if defined(__CUDA_ARCH__)
  // the same integers; ptxas makes one IMAD.WIDE of these, where the 64-bit product shifted by 32 costs
  // an extra add per multiply (sm_90 SASS: 93 -> 72 instructions per Philox call)
  *hi = __umulhi(a, b);
  *lo = a * b;
#else
  uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  *lo = static_cast<uint32_t>(p);
#endif
}

// Philox4x32 with 10 rounds: out = Philox(counter ctr, key).
DPZO_HD void philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo32(kPhiloxM0, c0, &hi0, &lo0);
    mulhilo32(kPhiloxM1, c2, &hi1, &lo1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += kPhiloxW0;  // the key bump after the last round is unused
    k1 += kPhiloxW1;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

// The uniform u = k·2^-24 is represented by its odd integer k = (x >> 8) | 1.
DPZO_HD uint32_t direction_uniform_bits(uint32_t x) { return (x >> 8) | 1u; }

// ln(k·2^-24) for odd k in [1, 2^24).
DPZO_HD float dir_log_unit(uint32_t k) {
  using namespace dirc;
  // u = k·2^-24 exactly (k < 2^24); split u = 2^e·m with m in [sqrt(1/2), sqrt(2))
  uint32_t ix = f32_bits(static_cast<float>(static_cast<int32_t>(k))) - (24u << 23);
  ix += 0x3f800000u - 0x3f3504f3u;  // moves m >= sqrt(2) into the next exponent
  int32_t e = static_cast<int32_t>(ix >> 23) - 127;
  float f = add32(bits_f32((ix & 0x007fffffu) + 0x3f3504f3u), -1.0f);  // m - 1, exact (Sterbenz)
  float ef = static_cast<float>(e);
  float p = fma32(kLogP7, f, kLogP6);
  p = fma32(p, f, kLogP5);
  p = fma32(p, f, kLogP4);
  p = fma32(p, f, kLogP3);
  p = fma32(p, f, kLogP2);
  p = fma32(p, f, kLogP1);
  p = fma32(p, f, kLogP0);
  float w = fma32(f, p, -0.5f);     // f P(f) - 1/2
  float y = mul32(mul32(f, f), w);  // ln(1+f) - f
  float lo = fma32(ef, kLn2Lo, y);
  float hi = fma32(ef, kLn2Hi, f);  // exact when e*ln2_hi and f nearly cancel
  return add32(hi, lo);
}

// sin(2π·k·2^-24) and cos(2π·k·2^-24) for odd k in [1, 2^24).
DPZO_HD void dir_sincos_turn(uint32_t k, float* s_out, float* c_out) {
  using namespace dirc;
  // exact reduction in turns: k·2^-24 = q/4 + r, q = nearest quarter (k odd: no ties), |r| <= 1/8
  int32_t q = static_cast<int32_t>((k + (1u << 21)) >> 22);
  int32_t rk = static_cast<int32_t>(k) - (q << 22);
  float r = mul32(static_cast<float>(rk), kTwoM24);
  float x2 = mul32(r, r);
  float ps = fma32(kSin9, x2, kSin7);
  ps = fma32(ps, x2, kSin5);
  ps = fma32(ps, x2, kSin3);
  float ys = fma32(x2, ps, kTwoPiLo);
  float s = fma32(r, kTwoPiHi, mul32(r, ys));
  float pc = fma32(kCos10, x2, kCos8);
  pc = fma32(pc, x2, kCos6);
  pc = fma32(pc, x2, kCos4);
  pc = fma32(pc, x2, kCos2);
  float c = fma32(x2, pc, 1.0f);
  // rotate by q quarter turns: (sin, cos) -> q=1: (c, -s), q=2: (-s, -c), q=3: (-c, s)
  uint32_t sb = f32_bits(s), cb = f32_bits(c);
  uint32_t swap = static_cast<uint32_t>(q) & 1u;
  uint32_t sin_b = swap ? cb : sb, cos_b = swap ? sb : cb;
  sin_b ^= (static_cast<uint32_t>(q) & 2u) << 30;
  cos_b ^= (static_cast<uint32_t>(q + 1) & 2u) << 30;
  *s_out = bits_f32(sin_b);
  *c_out = bits_f32(cos_b);
}

// Box-Muller: (r cos 2πu1, r sin 2πu1), r = sqrt(-2 ln u0), from raw Philox words.
DPZO_HD void direction_pair(uint32_t x0, uint32_t x1, float* z0, float* z1) {
  float lg = dir_log_unit(direction_uniform_bits(x0));
  float r = sqrt32(mul32(lg, -2.0f));
  float s, c;
  dir_sincos_turn(direction_uniform_bits(x1), &s, &c);
  *z0 = mul32(r, c);
  *z1 = mul32(r, s);
}

// z(seed, 4b .. 4b+3): key = (lo32 seed, hi32 seed), counter = (lo32 b, hi32 b, 0, 0).
DPZO_HD void direction_block(uint64_t seed, uint64_t b, float z[4]) {
  uint32_t key[2] = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  uint32_t ctr[4] = {static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32), 0u, 0u};
  uint32_t x[4];
  philox4x32_10(ctr, key, x);
  direction_pair(x[0], x[1], &z[0], &z[1]);
  direction_pair(x[2], x[3], &z[2], &z[3]);
}

}  // namespace dpzo
