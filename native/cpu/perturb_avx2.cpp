// defines: axpy_run_avx2 — groups of 8 Philox blocks (32 direction elements),
// two groups per step, lane i = block b+i; the scalar operation sequence of
// dpzo/philox.h repeated lane-wise, so the bits equal axpy_run_scalar's.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "cpu/perturb_kernels.h"
#include "dpzo/philox.h"

namespace dpzo {
namespace perturb_detail {
namespace {

constexpr int kGroup = 32;  // direction elements per step

inline __m256i bcast(uint32_t v) { return _mm256_set1_epi32(static_cast<int>(v)); }
inline __m256 ps(float v) { return _mm256_set1_ps(v); }

// The key of each of the 10 rounds, broadcast once per run (not per group).
struct RoundKeys {
  __m256i k0[10], k1[10];
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

// The vector ops of philox_rounds (cpu/perturb_kernels.h): 4 blocks per chain.
struct V256 {
  using I = __m256i;
  struct Chain {
    I c0, c1, c2, c3;
  };
  using Keys = RoundKeys;
  static I mul(I a, I b) { return _mm256_mul_epu32(a, b); }
  static I hi(I a) { return _mm256_srli_epi64(a, 32); }
  static I xor3(I a, I b, I c) { return _mm256_xor_si256(_mm256_xor_si256(a, b), c); }
  static I set64(uint64_t v) { return _mm256_set1_epi64x(static_cast<long long>(v)); }
};
using Philox4x64 = V256::Chain;

// low halves of the 64-bit lanes of a (blocks 0..3) and b (blocks 4..7), in block order
inline __m256i low_words(__m256i a, __m256i b) {
  __m256 s = _mm256_shuffle_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), _MM_SHUFFLE(2, 0, 2, 0));
  // s = a0 a1 b0 b1 | a2 a3 b2 b3  ->  a0 a1 a2 a3 b0 b1 b2 b3
  return _mm256_permute4x64_epi64(_mm256_castps_si256(s), _MM_SHUFFLE(3, 1, 2, 0));
}

// Philox4x32-10 of counters (b+i, ctr2, 0) for i < 8G, ctr2 in {0, 1}; lane i of x[4g + j] = word j of
// block b + 8g + i.
template <int G>
inline void philox_blocks(const RoundKeys& rk, uint64_t b, __m256i* x, uint32_t ctr2 = 0) {
  // 64-bit block numbers: low half = counter word 0, high half = word 1 (carry included)
  Philox4x64 s[2 * G];
  for (int c = 0; c < 2 * G; ++c) {
    const __m256i blk =
        _mm256_add_epi64(_mm256_set1_epi64x(static_cast<long long>(b + 4 * c)), _mm256_setr_epi64x(0, 1, 2, 3));
    s[c] = Philox4x64{blk, _mm256_srli_epi64(blk, 32), _mm256_setzero_si256(), _mm256_setzero_si256()};
  }
  philox_rounds<V256, 2 * G>(rk, s, ctr2 ? _mm256_set1_epi64x(kPhiloxM1) : _mm256_setzero_si256());
  for (int g = 0; g < G; ++g) {
    x[4 * g] = low_words(s[2 * g].c0, s[2 * g + 1].c0);
    x[4 * g + 1] = low_words(s[2 * g].c1, s[2 * g + 1].c1);
    x[4 * g + 2] = low_words(s[2 * g].c2, s[2 * g + 1].c2);
    x[4 * g + 3] = low_words(s[2 * g].c3, s[2 * g + 1].c3);
  }
}

// The lane ops of cpu/perturb_simd_math.h.
struct Lanes {
  using F = __m256;
  using I = __m256i;
  using Mask = __m256;
  static I bcast(uint32_t v) { return _mm256_set1_epi32(static_cast<int>(v)); }
  static F ps(float v) { return _mm256_set1_ps(v); }
  static I as_i(F a) { return _mm256_castps_si256(a); }
  static F as_f(I a) { return _mm256_castsi256_ps(a); }
  static F cvt(I a) { return _mm256_cvtepi32_ps(a); }
  static I iadd(I a, I b) { return _mm256_add_epi32(a, b); }
  static I isub(I a, I b) { return _mm256_sub_epi32(a, b); }
  static I iand(I a, I b) { return _mm256_and_si256(a, b); }
  static I ior(I a, I b) { return _mm256_or_si256(a, b); }
  static I ixor(I a, I b) { return _mm256_xor_si256(a, b); }
  template <int N>
  static I shr(I a) {
    return _mm256_srli_epi32(a, N);
  }
  template <int N>
  static I shl(I a) {
    return _mm256_slli_epi32(a, N);
  }
  static F fadd(F a, F b) { return _mm256_add_ps(a, b); }
  static F fmul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F fsqrt(F a) { return _mm256_sqrt_ps(a); }
  static Mask odd(I q) { return _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(q, bcast(1)), bcast(1))); }
  static F blend(Mask m, F a, F b) { return _mm256_blendv_ps(a, b, m); }
};

