// defines: linear_backward — the two products of a linear layer's backward on
// the forward's own GEMM (cpu/gemm.h): dX = dY·W and dW += dYᵀ·X (or Xᵀ·dY for
// GPT-2's Conv1D), plus db += Σ_rows dY. linear() multiplies A by a weight in
// either stored layout but never transposes A, so dY·W reads the weight in the
// other layout and the weight gradients transpose their small operand first.
#pragma once
#include <cstdint>
#include <vector>

#include "cpu/gemm.h"
#include "dpzo/thread_pool.h"

namespace dpzo {
namespace cpu {

// Y (T, N) = X (T, K) · W + b with W an F32 weight as stored (`layout`, row stride ld), given dY:
//   dX (T, K) (=|+=) dY·Wᵀ when dX is non-null (accumulate_dx: add to it),
//   dW (stored shape) += the weight gradient when dW is non-null,
//   db (N) += Σ_t dY[t] when db is non-null.
// `tr` is scratch for the transposed operand (grow-only).
void linear_backward(ThreadPool& pool, GemmWorkspace& ws, std::vector<float>& tr, int64_t T, int64_t N, int64_t K,
                     const float* X, int64_t ldx, const float* dY, int64_t ldy, const float* W, WLayout layout,
                     int64_t ld, float* dW, float* db, float* dX, int64_t lddx, bool accumulate_dx);

// out (cols, rows) = in (rows, cols)ᵀ, in with row stride ld.
void transpose(ThreadPool& pool, int64_t rows, int64_t cols, const float* in, int64_t ld, float* out);

}  // namespace cpu
}  // namespace dpzo
