// defines: axpy_run_avx512 — groups of 16 Philox blocks (64 direction
// elements), two groups per step, lane i = block b+i; the scalar operation
// sequence of dpzo/philox.h repeated lane-wise, so the bits equal
// axpy_run_scalar's.
// GCC 12 reports _mm512_undefined_* inside its own intrinsics as (maybe-)uninitialized
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "cpu/perturb_kernels.h"
#include "dpzo/philox.h"

namespace dpzo {
namespace perturb_detail {
namespace {

constexpr int kGroup = 64;  // direction elements per step

inline __m512i bcast(uint32_t v) { return _mm512_set1_epi32(static_cast<int>(v)); }

// The key of each of the 10 rounds, broadcast once per run (not per group).
struct RoundKeys {
  __m512i k0[10], k1[10];
};
inline RoundKeys round_keys(uint64_t seed) {
  RoundKeys rk;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int r = 0; r < 10; ++r, k0 += kPhiloxW0, k1 += kPhiloxW1) {
    rk.k0[r] = bcast(k0);
    rk.k1[r] = bcast(k1);
  }
  return rk;
}

// The vector ops of philox_rounds (cpu/perturb_kernels.h): 8 blocks per chain.
struct V512 {
  using I = __m512i;
  struct Chain {
    I c0, c1, c2, c3;
  };
  using Keys = RoundKeys;
  static I mul(I a, I b) { return _mm512_mul_epu32(a, b); }
  static I hi(I a) { return _mm512_srli_epi64(a, 32); }
  static I xor3(I a, I b, I c) { return _mm512_ternarylogic_epi32(a, b, c, 0x96); }
  static I set64(uint64_t v) { return _mm512_set1_epi64(static_cast<long long>(v)); }
};
using Philox8x64 = V512::Chain;

// Philox4x32-10 of counters (b+i, ctr2, 0) for i < 16·G, ctr2 in {0, 1}; lane i of x[4g + j] = word j of
// block b + 16g + i.
template <int G>
inline void philox_blocks(const RoundKeys& rk, uint64_t b, __m512i* x, uint32_t ctr2 = 0) {
  // 64-bit block numbers: low half = counter word 0, high half = word 1 (carry included)
  Philox8x64 s[2 * G];
  for (int c = 0; c < 2 * G; ++c) {
    const __m512i blk = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(b + 8 * c)),
                                         _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7));
    s[c] = Philox8x64{blk, _mm512_srli_epi64(blk, 32), _mm512_setzero_si512(), _mm512_setzero_si512()};
  }
  philox_rounds<V512, 2 * G>(rk, s, ctr2 ? _mm512_set1_epi64(kPhiloxM1) : _mm512_setzero_si512());
  // gather the low halves: lanes 0..7 from chain 2g, 8..15 from chain 2g + 1
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (int g = 0; g < G; ++g) {
    const Philox8x64 &lo = s[2 * g], &hi = s[2 * g + 1];
    x[4 * g] = _mm512_permutex2var_epi32(lo.c0, even, hi.c0);
    x[4 * g + 1] = _mm512_permutex2var_epi32(lo.c1, even, hi.c1);
    x[4 * g + 2] = _mm512_permutex2var_epi32(lo.c2, even, hi.c2);
    x[4 * g + 3] = _mm512_permutex2var_epi32(lo.c3, even, hi.c3);
  }
}

inline __m512 ps(float v) { return _mm512_set1_ps(v); }

// The lane ops of cpu/perturb_simd_math.h.
struct Lanes {
  using F = __m512;
  using I = __m512i;
  using Mask = __mmask16;
  static I bcast(uint32_t v) { return _mm512_set1_epi32(static_cast<int>(v)); }
  static F ps(float v) { return _mm512_set1_ps(v); }
  static I as_i(F a) { return _mm512_castps_si512(a); }
  static F as_f(I a) { return _mm512_castsi512_ps(a); }
  static F cvt(I a) { return _mm512_cvtepi32_ps(a); }
  static I iadd(I a, I b) { return _mm512_add_epi32(a, b); }
  static I isub(I a, I b) { return _mm512_sub_epi32(a, b); }
  static I iand(I a, I b) { return _mm512_and_si512(a, b); }
  static I ior(I a, I b) { return _mm512_or_si512(a, b); }
  static I ixor(I a, I b) { return _mm512_xor_si512(a, b); }
  template <int N>
  static I shr(I a) {
    return _mm512_srli_epi32(a, N);
  }
  template <int N>
  static I shl(I a) {
    return _mm512_slli_epi32(a, N);
  }
  static F fadd(F a, F b) { return _mm512_add_ps(a, b); }
  static F fmul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F fsqrt(F a) { return _mm512_sqrt_ps(a); }
  static Mask odd(I q) { return _mm512_test_epi32_mask(q, bcast(1)); }
  static F blend(Mask m, F a, F b) { return _mm512_mask_blend_ps(m, a, b); }
};

