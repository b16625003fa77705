// defines: activate, silu_mul (see activations.h). Elementwise, so the chunking
// over threads never changes a value.
#include "cpu/activations.h"

#include <cmath>

#include "cpu/vmath.h"

namespace dpzo {
namespace cpu {

void activate(ThreadPool& pool, Activation act, float* x, int64_t n) {
  const VmathOps& vm = vmath();
  pool.parallel_for(n, 1 << 14, [&](int64_t b, int64_t e, int) {
    switch (act) {
      case Activation::GELU_TANH:
        vm.gelu_tanh(x + b, e - b);
        break;
      case Activation::GELU:  // exact: x·Φ(x)
        for (int64_t i = b; i < e; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
        break;
      case Activation::RELU:
        for (int64_t i = b; i < e; ++i) x[i] = x[i] > 0.f ? x[i] : 0.f;
        break;
      case Activation::SILU:
        for (int64_t i = b; i < e; ++i) x[i] = x[i] / (1.0f + std::exp(-x[i]));
        break;
    }
  });
}

void silu_mul(ThreadPool& pool, float* gate, const float* up, int64_t n) {
  const VmathOps& vm = vmath();
  pool.parallel_for(n, 1 << 14, [&](int64_t b, int64_t e, int) { vm.silu_mul(gate + b, up + b, e - b); });
}

}  // namespace cpu
}  // namespace dpzo
