// defines: GemmOps, the per-ISA table of packing and micro-kernel drivers
// (gemm.cpp scalar, gemm_avx2.cpp, gemm_avx512.cpp), chosen once at run time.
#pragma once
#include <cstdint>

#include "cpu/gemm.h"
#include "dpzo/virtual_set.h"

namespace dpzo {
namespace cpu {

constexpr int64_t kGemmKC = 256;  // K block: fixed, so a row's FMA order never changes
constexpr int64_t kGemmNC = 256;  // columns packed per B block
constexpr int64_t kGemmMC = 192;  // rows per pass over a packed B block (L2 reuse)

struct GemmOps {
  const char* name;
  int mr, nr;
  // Packs MR-row panels [p0, p1) of A (M×K) into `out` (layout: K blocks of kGemmKC; inside a block, panel
  // panel0 + p at (panel0 + p)·MR·kc, element [k][i]).
  void (*pack_a)(int64_t M, int64_t K, const float* A, int64_t lda, float* out, int64_t m_pad, int64_t p0, int64_t p1,
                 int64_t panel0);
  // C[:, 0..n1-n0) (=|+=) A·W(:, n0..n1) + bias; scratch holds kGemmKC·kGemmNC + kGemmNC floats.
  void (*columns)(const float* apack, int64_t M, int64_t K, int64_t m_pad, const Weight& W, const void* bias,
                  int64_t n0, int64_t n1, float* C, int64_t ldc, bool accumulate, float* scratch);
  // The same product for a grouped A (pack_a with row groups) and a Weight read at the virtual point of each
  // group (W.at); scratch holds gemm_scratch_floats_at(G, S) floats.
  void (*columns_at)(const PackedA& a, const Weight& W, const void* bias, int64_t n0, int64_t n1, float* C, int64_t ldc,
                     bool accumulate, float* scratch);
  void (*convert)(const void* src, DType dtype, int64_t n, float* dst);
  // out[p][i] = fl(w[i] + Σ_k c_k·z_k[i]) at every point p of vs, k in the point's order, i < n; seed s's
  // directions at z + s·z_stride; out[0] may be w (gemm_impl.h: points_from). The one float32 chain of a
  // weight read at a point, for the packed GEMM panels and the biases alike.
  void (*points)(int64_t n, const float* w, const VirtualSet& vs, const float* z, int64_t z_stride, float* const* out);
};

extern const GemmOps gemm_ops_scalar;
#if defined(__x86_64__) || defined(_M_X64)
extern const GemmOps gemm_ops_avx2;
extern const GemmOps gemm_ops_avx512;
#endif

const GemmOps& gemm_ops();  // the table in use (gemm.cpp)
inline int64_t gemm_scratch_floats() { return kGemmKC * kGemmNC + kGemmNC; }
// columns_at's scratch for G points and S distinct seeds: per point one packed B block and its bias; per
// seed a direction panel and the NR ≤ 32 direction rows it is packed from; per point a bias row; per seed
// up to 32 direction rows of ≤ NC (a chunk of an (in, out) weight's rows, or one bias row).
constexpr int64_t kGemmMaxNR = 32;
inline int64_t gemm_scratch_floats_at(int64_t G, int64_t S) {
  return G * (kGemmKC * kGemmNC + kGemmNC) + 2 * S * kGemmMaxNR * kGemmKC + S * kGemmMaxNR * kGemmNC;
}

}  // namespace cpu
}  // namespace dpzo
