// defines: vmath_ops_scalar (vmath_impl.h at the baseline ISA) and vmath(),
// the table for active_isa().
#include "cpu/vmath.h"

#include <cstdint>
#include <cstring>

#include "cpu/cpu_features.h"

namespace dpzo {
namespace cpu {
namespace {
#include "cpu/vmath_impl.h"
}  // namespace

const VmathOps vmath_ops_scalar = {"scalar", gelu_tanh, silu_mul, softmax, max_sumexp};

const VmathOps& vmath() {
  static const VmathOps* ops = [] {
#if defined(__x86_64__) || defined(_M_X64)
    const Isa isa = active_isa();
    if (isa == Isa::Avx512) return &vmath_ops_avx512;
    if (isa == Isa::Avx2) return &vmath_ops_avx2;
#endif
    return &vmath_ops_scalar;
  }();
  return *ops;
}

}  // namespace cpu
}  // namespace dpzo
