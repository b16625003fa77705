// defines: the backward of the elementwise and per-row ops of the forward
// (norms, rotary embedding, activations, SwiGLU, embedding lookup). Each takes
// the forward's input (recomputing what it needs, e.g. a row's 1/rms) and the
// gradient of the output; gradients of inputs are added (+=) where a residual
// stream merges them, parameter gradients are always added.
#pragma once
#include <cstdint>
#include <vector>

#include "dpzo/config.h"
#include "dpzo/thread_pool.h"

namespace dpzo {
namespace cpu {

// y = x/sqrt(mean(x²) + eps)·w: dx += ∂y/∂x ᵀ dy, dw (nullable) += Σ_rows dy·x/rms.
// `scratch` holds one 1/rms per row (grow-only). heads > 1: each row holds `heads` sub-rows of n, normalised
// on their own with the shared w (cpu/norms.h rms_norm), so dw sums over rows and heads.
void rms_norm_backward(ThreadPool& pool, int64_t rows, int64_t n, const float* x, int64_t ldx, const float* w,
                       double eps, const float* dy, int64_t ldy, float* dx, int64_t lddx, float* dw,
                       std::vector<float>& scratch, int64_t heads = 1);
// y = (x − mean)/sqrt(var + eps)·w + b: dx += …, dw, db (nullable) += … . scratch: mean and 1/std per row.
void layer_norm_backward(ThreadPool& pool, int64_t rows, int64_t n, const float* x, int64_t ldx, const float* w,
                         double eps, const float* dy, int64_t ldy, float* dx, int64_t lddx, float* dw, float* db,
                         std::vector<float>& scratch);

// d (n) ← d·act'(pre) for y = act(pre), elementwise, in place.
void activation_backward(ThreadPool& pool, Activation act, const float* pre, float* d, int64_t n);

// y = silu(gate)·up: dgate = dy·up·silu'(gate), dup = dy·silu(gate); dgate may alias dy.
void swiglu_backward(ThreadPool& pool, const float* gate, const float* up, const float* dy, float* dgate, float* dup,
                     int64_t n);

// out[t] = table[ids[t] + offset] (dim columns): dtable[ids[t] + offset] += dout[t], serially in t (rows repeat).
void embedding_backward(ThreadPool& pool, const int32_t* ids, int64_t T, int64_t offset, const float* dout, int64_t dim,
                        float* dtable);

}  // namespace cpu
}  // namespace dpzo
