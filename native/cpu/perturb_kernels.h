// defines: the per-ISA kernels behind axpy_directions (cpu/perturb.cpp), and
// SeedPairs and philox_rounds, which the AVX2 and AVX-512 kernels share.
// A "run" is `n` consecutive elements of one segment, the first with global
// index g; the kernels add Σ_k coeffs[k]·z(seeds[k], g + i) to element i in
// float32 with one fma per pair (k ascending), multiply that sum by `factor`
// when factor != 1 (fused weight decay), then round to the dtype: to nearest, or
// stochastically for F16/BF16 when `round_key` is given (dpzo/stochastic_round.h:
// the rounding word of element g depends on (key, g) only).
// All three produce the same bits; any split of a segment into runs does too.
#pragma once
#include <cstdint>
#include <vector>

#include "dpzo/dtype.h"
#include "dpzo/philox.h"
#include "dpzo/stochastic_round.h"

namespace dpzo {
namespace perturb_detail {

void axpy_run_scalar(void* data, DType dt, uint64_t g, int64_t n, const uint64_t* seeds, const float* coeffs,
                     int n_pairs, float factor, const uint64_t* round_key);
void axpy_run_avx2(void* data, DType dt, uint64_t g, int64_t n, const uint64_t* seeds, const float* coeffs, int n_pairs,
                   float factor, const uint64_t* round_key);
void axpy_run_avx512(void* data, DType dt, uint64_t g, int64_t n, const uint64_t* seeds, const float* coeffs,
                     int n_pairs, float factor, const uint64_t* round_key);

// rows runs of n float32 elements, run r at x + r·stride with first global index g + r·g_stride, each WRITTEN
// (not added to) with Σ_k coeffs[k]·z(seeds[k], ·) summed from +0: the bits of zeroing each run and calling
// the axpy kernel on it, with the keys set up once for all rows (the virtual GEMM's panels are many short rows).
void sum_rows_scalar(float* x, int64_t stride, uint64_t g, uint64_t g_stride, int64_t n, int64_t rows,
                     const uint64_t* seeds, const float* coeffs, int n_pairs);
void sum_rows_avx2(float* x, int64_t stride, uint64_t g, uint64_t g_stride, int64_t n, int64_t rows,
                   const uint64_t* seeds, const float* coeffs, int n_pairs);
void sum_rows_avx512(float* x, int64_t stride, uint64_t g, uint64_t g_stride, int64_t n, int64_t rows,
                     const uint64_t* seeds, const float* coeffs, int n_pairs);

// Element i of a run in float32 / back with round to nearest even (dtype.h).
inline float load_elem(const void* data, DType dt, int64_t i) {
  switch (dt) {
    case DType::F32:
      return static_cast<const float*>(data)[i];
    case DType::F16:
      return f16_to_f32(static_cast<const uint16_t*>(data)[i]);
    default:
      return bf16_to_f32(static_cast<const uint16_t*>(data)[i]);
  }
}
inline void store_elem(void* data, DType dt, int64_t i, float v) {
  switch (dt) {
    case DType::F32:
      static_cast<float*>(data)[i] = v;
      break;
    case DType::F16:
      static_cast<uint16_t*>(data)[i] = f32_to_f16(v);
      break;
    default:
      static_cast<uint16_t*>(data)[i] = f32_to_bf16(v);
      break;
  }
}
// Element i of a run, which has global index g, stored from float32: stochastically rounded with the
// rounding word of g when `round_key` is given and the dtype is F16/BF16, else to nearest.
inline void store_elem_sr(void* data, DType dt, int64_t i, float v, const uint64_t* round_key, uint64_t g) {
  if (!round_key || dt == DType::F32) return store_elem(data, dt, i, v);
  const uint32_t r = rounding_word(*round_key, g);
  static_cast<uint16_t*>(data)[i] = dt == DType::F16 ? f32_to_f16_sr(v, r) : f32_to_bf16_sr(v, r);
}

// The (seed, coefficient) pairs of one SIMD kernel call, each seed's round keys made once (Keys: the ISA's
// broadcast key schedule, made by make_keys). Up to kInline pairs live in the struct itself: the forward's
// virtual reads call a kernel once per row of a packed block, where a heap allocation per call was measurable.
template <class Keys, Keys (*make_keys)(uint64_t)>
struct SeedPairs {
  static constexpr int kInline = 2;
  Keys inline_keys[kInline];
  std::vector<Keys> more;
  const Keys* keys;
  int n;
  const float* coeffs;
  float factor;               // fused weight decay: the sum is multiplied by it once, unless it is 1
  const uint64_t* round_key;  // stochastic rounding of F16/BF16 stores (null: to nearest)
  Keys round;
  SeedPairs(const uint64_t* seeds, const float* c, int count, float f, const uint64_t* rkey)
      : n(count), coeffs(c), factor(f), round_key(rkey) {
    Keys* dst = inline_keys;
    if (count > kInline) {
      more.resize(count);
      dst = more.data();
    }
    for (int k = 0; k < count; ++k) dst[k] = make_keys(seeds[k]);
    keys = dst;
    if (rkey) round = make_keys(*rkey);
  }
  SeedPairs(const SeedPairs&) = delete;
  SeedPairs& operator=(const SeedPairs&) = delete;
};

// Philox4x32-10's ten rounds on N independent chains, each a SIMD vector per counter word with one block
// per 64-bit lane (the 32-bit word in the low half; high halves are don't-care): the unsigned 32×32→64
// multiply then yields lo in the low half and hi in the high half of each lane, so no interleaving is
// needed. V is the ISA's vector type and ops: I, Chain {c0..c3}, Keys {k0[10], k1[10]}, mul, hi (>> 32 per
// 64-bit lane), xor3 and set64. Counter word 2 is 0 (directions) or 1 (rounding words) and word 3 is 0: in
// round 1 the product M1·c2 is then 0 or M1 (high half 0), which `c1_round1` supplies. The chains advance
// round by round together: one chain's round is a dependent multiply–shift–xor sequence, so the generation
// is bound by that latency unless several chains are in flight at once.
template <class V, int N>
inline void philox_rounds(const typename V::Keys& rk, typename V::Chain (&s)[N], typename V::I c1_round1) {
  const typename V::I m0 = V::set64(kPhiloxM0), m1 = V::set64(kPhiloxM1), zero = V::set64(0);
  for (int c = 0; c < N; ++c) {  // round 1: c3 = 0, and M1·c2 has high half 0
    const typename V::I p = V::mul(s[c].c0, m0);
    s[c].c0 = V::xor3(s[c].c1, rk.k0[0], zero);
    s[c].c1 = c1_round1;
    s[c].c2 = V::xor3(V::hi(p), rk.k1[0], zero);
    s[c].c3 = p;
  }
  for (int round = 1; round < 10; ++round)
    for (int c = 0; c < N; ++c) {
      const typename V::I p0 = V::mul(s[c].c0, m0), p1 = V::mul(s[c].c2, m1);
      s[c].c0 = V::xor3(V::hi(p1), s[c].c1, rk.k0[round]);
      s[c].c2 = V::xor3(V::hi(p0), s[c].c3, rk.k1[round]);
      s[c].c1 = p1;
      s[c].c3 = p0;
    }
}

inline void* elem_ptr(void* data, DType dt, int64_t i) { return static_cast<char*>(data) + i * dtype_size(dt); }

}  // namespace perturb_detail
}  // namespace dpzo
