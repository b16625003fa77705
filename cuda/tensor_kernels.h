// defines: the small kernels around the tensor-core GEMM (cuda/tensor_gemm.h), launchers callable from plain
// C++ (no CUDA headers here), on the default stream, throwing Error(ERR_DEVICE) when a launch fails; the host
// emulation has the same formulas as loops (cuda/emu/tensor_kernels_host.cpp).
#pragma once
#include <cstdint>

#include "dpzo/dtype.h"
#include "kernels.h"

namespace dpzo {
namespace cuda {

// The device current for this host thread (cudaGetDevice; 0 in the emulation): the self-test is per device.
int current_device();

namespace k {

// out16[m·K + c] = rn16(a[m·lda + c]) in dt (F16 or BF16), round to nearest even: the activations as the
// tensor cores read them (dense rows, ld = K).
void to_16bit(const float* a, int64_t M, int64_t K, int64_t lda, DType dt, void* out16);

// The weight at a virtual point split into two 16-bit parts: v = fl(src[i] + Σ_k c_k·z(s_k, g0 + i)) (the
// float32 of k::values_at, the same fma chain, k ascending), hi[i] = rn16(v), lo[i] = rn16((v − hi)·lo_scale)
// (v − hi is exact in float32; lo_scale a power of two keeps F16's residual out of the subnormals). With lo
// null only hi is written (DPZO_CUDA_POINT_GEMM=round).
void split_at(const void* src, DType dt, uint64_t g0, int64_t n, const uint64_t* seeds, const float* coeffs,
              int n_pairs, DType dt16, float lo_scale, void* hi, void* lo);

// out[m, n] = (accumulate ? out[m, n] : 0) + bias[n] for m < M, n < N: the bias placed before an accumulating
// (β = 1) library GEMM, since the library's bias epilogue wants the output's type.
void bias_rows(int64_t M, int64_t N, Mat bias, float* out, int64_t ldo, bool accumulate);

}  // namespace k
}  // namespace cuda
}  // namespace dpzo
