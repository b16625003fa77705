// defines: cuda/tensor_kernels.h as plain loops on the host (dpzo_check_emu), each the formula of its kernel in
// cuda/tensor_kernels.cu.
#include "dpzo/philox.h"
#include "tensor_kernels.h"

namespace dpzo {
namespace cuda {

int current_device() { return 0; }

namespace k {
namespace {}  // namespace

void to_16bit(const float* a, int64_t M, int64_t K, int64_t lda, DType dt, void* out16) {
  uint16_t* o = static_cast<uint16_t*>(out16);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t c = 0; c < K; ++c) o[m * K + c] = f32_to_half(a[m * lda + c], dt);
}

void split_at(const void* src, DType dt, uint64_t g0, int64_t n, const uint64_t* seeds, const float* coeffs,
              int n_pairs, DType dt16, float lo_scale, void* hi, void* lo) {
  uint16_t *h = static_cast<uint16_t*>(hi), *l = static_cast<uint16_t*>(lo);
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t g = g0 + static_cast<uint64_t>(i);
    float v = load_as_f32(src, dt, i);
    for (int k = 0; k < n_pairs; ++k) {
      float z[4];
      direction_block(seeds[k], g >> 2, z);
      v = fma32(coeffs[k], z[g & 3], v);
    }
    split_value(v, dt16, lo_scale, h + i, l ? l + i : nullptr);
  }
}

void bias_rows(int64_t M, int64_t N, Mat bias, float* out, int64_t ldo, bool accumulate) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t c = 0; c < N; ++c) {
      float* o = out + m * ldo + c;
      const float b = load_as_f32(bias.data, bias.dtype, c);
      *o = accumulate ? *o + b : b;
    }
}

}  // namespace k
}  // namespace cuda
}  // namespace dpzo
