// defines: the ISA-independent GEMM driver (packing, blocking, edge tiles),
// included (inside an anonymous namespace) by each ISA file after it defines
// MR, NR, micro_kernel(), convert(), pack_outin(), fma_to() and fma_row(). Not a public header.
//
// Loop order per column range: [NC chunk] → [K block: pack B] → [MC rows] →
// [NR panel] → [MR panel]. Each C element = bias + Σ over K blocks in order of
// (FMA chain over the block), independent of M, chunks and threads.
// Needs <algorithm>, <cstring> and cpu/gemm_ops.h included before the namespace.

inline int64_t std_min(int64_t a, int64_t b) { return a < b ? a : b; }

// Packs panels [p0, p1) of A into the K-blocked panel layout as panels panel0 + p, zero-padding rows >= M.
static void pack_a(int64_t M, int64_t K, const float* A, int64_t lda, float* out, int64_t m_pad, int64_t p0, int64_t p1,
                   int64_t panel0) {
  for (int64_t k0 = 0; k0 < K; k0 += dpzo::cpu::kGemmKC) {
    const int64_t kc = std_min(dpzo::cpu::kGemmKC, K - k0);
    for (int64_t p = p0; p < p1; ++p) {
      float* dst = out + k0 * m_pad + (panel0 + p) * MR * kc;
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

// C rows [0, M) of one row group (its A panels start at padded row a0) (=|+=) the group's A times the packed
// B block (k0, kc) of nc columns, + bias_f on the last K block. C points at the group's first row, column 0
// of the block.
static void multiply_block(const float* apack, int64_t m_pad, int64_t a0, int64_t M, int64_t k0, int64_t kc,
                           const float* bpack, int64_t nc, const float* bias_f, bool add, float* C, int64_t ldc) {
  using namespace dpzo::cpu;
  alignas(64) float tile[MR * NR];
  const int64_t panels = (nc + NR - 1) / NR;
  const int64_t mc_rows = ((kGemmMC + MR - 1) / MR) * MR;
  for (int64_t m0 = 0; m0 < M; m0 += mc_rows) {
    const int64_t m1 = std_min(M, m0 + mc_rows);
    for (int64_t p = 0; p < panels; ++p) {
      const float* bp = bpack + p * kc * NR;
      const float* bb = bias_f ? bias_f + p * NR : nullptr;
      const int64_t jn = std_min(NR, nc - p * NR);
      float* cp = C + p * NR;
      for (int64_t m = m0; m < m1; m += MR) {
        const float* ap = apack + k0 * m_pad + (a0 + m) * kc;
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

static void columns(const float* apack, int64_t M, int64_t K, int64_t m_pad, const dpzo::cpu::Weight& W,
                    const void* bias, int64_t n0, int64_t n1, float* C, int64_t ldc, bool accumulate, float* scratch) {
  using namespace dpzo::cpu;
  float* bpack = scratch;
  float* bias_f = scratch + kGemmKC * kGemmNC;
  float row_tmp[kGemmKC];
  for (int64_t c0 = n0; c0 < n1; c0 += kGemmNC) {
    const int64_t nc = std_min(kGemmNC, n1 - c0);
    const int64_t panels = (nc + NR - 1) / NR;
    if (bias) {
      convert(static_cast<const char*>(bias) + c0 * dtype_size(W.dtype), W.dtype, nc, bias_f);
      for (int64_t j = nc; j < panels * NR; ++j) bias_f[j] = 0.f;
    }
    for (int64_t k0 = 0; k0 < K; k0 += kGemmKC) {
      const int64_t kc = std_min(kGemmKC, K - k0);
      const bool last = k0 + kc >= K;
      pack_b(W, k0, kc, c0, nc, bpack, row_tmp);
      multiply_block(apack, m_pad, 0, M, k0, kc, bpack, nc, (bias && last) ? bias_f : nullptr, accumulate || k0 > 0,
                     C + (c0 - n0), ldc);
    }
  }
}

// out[p][i] = fl(w[i] + Σ_k c_k·z_k[i]) at every point p of vs, k in the point's order (the float32 chain
// values_at computes), i < n; seed s's directions at z + s·z_stride. out[0] may be w: point 0 is written
// last, per chunk, so w is read by every point before it is overwritten. Writing each point straight from w
// (instead of copying w to every point, then an fma pass per term) saves a copy and a pass per point.
static void points_from(int64_t n, const float* w, const dpzo::cpu::VirtualSet& vs, const float* z, int64_t z_stride,
                        float* const* out) {
  constexpr int64_t kChunk = 1024;  // 4 KB of w stays in L1 across the points
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    const int64_t m = std_min(kChunk, n - i0);
    for (int p = vs.size() - 1; p >= 0; --p) {
      const auto& terms = vs.terms[p];
      float* o = out[p] + i0;
      if (terms.empty()) {
        if (o != w + i0) memcpy(o, w + i0, static_cast<size_t>(m) * sizeof(float));
        continue;
      }
      fma_to(m, terms[0].coeff, z + terms[0].seed * z_stride + i0, w + i0, o);
      for (size_t k = 1; k < terms.size(); ++k) fma_row(m, terms[k].coeff, z + terms[k].seed * z_stride + i0, o);
    }
  }
}

// Packs the block W(k0..k0+kc, n0..n0+nc) at every point of vs into bp[p]: the stored values are packed
// once into bp[0] (the plain packing code), then each panel is written at every point by points_from, so a
// panel holds fl(w + Σ c_k z_k) exactly as values_at computes it. The directions are generated once per
// block and distinct seed (zbuf), in panel order: for (out, in) weights a panel's z rows are staged in
// `stage` and transposed by the same packing code as the weights.
static void pack_b_at(const dpzo::cpu::Weight& W, const dpzo::cpu::VirtualSet& vs, int64_t k0, int64_t kc, int64_t n0,
                      int64_t nc, float* const* bp, float* stage, float* zbuf, float* row_tmp) {
  using namespace dpzo::cpu;
  const int G = vs.size();
  const int64_t S = static_cast<int64_t>(vs.seeds.size());
  const int64_t panels = (nc + NR - 1) / NR;
  pack_b(W, k0, kc, n0, nc, bp[0], row_tmp);
  float* out[kMaxVirtualPoints];
  if (W.layout == WLayout::InOut) {
    // stored (in, out): row k0 + k holds the block's nc columns contiguously. Per chunk of up to 32 rows:
    // each row's z once per seed, regrouped into panel order, then the points per panel chunk
    // (an fma call per row and panel cost 12 % of the product: dpzo_check virtual-gemm --layout inout)
    constexpr int64_t kChunk = kGemmMaxNR;
    const int64_t per_seed = panels * kChunk * NR;  // ≤ the stage's 2·kGemmMaxNR·kGemmKC floats per seed
    for (int64_t kk = 0; kk < kc; kk += kChunk) {
      const int64_t kch = std_min(kChunk, kc - kk);
      // the chunk's rows of z in one kernel entry per seed: zbuf[s][r][nc]
      if (S > 0)
        directions_rows_of(vs, static_cast<uint64_t>(W.g0 + (k0 + kk) * W.ld + n0), static_cast<uint64_t>(W.ld), nc,
                           kch, zbuf, nc, kch * nc);
      for (int64_t r = 0; r < kch; ++r)
        for (int64_t s = 0; s < S; ++s)
          for (int64_t q = 0; q < panels; ++q) {
            const int64_t jn = std_min(NR, nc - q * NR);
            float* dst = stage + s * per_seed + q * kch * NR + r * NR;
            memcpy(dst, zbuf + (s * kch + r) * nc + q * NR, jn * sizeof(float));
            for (int64_t j = jn; j < NR; ++j) dst[j] = 0.f;
          }
      for (int64_t q = 0; q < panels; ++q) {
        const int64_t at = q * kc * NR + kk * NR;
        for (int p = 0; p < G; ++p) out[p] = bp[p] + at;
        points_from(kch * NR, bp[0] + at, vs, stage + q * kch * NR, per_seed, out);
      }
    }
    return;
  }
  // stored (out, in): per panel, the jn stored rows' z (kc each) per seed, transposed into panel order
  float* zpanel = stage;  // S panels of kc·NR
  float* zrows = stage + S * kGemmKC * NR;
  for (int64_t q = 0; q < panels; ++q) {
    const int64_t jn = std_min(NR, nc - q * NR);
    // the panel's jn rows of z, one kernel entry per seed: zrows[j][s][kc]
    if (S > 0)
      directions_rows_of(vs, static_cast<uint64_t>(W.g0 + (n0 + q * NR) * W.ld + k0), static_cast<uint64_t>(W.ld), kc,
                         jn, zrows, S * kc, kc);
    for (int64_t s = 0; s < S; ++s) {
      Weight zw;
      zw.data = zrows + s * kc;
      zw.dtype = dpzo::DType::F32;
      zw.layout = WLayout::OutIn;
      zw.ld = S * kc;
      pack_outin(zw, 0, kc, 0, jn, zpanel + s * kc * NR, row_tmp);
    }
    for (int p = 0; p < G; ++p) out[p] = bp[p] + q * kc * NR;
    points_from(kc * NR, bp[0] + q * kc * NR, vs, zpanel, kc * NR, out);
  }
}

static void columns_at(const dpzo::cpu::PackedA& a, const dpzo::cpu::Weight& W, const void* bias, int64_t n0,
                       int64_t n1, float* C, int64_t ldc, bool accumulate, float* scratch) {
  using namespace dpzo::cpu;
  const VirtualSet& vs = *W.at->set;
  const int G = vs.size();
  const int64_t S = static_cast<int64_t>(vs.seeds.size());
  // the frozen parts are the same at every point: one pack serves all groups
  const bool w_at = W.g0 >= 0, b_at = bias && W.bias_g0 >= 0;
  float* bpack[kMaxVirtualPoints];
  float* bias_f[kMaxVirtualPoints];
  for (int p = 0; p < G; ++p) {
    bpack[p] = scratch + (w_at ? p : 0) * kGemmKC * kGemmNC;
    bias_f[p] = scratch + G * kGemmKC * kGemmNC + (b_at ? p : 0) * kGemmNC;
  }
  float* stage = scratch + G * (kGemmKC * kGemmNC + kGemmNC);
  float* zbuf = stage + 2 * S * kGemmMaxNR * kGemmKC;
  float row_tmp[kGemmKC];
  const int64_t K = a.K;
  for (int64_t c0 = n0; c0 < n1; c0 += kGemmNC) {
    const int64_t nc = std_min(kGemmNC, n1 - c0);
    const int64_t panels = (nc + NR - 1) / NR;
    if (bias) {
      const char* bsrc = static_cast<const char*>(bias) + c0 * dtype_size(W.dtype);
      if (b_at)
        values_at_all(bsrc, W.dtype, static_cast<uint64_t>(W.bias_g0 + c0), nc, vs, bias_f, zbuf);
      else
        convert(bsrc, W.dtype, nc, bias_f[0]);
      for (int p = 0; p < (b_at ? G : 1); ++p)
        for (int64_t j = nc; j < panels * NR; ++j) bias_f[p][j] = 0.f;
    }
    for (int64_t k0 = 0; k0 < K; k0 += kGemmKC) {
      const int64_t kc = std_min(kGemmKC, K - k0);
      const bool last = k0 + kc >= K;
      if (w_at)
        pack_b_at(W, vs, k0, kc, c0, nc, bpack, stage, zbuf, row_tmp);
      else
        pack_b(W, k0, kc, c0, nc, bpack[0], row_tmp);
      for (int g = 0; g + 1 < static_cast<int>(a.bounds.size()); ++g) {
        const int64_t r0 = a.bounds[g], rows = a.bounds[g + 1] - r0;
        if (rows == 0) continue;
        const int p = W.at->point_of(r0);
        multiply_block(a.data, a.m_pad, a.pad0[g], rows, k0, kc, bpack[p], nc, (bias && last) ? bias_f[p] : nullptr,
                       accumulate || k0 > 0, C + r0 * ldc + (c0 - n0), ldc);
      }
    }
  }
}