#include "cpu/perturb_simd_math.h"

// (z_0..z_3 with lane i of z_j = element 4(b+i)+j) -> memory order: out[m] holds elements 4b+16m .. +15.
inline void memory_order64(__m512 z0, __m512 z1, __m512 z2, __m512 z3, __m512 out[4]) {
  // 4x16 transpose: first within 128-bit chunks (chunk c of v_j = block 4c+j) ...
  __m512 t0 = _mm512_unpacklo_ps(z0, z1), t1 = _mm512_unpackhi_ps(z0, z1);
  __m512 t2 = _mm512_unpacklo_ps(z2, z3), t3 = _mm512_unpackhi_ps(z2, z3);
  __m512 v0 = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t2)));
  __m512 v1 = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t2)));
  __m512 v2 = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t1), _mm512_castps_pd(t3)));
  __m512 v3 = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t1), _mm512_castps_pd(t3)));
  // ... then a 4x4 transpose of the 128-bit chunks
  __m512 a01 = _mm512_shuffle_f32x4(v0, v1, _MM_SHUFFLE(1, 0, 1, 0));
  __m512 a23 = _mm512_shuffle_f32x4(v2, v3, _MM_SHUFFLE(1, 0, 1, 0));
  __m512 b01 = _mm512_shuffle_f32x4(v0, v1, _MM_SHUFFLE(3, 2, 3, 2));
  __m512 b23 = _mm512_shuffle_f32x4(v2, v3, _MM_SHUFFLE(3, 2, 3, 2));
  out[0] = _mm512_shuffle_f32x4(a01, a23, _MM_SHUFFLE(2, 0, 2, 0));
  out[1] = _mm512_shuffle_f32x4(a01, a23, _MM_SHUFFLE(3, 1, 3, 1));
  out[2] = _mm512_shuffle_f32x4(b01, b23, _MM_SHUFFLE(2, 0, 2, 0));
  out[3] = _mm512_shuffle_f32x4(b01, b23, _MM_SHUFFLE(3, 1, 3, 1));
}

// z(seed, 4b .. 4b+64G-1) (rk = round_keys(seed)) in memory order: out[m] holds elements 4b+16m .. 4b+16m+15.
template <int G>
inline void directions(const RoundKeys& rk, uint64_t b, __m512* out) {
  __m512i x[4 * G];
  philox_blocks<G>(rk, b, x);
  for (int g = 0; g < G; ++g) {
    __m512 z0, z1, z2, z3;  // z_j: lane i = element 4(b+16g+i)+j
    box_muller<Lanes>(x[4 * g], x[4 * g + 1], z0, z1);
    box_muller<Lanes>(x[4 * g + 2], x[4 * g + 3], z2, z3);
    memory_order64(z0, z1, z2, z3, out + 4 * g);
  }
}

// The rounding words of elements 4b .. 4b+64G-1 (dpzo/stochastic_round.h) in memory order, as directions<G>.
template <int G = 1>
inline void rounding64(const RoundKeys& rk, uint64_t b, __m512i* out) {
  __m512i x[4 * G];
  philox_blocks<G>(rk, b, x, 1);
  for (int g = 0; g < G; ++g) {
    __m512 o[4];
    memory_order64(_mm512_castsi512_ps(x[4 * g]), _mm512_castsi512_ps(x[4 * g + 1]), _mm512_castsi512_ps(x[4 * g + 2]),
                   _mm512_castsi512_ps(x[4 * g + 3]), o);
    for (int m = 0; m < 4; ++m) out[4 * g + m] = _mm512_castps_si512(o[m]);
  }
}

using Pairs = SeedPairs<RoundKeys, round_keys>;

// acc[0..4G) (64G floats, elements 4b..4b+64G-1) += Σ_k c_k z(s_k, ·), k ascending
template <int G = 1>
inline void accumulate64(uint64_t b, const Pairs& pairs, __m512* acc) {
  for (int k = 0; k < pairs.n; ++k) {
    __m512 z[4 * G];
    directions<G>(pairs.keys[k], b, z);
    const __m512 ck = ps(pairs.coeffs[k]);
    for (int m = 0; m < 4 * G; ++m) acc[m] = _mm512_fmadd_ps(ck, z[m], acc[m]);
  }
  if (pairs.factor != 1.0f)
    for (int m = 0; m < 4 * G; ++m) acc[m] = _mm512_mul_ps(acc[m], ps(pairs.factor));
}

