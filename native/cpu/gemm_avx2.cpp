// defines: gemm_ops_avx2, the AVX2+FMA GEMM (6×16 micro-kernel, F16/BF16
// weights widened to F32 while packing). Compiled with -mavx2 -mfma -mf16c.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "cpu/gemm_ops.h"
#include "cpu/virtual_point.h"

namespace dpzo {
namespace cpu {
namespace {

constexpr int MR = 6;
constexpr int NR = 16;

void convert(const void* src, DType dtype, int64_t n, float* dst) {
  int64_t i = 0;
  if (dtype == DType::F32) {
    const float* s = static_cast<const float*>(src);
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_loadu_ps(s + i));
    for (; i < n; ++i) dst[i] = s[i];
  } else if (dtype == DType::BF16) {
    const uint16_t* s = static_cast<const uint16_t*>(src);
    for (; i + 8 <= n; i += 8) {
      __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i)));
      _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
    }
    for (; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
  } else {
    const uint16_t* s = static_cast<const uint16_t*>(src);
    for (; i + 8 <= n; i += 8)
      _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i))));
    for (; i < n; ++i) dst[i] = f16_to_f32(s[i]);
  }
}

void micro_kernel(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, bool add, const float* bias) {
  __m256 c[MR][2];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) c[i][0] = c[i][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_loadu_ps(B), b1 = _mm256_loadu_ps(B + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      const __m256 a = _mm256_broadcast_ss(A + i);
      c[i][0] = _mm256_fmadd_ps(a, b0, c[i][0]);
      c[i][1] = _mm256_fmadd_ps(a, b1, c[i][1]);
    }
    A += MR;
    B += NR;
  }
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) {
    float* cr = C + i * ldc;
    __m256 r0 = c[i][0], r1 = c[i][1];
    if (add) {
      r0 = _mm256_add_ps(_mm256_loadu_ps(cr), r0);
      r1 = _mm256_add_ps(_mm256_loadu_ps(cr + 8), r1);
    }
    if (bias) {
      r0 = _mm256_add_ps(r0, _mm256_loadu_ps(bias));
      r1 = _mm256_add_ps(r1, _mm256_loadu_ps(bias + 8));
    }
    _mm256_storeu_ps(cr, r0);
    _mm256_storeu_ps(cr + 8, r1);
  }
}

// out[i] = fma(c, z[i], w[i]); out may be w
void fma_to(int64_t n, float c, const float* z, const float* w, float* out) {
  const __m256 cv = _mm256_set1_ps(c);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_fmadd_ps(cv, _mm256_loadu_ps(z + i), _mm256_loadu_ps(w + i)));
  for (; i < n; ++i) out[i] = __builtin_fmaf(c, z[i], w[i]);
}

void fma_row(int64_t n, float c, const float* z, float* acc) { fma_to(n, c, z, acc, acc); }

#include "cpu/gemm_pack_avx.h"
#include "cpu/gemm_impl.h"

}  // namespace

const GemmOps gemm_ops_avx2 = {"avx2", MR, NR, pack_a, columns, columns_at, convert, points_from};

}  // namespace cpu
}  // namespace dpzo
#endif
