// defines: linear_backward, transpose (see backward_gemm.h).
#include "cpu/backward_gemm.h"

#include <algorithm>

namespace dpzo {
namespace cpu {

void transpose(ThreadPool& pool, int64_t rows, int64_t cols, const float* in, int64_t ld, float* out) {
  // blocks of 32 columns per task keep both sides within a few cache lines
  constexpr int64_t kB = 32;
  pool.parallel_for((cols + kB - 1) / kB, 1, [&](int64_t b, int64_t e, int) {
    for (int64_t c0 = b * kB; c0 < std::min(cols, e * kB); c0 += kB) {
      const int64_t c1 = std::min(cols, c0 + kB);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = c0; c < c1; ++c) out[c * rows + r] = in[r * ld + c];
    }
  });
}

void linear_backward(ThreadPool& pool, GemmWorkspace& ws, std::vector<float>& tr, int64_t T, int64_t N, int64_t K,
                     const float* X, int64_t ldx, const float* dY, int64_t ldy, const float* W, WLayout layout,
                     int64_t ld, float* dW, float* db, float* dX, int64_t lddx, bool accumulate_dx) {
  const bool outin = layout == WLayout::OutIn;
  if (dX) {
    // (out, in) stored: dX = dY·W_stored, i.e. the same buffer read as (in = N, out = K); and vice versa
    const Weight wt{W, DType::F32, outin ? WLayout::InOut : WLayout::OutIn, ld};
    linear(pool, ws, T, K, N, dY, ldy, wt, nullptr, dX, lddx, accumulate_dx);
  }
  if (dW) {
    if (static_cast<int64_t>(tr.size()) < T * std::max(N, K)) tr.resize(T * std::max(N, K));
    if (outin) {
      // dW (N, K) += dYᵀ (N, T) · X (T, K)
      transpose(pool, T, N, dY, ldy, tr.data());
      linear(pool, ws, N, K, T, tr.data(), T, Weight{X, DType::F32, WLayout::InOut, ldx}, nullptr, dW, ld, true);
    } else {
      // dW (K, N) += Xᵀ (K, T) · dY (T, N)
      transpose(pool, T, K, X, ldx, tr.data());
      linear(pool, ws, K, N, T, tr.data(), T, Weight{dY, DType::F32, WLayout::InOut, ldy}, nullptr, dW, ld, true);
    }
  }
  if (db) {
    pool.parallel_for(N, 64, [&](int64_t b, int64_t e, int) {
      for (int64_t t = 0; t < T; ++t)
        for (int64_t n = b; n < e; ++n) db[n] += dY[t * ldy + n];
    });
  }
}

}  // namespace cpu
}  // namespace dpzo
