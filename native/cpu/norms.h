// defines: layer_norm, rms_norm over rows (statistics in double, output F32;
// gain/bias read in the model's dtype).
#pragma once
#include <cstdint>

#include "dpzo/dtype.h"
#include "dpzo/thread_pool.h"

namespace dpzo {
namespace cpu {

// out[r] = (x[r] − mean)/sqrt(var + eps)·w + b   (b may be null); out may alias x.
void layer_norm(ThreadPool& pool, int64_t rows, int64_t n, const float* x, int64_t ldx, const void* w, const void* b,
                DType dtype, double eps, float* out, int64_t ldo);
// out[r] = x[r]/sqrt(mean(x²) + eps)·w   (Llama's RMSNorm); out may alias x. With heads > 1, each row holds
// `heads` sub-rows of n (x[r] + h·n, Qwen3's q/k heads), each normalised on its own with the same w.
void rms_norm(ThreadPool& pool, int64_t rows, int64_t n, const float* x, int64_t ldx, const void* w, DType dtype,
              double eps, float* out, int64_t ldo, int64_t heads = 1);

}  // namespace cpu
}  // namespace dpzo
