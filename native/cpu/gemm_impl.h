// defines: the ISA-independent GEMM driver (packing, blocking, edge tiles),
// included (inside an anonymous namespace) by each ISA file after it defines
// MR, NR, micro_kernel(), convert() and pack_outin(). Not a public header.
//
// Loop order per column range: [NC chunk] → [K block: pack B] → [MC rows] →
// [NR panel] → [MR panel]. Each C element = bias + Σ over K blocks in order of
// (FMA chain over the block), independent of M, chunks and threads.
// Needs <algorithm>, <cstring> and cpu/gemm_ops.h included before the namespace.

inline int64_t std_min(int64_t a, int64_t b) { return a < b ? a : b; }

// Packs panels [p0, p1) of A into the K-blocked panel layout, zero-padding rows >= M.
static void pack_a(int64_t M, int64_t K, const float* A, int64_t lda, float* out, int64_t m_pad, int64_t p0,
                   int64_t p1) {
  for (int64_t k0 = 0; k0 < K; k0 += dpzo::cpu::kGemmKC) {
    const int64_t kc = std_min(dpzo::cpu::kGemmKC, K - k0);
    for (int64_t p = p0; p < p1; ++p) {
      float* dst = out + k0 * m_pad + p * MR * kc;
      for (int i = 0; i < MR; ++i) {
        const int64_t m = p * MR + i;
        if (m < M) {
          const float* src = A + m * lda + k0;
          for (int64_t k = 0; k < kc; ++k) dst[k * MR + i] = src[k];
        } else {
          for (int64_t k = 0; k < kc; ++k) dst[k * MR + i] = 0.f;
        }
      }
    }
  }
}

// Packs W(k0..k0+kc, n0..n0+nc) into NR-column panels [k][j], zero-padded.
static void pack_b(const dpzo::cpu::Weight& W, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* dst,
                   float* row_tmp) {
  const int es = dpzo::dtype_size(W.dtype);
  const char* base = static_cast<const char*>(W.data);
  const int64_t panels = (nc + NR - 1) / NR;
  if (W.layout == dpzo::cpu::WLayout::InOut) {
    // stored (in, out): row k holds all the block's columns contiguously; read
    // each row once for every panel, prefetching a few rows ahead (the row
    // stride defeats the hardware prefetcher, which stays within a page)
    const int64_t bytes = nc * es;
    for (int64_t k = 0; k < kc; ++k) {
      if (k + 4 < kc) {
        const char* ahead = base + ((k0 + k + 4) * W.ld + n0) * es;
        for (int64_t b = 0; b < bytes; b += 64) __builtin_prefetch(ahead + b);
      }
      const char* src = base + ((k0 + k) * W.ld + n0) * es;
      for (int64_t p = 0; p < panels; ++p) {
        const int64_t jn = std_min(NR, nc - p * NR);
        float* row = dst + p * kc * NR + k * NR;
        convert(src + p * NR * es, W.dtype, jn, row);
        for (int64_t j = jn; j < NR; ++j) row[j] = 0.f;
      }
    }
    return;
  }
  // stored (out, in): each ISA file transposes while packing
  for (int64_t p = 0; p < panels; ++p)
    pack_outin(W, k0, kc, n0 + p * NR, std_min(NR, nc - p * NR), dst + p * kc * NR, row_tmp);
}

static void columns(const float* apack, int64_t M, int64_t K, int64_t m_pad, const dpzo::cpu::Weight& W,
                    const void* bias, int64_t n0, int64_t n1, float* C, int64_t ldc, bool accumulate, float* scratch) {
  using namespace dpzo::cpu;
  float* bpack = scratch;
  float* bias_f = scratch + kGemmKC * kGemmNC;
  float row_tmp[kGemmKC];
  alignas(64) float tile[MR * NR];
  const int64_t mc_rows = ((kGemmMC + MR - 1) / MR) * MR;
  for (int64_t c0 = n0; c0 < n1; c0 += kGemmNC) {
    const int64_t nc = std_min(kGemmNC, n1 - c0);
    const int64_t panels = (nc + NR - 1) / NR;
    if (bias) {
      convert(static_cast<const char*>(bias) + c0 * dtype_size(W.dtype), W.dtype, nc, bias_f);
      for (int64_t j = nc; j < panels * NR; ++j) bias_f[j] = 0.f;
    }
    for (int64_t k0 = 0; k0 < K; k0 += kGemmKC) {
      const int64_t kc = std_min(kGemmKC, K - k0);
      const bool add = accumulate || k0 > 0;
      const bool last = k0 + kc >= K;
      pack_b(W, k0, kc, c0, nc, bpack, row_tmp);
      for (int64_t m0 = 0; m0 < M; m0 += mc_rows) {
        const int64_t m1 = std_min(M, m0 + mc_rows);
        for (int64_t p = 0; p < panels; ++p) {
          const float* bp = bpack + p * kc * NR;
          const float* bb = (bias && last) ? bias_f + p * NR : nullptr;
          const int64_t jn = std_min(NR, nc - p * NR);
          float* cp = C + (c0 - n0) + p * NR;
          for (int64_t m = m0; m < m1; m += MR) {
            const float* ap = apack + k0 * m_pad + (m / MR) * MR * kc;
            const int64_t in = std_min(MR, M - m);
            if (in == MR && jn == NR) {
              micro_kernel(kc, ap, bp, cp + m * ldc, ldc, add, bb);
            } else {
              // edge tile: same kernel on a padded copy, so the arithmetic is identical
              if (add)
                for (int64_t i = 0; i < in; ++i) memcpy(tile + i * NR, cp + (m + i) * ldc, jn * sizeof(float));
              micro_kernel(kc, ap, bp, tile, NR, add, bb);
              for (int64_t i = 0; i < in; ++i) memcpy(cp + (m + i) * ldc, tile + i * NR, jn * sizeof(float));
            }
          }
        }
      }
    }
  }
}
