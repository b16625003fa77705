// defines: cuda/tensor_kernels.h on the GPU. Compiled with --fmad=false like every kernel file, so the
// point's float32 value is the fma chain of k::values_at and nothing else.
#include <library_types.h>

#include "cublaslt_api.h"
#include "block_io.h"
#include "launch.h"
#include "tensor_kernels.h"

namespace dpzo {
namespace cuda {

// the values cuda/cublaslt_api.h declares without the header, checked against the toolkit's own
static_assert(lt::kR32F == CUDA_R_32F && lt::kR16F == CUDA_R_16F && lt::kR16BF == CUDA_R_16BF, "cudaDataType");

int current_device() {
  int d = 0;
  check_call(cudaGetDevice(&d), "cudaGetDevice");
  return d;
}

namespace k {
namespace {

constexpr int kThreads = 256;

__global__ void to_16bit_kernel(const float* a, int64_t M, int64_t K, int64_t lda, DType dt, uint16_t* out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= M * K) return;
  const int64_t m = i / K, c = i % K;
  out[i] = f32_to_half(a[m * lda + c], dt);
}

// One thread per Philox block b (four consecutive global indices) that meets [g0, g0 + n); the four lanes
// unrolled with compile-time indices, so the accumulators stay in registers (a runtime-indexed array would
// live in local memory).
__global__ void split_at_kernel(const void* src, DType dt, uint64_t g0, int64_t n, const uint64_t* seeds,
                                const float* coeffs, int n_pairs, DType dt16, float lo_scale, uint16_t* hi,
                                uint16_t* lo) {
  const uint64_t b = (g0 >> 2) + static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const uint64_t g_end = g0 + static_cast<uint64_t>(n);
  if (4 * b >= g_end) return;
  float acc[4];
  partial_block_at_point(src, dt, g0, b, g0, g_end, seeds, coeffs, n_pairs, acc);
#pragma unroll
  for (int e = 0; e < 4; ++e) {
    const uint64_t g = 4 * b + e;
    if (g < g0 || g >= g_end) continue;
    split_value(acc[e], dt16, lo_scale, hi + (g - g0), lo ? lo + (g - g0) : nullptr);
  }
}

__global__ void bias_rows_kernel(int64_t M, int64_t N, Mat bias, float* out, int64_t ldo, bool accumulate) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= M * N) return;
  const int64_t m = i / N, c = i % N;
  float* o = out + m * ldo + c;
  const float b = load_as_f32(bias.data, bias.dtype, c);
  *o = accumulate ? __fadd_rn(*o, b) : b;
}

}  // namespace

void to_16bit(const float* a, int64_t M, int64_t K, int64_t lda, DType dt, void* out16) {
  if (M * K <= 0) return;
  to_16bit_kernel<<<grid_for(M * K, kThreads), kThreads>>>(a, M, K, lda, dt, static_cast<uint16_t*>(out16));
  check_launch("to_16bit");
}

void split_at(const void* src, DType dt, uint64_t g0, int64_t n, const uint64_t* seeds, const float* coeffs,
              int n_pairs, DType dt16, float lo_scale, void* hi, void* lo) {
  if (n <= 0) return;
  const int64_t blocks = static_cast<int64_t>(((g0 + static_cast<uint64_t>(n) - 1) >> 2) - (g0 >> 2) + 1);
  split_at_kernel<<<grid_for(blocks, kThreads), kThreads>>>(src, dt, g0, n, seeds, coeffs, n_pairs, dt16, lo_scale,
                                                            static_cast<uint16_t*>(hi), static_cast<uint16_t*>(lo));
  check_launch("split_at");
}

void bias_rows(int64_t M, int64_t N, Mat bias, float* out, int64_t ldo, bool accumulate) {
  if (M * N <= 0) return;
  bias_rows_kernel<<<grid_for(M * N, kThreads), kThreads>>>(M, N, bias, out, ldo, accumulate);
  check_launch("bias_rows");
}

}  // namespace k
}  // namespace cuda
}  // namespace dpzo
