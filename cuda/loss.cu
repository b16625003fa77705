// defines: k::lse_tile, k::lse_finish (cuda/kernels.h) — the fused loss's log-sum-exp over vocabulary
// tiles: the head's logits exist one tile (R × cols) at a time; each tile's max and Σexp(z − max) merge
// into a running pair per row, so the full (R, V) logit matrix is never held (cuda/forward.cpp drives it).
#include "kernels.h"
#include "launch.h"

namespace dpzo {
namespace cuda {
namespace k {
namespace {

constexpr int kThreads = 256;

__global__ void lse_tile_kernel(const float* logits, int64_t cols, int64_t v0, const int32_t* labels, float* row_max,
                                double* row_sum, float* target, bool first) {
  __shared__ float shm[kThreads];
  __shared__ double shs[kThreads];
  const int64_t r = blockIdx.x;
  const float* z = logits + r * cols;
  float m = -INFINITY;
  for (int64_t i = threadIdx.x; i < cols; i += kThreads) m = fmaxf(m, z[i]);
  shm[threadIdx.x] = m;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s /= 2) {
    if (static_cast<int>(threadIdx.x) < s) shm[threadIdx.x] = fmaxf(shm[threadIdx.x], shm[threadIdx.x + s]);
    __syncthreads();
  }
  const float tile_max = shm[0];
  double s = 0;
  for (int64_t i = threadIdx.x; i < cols; i += kThreads) s += exp(static_cast<double>(z[i]) - tile_max);
  shs[threadIdx.x] = s;
  __syncthreads();
  for (int h = kThreads / 2; h > 0; h /= 2) {
    if (static_cast<int>(threadIdx.x) < h) shs[threadIdx.x] += shs[threadIdx.x + h];
    __syncthreads();
  }
  if (threadIdx.x != 0) return;
  const double tile_sum = shs[0];
  if (first) {
    row_max[r] = tile_max;
    row_sum[r] = tile_sum;
  } else {
    const float m_new = fmaxf(row_max[r], tile_max);
    row_sum[r] = row_sum[r] * exp(static_cast<double>(row_max[r]) - m_new) +
                 tile_sum * exp(static_cast<double>(tile_max) - m_new);
    row_max[r] = m_new;
  }
  const int64_t l = labels[r];
  if (l >= v0 && l < v0 + cols) target[r] = z[l - v0];
}

__global__ void lse_finish_kernel(const float* row_max, const double* row_sum, const float* target, int64_t R,
                                  double* nll) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r < R) nll[r] = static_cast<double>(row_max[r]) + log(row_sum[r]) - static_cast<double>(target[r]);
}

}  // namespace

void lse_tile(const float* logits, int64_t R, int64_t cols, int64_t v0, const int32_t* labels, float* row_max,
              double* row_sum, float* target, bool first) {
  if (R <= 0) return;
  lse_tile_kernel<<<static_cast<unsigned>(R), kThreads>>>(logits, cols, v0, labels, row_max, row_sum, target, first);
  check_launch("lse_tile");
}

void lse_finish(const float* row_max, const double* row_sum, const float* target, int64_t R, double* nll) {
  if (R <= 0) return;
  lse_finish_kernel<<<grid_for(R, kThreads), kThreads>>>(row_max, row_sum, target, R, nll);
  check_launch("lse_finish");
}

}  // namespace k
}  // namespace cuda
}  // namespace dpzo
