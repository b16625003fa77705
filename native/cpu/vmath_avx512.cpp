// defines: vmath_ops_avx512 (vmath_impl.h compiled with the avx512 flags).
#if defined(__x86_64__) || defined(_M_X64)
#include <cstdint>
#include <cstring>

#include "cpu/vmath.h"

namespace dpzo {
namespace cpu {
namespace {
#include "cpu/vmath_impl.h"
}  // namespace
const VmathOps vmath_ops_avx512 = {"avx512", gelu_tanh, silu_mul, softmax, max_sumexp};
}  // namespace cpu
}  // namespace dpzo
#endif
