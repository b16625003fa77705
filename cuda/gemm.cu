// defines: k::gemm (cuda/kernels.h) — a plain shared-memory tiled GEMM: 64×64 output tiles, 16-deep k
// steps, 256 threads each owning a 4×4 strided block, the weight converted to float32 as it is staged, F32
// accumulation with explicit fma. No tensor cores yet: correct first, fast after measurement (docs/cuda.md).
#include "kernels.h"
#include "launch.h"

namespace dpzo {
namespace cuda {
namespace k {
namespace {

constexpr int kTile = 64, kDepth = 16, kThreads = 256;

__global__ void gemm_kernel(int64_t M, int64_t N, int64_t K, const float* __restrict__ a, int64_t lda, Mat w,
                            bool in_out, Mat bias, float* __restrict__ out, int64_t ldo, bool accumulate) {
  __shared__ float as[kDepth][kTile];
  __shared__ float ws[kDepth][kTile];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kTile, n0 = static_cast<int64_t>(blockIdx.x) * kTile;
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < K; k0 += kDepth) {
    for (int e = tid; e < kTile * kDepth; e += kThreads) {
      const int r = e / kDepth, kk = e % kDepth;  // consecutive threads walk k: coalesced rows of a
      const int64_t m = m0 + r, k = k0 + kk;
      as[kk][r] = m < M && k < K ? a[m * lda + k] : 0.0f;
    }
    for (int e = tid; e < kTile * kDepth; e += kThreads) {
      // consecutive threads walk the stored row: k for (out, in), n for (in, out)
      const int c = in_out ? e % kTile : e / kDepth, kk = in_out ? e / kTile : e % kDepth;
      const int64_t n = n0 + c, k = k0 + kk;
      float v = 0.0f;
      if (n < N && k < K) v = load_as_f32(w.data, w.dtype, in_out ? k * w.ld + n : n * w.ld + k);
      ws[kk][c] = v;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kDepth; ++kk) {
      float av[4], wv[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) av[i] = as[kk][ty + 16 * i];
#pragma unroll
      for (int j = 0; j < 4; ++j) wv[j] = ws[kk][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = __fmaf_rn(av[i], wv[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t m = m0 + ty + 16 * i;
    if (m >= M) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t n = n0 + tx + 16 * j;
      if (n >= N) continue;
      float v = acc[i][j];
      if (bias.data) v = __fadd_rn(v, load_as_f32(bias.data, bias.dtype, n));
      float* o = out + m * ldo + n;
      *o = accumulate ? __fadd_rn(*o, v) : v;
    }
  }
}

}  // namespace

void gemm(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, Mat w, Layout layout, Mat bias, float* out,
          int64_t ldo, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  const dim3 grid(static_cast<unsigned>((N + kTile - 1) / kTile), static_cast<unsigned>((M + kTile - 1) / kTile));
  gemm_kernel<<<grid, kThreads>>>(M, N, K, a, lda, w, layout == Layout::InOut, bias, out, ldo, accumulate);
  check_launch("gemm");
}

}  // namespace k
}  // namespace cuda
}  // namespace dpzo