#include "cpu/perturb_simd_math.h"

// (z_0..z_3 with lane i of z_j = element 4(b+i)+j) -> memory order: out[m] holds elements 4b+8m .. +7.
inline void memory_order32(__m256 z0, __m256 z1, __m256 z2, __m256 z3, __m256 out[4]) {
  // within 128-bit chunks: chunk c of v_j = block 4c+j
  __m256 t0 = _mm256_unpacklo_ps(z0, z1), t1 = _mm256_unpackhi_ps(z0, z1);
  __m256 t2 = _mm256_unpacklo_ps(z2, z3), t3 = _mm256_unpackhi_ps(z2, z3);
  __m256 v0 = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(t0), _mm256_castps_pd(t2)));
  __m256 v1 = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t0), _mm256_castps_pd(t2)));
  __m256 v2 = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(t1), _mm256_castps_pd(t3)));
  __m256 v3 = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t1), _mm256_castps_pd(t3)));
  // out[m] = blocks 2m, 2m+1
  out[0] = _mm256_permute2f128_ps(v0, v1, 0x20);
  out[1] = _mm256_permute2f128_ps(v2, v3, 0x20);
  out[2] = _mm256_permute2f128_ps(v0, v1, 0x31);
  out[3] = _mm256_permute2f128_ps(v2, v3, 0x31);
}

// z(seed, 4b .. 4b+32G-1) (rk = round_keys(seed)) in memory order: out[m] holds elements 4b+8m .. 4b+8m+7.
template <int G>
inline void directions(const RoundKeys& rk, uint64_t b, __m256* out) {
  __m256i x[4 * G];
  philox_blocks<G>(rk, b, x);
  for (int g = 0; g < G; ++g) {
    __m256 z0, z1, z2, z3;  // z_j: lane i = element 4(b+8g+i)+j
    box_muller<Lanes>(x[4 * g], x[4 * g + 1], z0, z1);
    box_muller<Lanes>(x[4 * g + 2], x[4 * g + 3], z2, z3);
    memory_order32(z0, z1, z2, z3, out + 4 * g);
  }
}

// The rounding words of elements 4b .. 4b+32G-1 (dpzo/stochastic_round.h) in memory order, as directions<G>.
template <int G = 1>
inline void rounding32(const RoundKeys& rk, uint64_t b, __m256i* out) {
  __m256i x[4 * G];
  philox_blocks<G>(rk, b, x, 1);
  for (int g = 0; g < G; ++g) {
    __m256 o[4];
    memory_order32(_mm256_castsi256_ps(x[4 * g]), _mm256_castsi256_ps(x[4 * g + 1]), _mm256_castsi256_ps(x[4 * g + 2]),
                   _mm256_castsi256_ps(x[4 * g + 3]), o);
    for (int m = 0; m < 4; ++m) out[4 * g + m] = _mm256_castps_si256(o[m]);
  }
}

using Pairs = SeedPairs<RoundKeys, round_keys>;

// acc[0..4G) (32G floats, elements 4b..4b+32G-1) += Σ_k c_k z(s_k, ·), k ascending
template <int G = 1>
inline void accumulate32(uint64_t b, const Pairs& pairs, __m256* acc) {
  for (int k = 0; k < pairs.n; ++k) {
    __m256 z[4 * G];
    directions<G>(pairs.keys[k], b, z);
    const __m256 ck = ps(pairs.coeffs[k]);
    for (int m = 0; m < 4 * G; ++m) acc[m] = _mm256_fmadd_ps(ck, z[m], acc[m]);
  }
  if (pairs.factor != 1.0f)
    for (int m = 0; m < 4 * G; ++m) acc[m] = _mm256_mul_ps(acc[m], ps(pairs.factor));
}

// 8 int32 lanes (each <= 0xffff) -> 8 uint16
inline __m128i pack16(__m256i v) {
  __m256i p = _mm256_packus_epi32(v, v);  // per 128-bit chunk: v0..3 v0..3 | v4..7 v4..7
  return _mm256_castsi256_si128(_mm256_permute4x64_epi64(p, _MM_SHUFFLE(3, 1, 2, 0)));
}
inline __m256i nan_mask(__m256 v) {  // all ones in NaN lanes
  return _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}
