// defines: activate (GELU-tanh, exact GELU, ReLU in place) and silu_mul
// (SwiGLU's silu(gate)·up), elementwise over a buffer, on the pool.
#pragma once
#include <cstdint>

#include "dpzo/config.h"
#include "dpzo/thread_pool.h"

namespace dpzo {
namespace cpu {

void activate(ThreadPool& pool, Activation act, float* x, int64_t n);
void silu_mul(ThreadPool& pool, float* gate, const float* up, int64_t n);

}  // namespace cpu
}  // namespace dpzo
