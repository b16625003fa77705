// defines: VmathOps, the exp-heavy elementwise kernels of the forward pass
// (GELU-tanh, SiLU·up, softmax, tile max/Σexp of the fused loss), one table
// per ISA (vmath.cpp baseline, vmath_avx2.cpp, vmath_avx512.cpp) chosen once.
// The same plain C++ source is compiled per ISA and auto-vectorised.
#pragma once
#include <cstdint>

namespace dpzo {
namespace cpu {

struct VmathOps {
  const char* name;
  void (*gelu_tanh)(float* x, int64_t n);                     // x·σ(2u), u = √(2/π)(x + 0.044715x³)
  void (*silu_mul)(float* gate, const float* up, int64_t n);  // gate = silu(gate)·up
  void (*softmax)(float* x, int64_t n);                       // in place, max-subtracted
  // max over x[0..n) and Σ exp(x - max), for the online log-sum-exp
  void (*max_sumexp)(const float* x, int64_t n, float* max_out, float* sum_out);
};

extern const VmathOps vmath_ops_scalar;
#if defined(__x86_64__) || defined(_M_X64)
extern const VmathOps vmath_ops_avx2;
extern const VmathOps vmath_ops_avx512;
#endif
const VmathOps& vmath();

}  // namespace cpu
}  // namespace dpzo