// f32 -> bf16 bits, round to nearest even, NaN kept quiet (as dtype.h f32_to_bf16)
inline __m128i to_bf16(__m256 v) {
  __m256i u = _mm256_castps_si256(v);
  __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), bcast(1));
  __m256i r = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(bcast(0x7fffu), lsb)), 16);
  __m256i qnan = _mm256_or_si256(_mm256_srli_epi32(u, 16), bcast(0x40u));
  r = _mm256_blendv_epi8(r, qnan, nan_mask(v));
  return pack16(r);
}
// f32 -> f16 bits with F16C (IEEE round to nearest even); NaN as dtype.h f32_to_f16
inline __m128i to_f16(__m256 v) {
  __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256i u = _mm256_castps_si256(v);
  __m128i nan_h = pack16(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(u, 16), bcast(0x8000u)), bcast(0x7e00u)));
  __m128i m = pack16(_mm256_srli_epi32(nan_mask(v), 16));  // 0xffff per NaN lane
  return _mm_blendv_epi8(h, nan_h, m);
}

// f32 -> bf16 bits, stochastically: (u + (r >> 16)) >> 16, NaN as to_bf16 (dpzo/stochastic_round.h)
inline __m128i to_bf16_sr(__m256 v, __m256i r) {
  __m256i u = _mm256_castps_si256(v);
  __m256i t = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_srli_epi32(r, 16)), 16);
  __m256i qnan = _mm256_or_si256(_mm256_srli_epi32(u, 16), bcast(0x40u));
  t = _mm256_blendv_epi8(t, qnan, nan_mask(v));
  return pack16(t);
}

inline void load32(const void* p, DType dt, __m256 v[4]) {
  for (int m = 0; m < 4; ++m) {
    if (dt == DType::F32) {
      v[m] = _mm256_loadu_ps(static_cast<const float*>(p) + 8 * m);
    } else {
      __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(p) + 8 * m));
      v[m] =
          dt == DType::F16 ? _mm256_cvtph_ps(h) : _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
  }
}
inline void store32(void* p, DType dt, const __m256 v[4]) {
  for (int m = 0; m < 4; ++m) {
    if (dt == DType::F32) {
      _mm256_storeu_ps(static_cast<float*>(p) + 8 * m, v[m]);
    } else {
      __m128i h = dt == DType::F16 ? to_f16(v[m]) : to_bf16(v[m]);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(static_cast<uint16_t*>(p) + 8 * m), h);
    }
  }
}

// A whole group stored with stochastic rounding (F16/BF16) by the rounding words r of its 32 elements.
inline void store32_sr(void* p, DType dt, const __m256 v[4], const __m256i r[4]) {
  if (dt == DType::BF16) {
    for (int m = 0; m < 4; ++m)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(static_cast<uint16_t*>(p) + 8 * m), to_bf16_sr(v[m], r[m]));
    return;
  }
  alignas(32) float f[kGroup];
  alignas(32) uint32_t w[kGroup];
  for (int m = 0; m < 4; ++m) {
    _mm256_store_ps(f + 8 * m, v[m]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(w + 8 * m), r[m]);
  }
  uint16_t* h = static_cast<uint16_t*>(p);
  for (int i = 0; i < kGroup; ++i) h[i] = f32_to_f16_sr(f[i], w[i]);
}

// The group ops of cpu/perturb_simd_run.h.
struct K {
  using F = __m256;
  using I = __m256i;
  using Pairs = dpzo::perturb_detail::Pairs;
  static constexpr int kLanes = 8;
  static constexpr int kGroup = dpzo::perturb_detail::kGroup;
  static F zero() { return _mm256_setzero_ps(); }
  static F load(const float* p) { return _mm256_load_ps(p); }
  static void store(float* p, F v) { _mm256_store_ps(p, v); }
  static void load_group(const void* p, DType dt, F v[4]) { load32(p, dt, v); }
  static void store_group(void* p, DType dt, const F v[4]) { store32(p, dt, v); }
  static void store_group_sr(void* p, DType dt, const F v[4], const I r[4]) { store32_sr(p, dt, v, r); }
  template <int G>
  static void accumulate(uint64_t b, const Pairs& pairs, F* acc) {
    accumulate32<G>(b, pairs, acc);
  }
  template <int G>
  static void rounding(const RoundKeys& rk, uint64_t b, I* r) {
    rounding32<G>(rk, b, r);
  }
};

#include "cpu/perturb_simd_run.h"

}  // namespace

void axpy_run_avx2(void* data, DType dt, uint64_t g, int64_t n, const uint64_t* seeds, const float* coeffs, int n_pairs,
                   float factor, const uint64_t* round_key) {
  axpy_run<K>(data, dt, g, n, seeds, coeffs, n_pairs, factor, round_key);
}

void sum_rows_avx2(float* x, int64_t stride, uint64_t g, uint64_t g_stride, int64_t n, int64_t rows,
                   const uint64_t* seeds, const float* coeffs, int n_pairs) {
  sum_rows<K>(x, stride, g, g_stride, n, rows, seeds, coeffs, n_pairs);
}

}  // namespace perturb_detail
}  // namespace dpzo