// f32 -> bf16 bits, round to nearest even, NaN kept quiet (as dtype.h f32_to_bf16)
inline __m256i to_bf16(__m512 v) {
  __m512i u = _mm512_castps_si512(v);
  __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), bcast(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(bcast(0x7fffu), lsb)), 16);
  r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(_mm512_srli_epi32(u, 16), bcast(0x40u)));
  return _mm512_cvtepi32_epi16(r);
}
// f32 -> f16 bits with F16C (IEEE round to nearest even); NaN as dtype.h f32_to_f16
inline __m256i to_f16(__m512 v) {
  __m256i h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512i u = _mm512_castps_si512(v);
  __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  __m256i nan_h = _mm512_cvtepi32_epi16(
      _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(u, 16), bcast(0x8000u)), bcast(0x7e00u)));
  return _mm256_mask_mov_epi16(h, nan, nan_h);
}

// f32 -> bf16 bits, stochastically: (u + (r >> 16)) >> 16, NaN as to_bf16 (dpzo/stochastic_round.h)
inline __m256i to_bf16_sr(__m512 v, __m512i r) {
  __m512i u = _mm512_castps_si512(v);
  __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  __m512i t = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_srli_epi32(r, 16)), 16);
  t = _mm512_mask_mov_epi32(t, nan, _mm512_or_si512(_mm512_srli_epi32(u, 16), bcast(0x40u)));
  return _mm512_cvtepi32_epi16(t);
}

inline void load64(const void* p, DType dt, __m512 v[4]) {
  for (int m = 0; m < 4; ++m) {
    if (dt == DType::F32) {
      v[m] = _mm512_loadu_ps(static_cast<const float*>(p) + 16 * m);
    } else {
      __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(p) + 16 * m));
      v[m] =
          dt == DType::F16 ? _mm512_cvtph_ps(h) : _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
  }
}
inline void store64(void* p, DType dt, const __m512 v[4]) {
  for (int m = 0; m < 4; ++m) {
    if (dt == DType::F32) {
      _mm512_storeu_ps(static_cast<float*>(p) + 16 * m, v[m]);
    } else {
      __m256i h = dt == DType::F16 ? to_f16(v[m]) : to_bf16(v[m]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(static_cast<uint16_t*>(p) + 16 * m), h);
    }
  }
}

// A whole group stored with stochastic rounding (F16/BF16) by the rounding words r of its 64 elements.
inline void store64_sr(void* p, DType dt, const __m512 v[4], const __m512i r[4]) {
  if (dt == DType::BF16) {
    for (int m = 0; m < 4; ++m)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(static_cast<uint16_t*>(p) + 16 * m), to_bf16_sr(v[m], r[m]));
    return;
  }
  alignas(64) float f[kGroup];
  alignas(64) uint32_t w[kGroup];
  for (int m = 0; m < 4; ++m) {
    _mm512_store_ps(f + 16 * m, v[m]);
    _mm512_store_si512(reinterpret_cast<__m512i*>(w + 16 * m), r[m]);
  }
  uint16_t* h = static_cast<uint16_t*>(p);
  for (int i = 0; i < kGroup; ++i) h[i] = f32_to_f16_sr(f[i], w[i]);
}

// The group ops of cpu/perturb_simd_run.h.
struct K {
  using F = __m512;
  using I = __m512i;
  using Pairs = dpzo::perturb_detail::Pairs;
  static constexpr int kLanes = 16;
  static constexpr int kGroup = dpzo::perturb_detail::kGroup;
  static F zero() { return _mm512_setzero_ps(); }
  static F load(const float* p) { return _mm512_load_ps(p); }
  static void store(float* p, F v) { _mm512_store_ps(p, v); }
  static void load_group(const void* p, DType dt, F v[4]) { load64(p, dt, v); }
  static void store_group(void* p, DType dt, const F v[4]) { store64(p, dt, v); }
  static void store_group_sr(void* p, DType dt, const F v[4], const I r[4]) { store64_sr(p, dt, v, r); }
  template <int G>
  static void accumulate(uint64_t b, const Pairs& pairs, F* acc) {
    accumulate64<G>(b, pairs, acc);
  }
  template <int G>
  static void rounding(const RoundKeys& rk, uint64_t b, I* r) {
    rounding64<G>(rk, b, r);
  }
};

#include "cpu/perturb_simd_run.h"

}  // namespace

void axpy_run_avx512(void* data, DType dt, uint64_t g, int64_t n, const uint64_t* seeds, const float* coeffs,
                     int n_pairs, float factor, const uint64_t* round_key) {
  axpy_run<K>(data, dt, g, n, seeds, coeffs, n_pairs, factor, round_key);
}

void sum_rows_avx512(float* x, int64_t stride, uint64_t g, uint64_t g_stride, int64_t n, int64_t rows,
                     const uint64_t* seeds, const float* coeffs, int n_pairs) {
  sum_rows<K>(x, stride, g, g_stride, n, rows, seeds, coeffs, n_pairs);
}

}  // namespace perturb_detail
}  // namespace dpzo
