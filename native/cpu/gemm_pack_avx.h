// defines: pack_outin, the B packing of an nn.Linear (out, in) weight for the
// AVX2 and AVX-512 GEMMs: 8 stored rows × 8 k at a time are widened to F32
// and transposed in registers into the [k][j] panel. Included inside an
// anonymous namespace after <immintrin.h>; needs NR % 8 == 0. Not a public header.

static inline __m256 load8(const char* p, dpzo::DType dt) {
  if (dt == dpzo::DType::F32) return _mm256_loadu_ps(reinterpret_cast<const float*>(p));
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if (dt == dpzo::DType::BF16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  return _mm256_cvtph_ps(h);
}

// bp[k][j] = W(n0 + j, k0 + k) for j < jn (zero for jn <= j < NR), k < kc.
static void pack_outin(const dpzo::cpu::Weight& W, int64_t k0, int64_t kc, int64_t n0, int64_t jn, float* bp,
                       float* row_tmp) {
  const int es = dpzo::dtype_size(W.dtype);
  const char* base = static_cast<const char*>(W.data);
  for (int64_t j8 = 0; j8 < NR; j8 += 8) {
    if (j8 + 8 <= jn) {
      const char* src[8];
      for (int r = 0; r < 8; ++r) src[r] = base + ((n0 + j8 + r) * W.ld + k0) * es;
      int64_t k = 0;
      for (; k + 8 <= kc; k += 8) {
        __m256 r0 = load8(src[0] + k * es, W.dtype), r1 = load8(src[1] + k * es, W.dtype);
        __m256 r2 = load8(src[2] + k * es, W.dtype), r3 = load8(src[3] + k * es, W.dtype);
        __m256 r4 = load8(src[4] + k * es, W.dtype), r5 = load8(src[5] + k * es, W.dtype);
        __m256 r6 = load8(src[6] + k * es, W.dtype), r7 = load8(src[7] + k * es, W.dtype);
        // 8×8 transpose: interleave pairs, then quads, then 128-bit halves
        const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
        const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
        const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
        const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
        const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
        const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        float* d = bp + k * NR + j8;
        _mm256_storeu_ps(d + 0 * NR, _mm256_permute2f128_ps(u0, u4, 0x20));
        _mm256_storeu_ps(d + 1 * NR, _mm256_permute2f128_ps(u1, u5, 0x20));
        _mm256_storeu_ps(d + 2 * NR, _mm256_permute2f128_ps(u2, u6, 0x20));
        _mm256_storeu_ps(d + 3 * NR, _mm256_permute2f128_ps(u3, u7, 0x20));
        _mm256_storeu_ps(d + 4 * NR, _mm256_permute2f128_ps(u0, u4, 0x31));
        _mm256_storeu_ps(d + 5 * NR, _mm256_permute2f128_ps(u1, u5, 0x31));
        _mm256_storeu_ps(d + 6 * NR, _mm256_permute2f128_ps(u2, u6, 0x31));
        _mm256_storeu_ps(d + 7 * NR, _mm256_permute2f128_ps(u3, u7, 0x31));
      }
      for (; k < kc; ++k)  // K tail
        for (int r = 0; r < 8; ++r) {
          convert(src[r] + k * es, W.dtype, 1, row_tmp);
          bp[k * NR + j8 + r] = row_tmp[0];
        }
    } else {
      // partial group at the matrix edge: row by row, zero beyond jn
      for (int64_t j = j8; j < j8 + 8; ++j) {
        if (j < jn) {
          convert(base + ((n0 + j) * W.ld + k0) * es, W.dtype, kc, row_tmp);
          for (int64_t k = 0; k < kc; ++k) bp[k * NR + j] = row_tmp[k];
        } else {
          for (int64_t k = 0; k < kc; ++k) bp[k * NR + j] = 0.f;
        }
      }
    }
  }
}
