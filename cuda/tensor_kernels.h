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
// float32 of k::values_at, the same fma chain, k ascending), hi[i], lo[i] = split_value(v) below. With lo
// null only hi is written (DPZO_CUDA_POINT_GEMM=round).
void split_at(const void* src, DType dt, uint64_t g0, int64_t n, const uint64_t* seeds, const float* coeffs,
              int n_pairs, DType dt16, float lo_scale, void* hi, void* lo);

// rn16(x) in dt, except that a finite x beyond dt's largest finite value gives that value with x's sign, not
// ±inf: a perturbed weight near the top of the 16-bit range (F16 65504, BF16 ~3.39e38) is a finite float32 that
// the CPU reads as it is, and an infinite hi made the residual ∓inf and the split's sum NaN.
DPZO_HD uint16_t f32_to_half_saturate(float x, DType dt) {
  const uint16_t h = f32_to_half(x, dt);
  const uint16_t inf = dt == DType::F16 ? 0x7c00u : 0x7f80u;  // the largest finite value is the bits below
  const bool finite = (f32_bits(x) & 0x7fffffffu) < 0x7f800000u;
  return finite && (h & 0x7fffu) == inf ? static_cast<uint16_t>((h & 0x8000u) | (inf - 1u)) : h;
}

// v as the GEMMs read it, hi + lo/lo_scale: hi = rn16(v) and lo = rn16((v − hi)·lo_scale), both saturated to
// dt's finite range (v − hi is exact in float32 while v is within the range; lo_scale, a power of two, keeps
// F16's residual out of the subnormals). Beyond the range the sum is as close to v as two finite halves get
// (F16: at most 65504 + 65504/1024). v = ±inf (a float32 overflow the CPU reads too) gives hi = v, lo = 0; NaN
// stays NaN. One definition for the kernel and its host emulation.
DPZO_HD void split_value(float v, DType dt, float lo_scale, uint16_t* hi, uint16_t* lo) {
  const uint16_t h = f32_to_half_saturate(v, dt);
  *hi = h;
  if (!lo) return;
  const float hf = half_to_f32(h, dt);
  *lo = f32_to_half_saturate(hf == v ? 0.0f : (v - hf) * lo_scale, dt);
}

// out[m, n] = (accumulate ? out[m, n] : 0) + bias[n] for m < M, n < N: the bias placed before an accumulating
// (β = 1) library GEMM, since the library's bias epilogue wants the output's type.
void bias_rows(int64_t M, int64_t N, Mat bias, float* out, int64_t ldo, bool accumulate);

}  // namespace k
}  // namespace cuda
}  // namespace dpzo
