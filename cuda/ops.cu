// defines: k::rms_norm, k::layer_norm, k::rope, k::silu_mul, k::activate, k::gather_rows (cuda/kernels.h):
// the row-wise and element-wise pieces of the forward, each the CPU kernel's formula (cpu/norms.cpp,
// cpu/rope.cpp, cpu/activations.cpp) with explicit roundings (the build uses --fmad=false).
#include "dpzo/config.h"
#include "kernels.h"
#include "launch.h"

namespace dpzo {
namespace cuda {
namespace k {
namespace {

constexpr int kThreads = 256;

// Σ over the block of one double per thread (blockDim.x == kThreads).
__device__ double block_sum(double v, double* shared) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s /= 2) {
    if (static_cast<int>(threadIdx.x) < s) shared[threadIdx.x] += shared[threadIdx.x + s];
    __syncthreads();
  }
  const double r = shared[0];
  __syncthreads();
  return r;
}

// block = (row, head): sub-row `head` of n floats in row `row`
__global__ void rms_norm_kernel(int64_t n, const float* x, int64_t ldx, Mat w, double eps, float* out, int64_t ldo,
                                int64_t heads) {
  __shared__ double sh[kThreads];
  const int64_t row = blockIdx.x / heads, head = blockIdx.x % heads;
  const float* xr = x + row * ldx + head * n;
  double s = 0;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) s += static_cast<double>(xr[i]) * xr[i];
  s = block_sum(s, sh);
  const float rstd = static_cast<float>(1.0 / sqrt(s / n + eps));
  float* o = out + row * ldo + head * n;
  for (int64_t i = threadIdx.x; i < n; i += kThreads)
    o[i] = __fmul_rn(__fmul_rn(xr[i], rstd), load_as_f32(w.data, w.dtype, i));
}

__global__ void layer_norm_kernel(int64_t n, const float* x, int64_t ldx, Mat w, Mat b, double eps, float* out,
                                  int64_t ldo) {
  __shared__ double sh[kThreads];
  const float* xr = x + blockIdx.x * ldx;
  double s = 0;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) s += xr[i];
  const double mean = block_sum(s, sh) / n;
  double v = 0;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) v += (xr[i] - mean) * (xr[i] - mean);
  v = block_sum(v, sh);
  const float m = static_cast<float>(mean), rstd = static_cast<float>(1.0 / sqrt(v / n + eps));
  float* o = out + blockIdx.x * ldo;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) {
    const float y = __fmul_rn(__fmul_rn(__fsub_rn(xr[i], m), rstd), load_as_f32(w.data, w.dtype, i));
    o[i] = b.data ? __fadd_rn(y, load_as_f32(b.data, b.dtype, i)) : y;
  }
}

// thread = (token, head, i < half): (a, b) → (a·c − b·s, b·c + a·s)
__global__ void rope_kernel(float* x, int64_t ld, int64_t T, const int32_t* pos, int64_t col0, int64_t n_heads,
                            int64_t half, const float* cs, const float* sn) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= T * n_heads * half) return;
  const int64_t i = idx % half, h = (idx / half) % n_heads, t = idx / (half * n_heads);
  float* a = x + t * ld + col0 + h * 2 * half;
  const float c = cs[pos[t] * half + i], s = sn[pos[t] * half + i];
  const float ai = a[i], bi = a[i + half];
  a[i] = __fsub_rn(__fmul_rn(ai, c), __fmul_rn(bi, s));
  a[i + half] = __fadd_rn(__fmul_rn(bi, c), __fmul_rn(ai, s));
}

__device__ float silu(float x) { return __fdiv_rn(x, __fadd_rn(1.0f, expf(-x))); }

__global__ void silu_mul_kernel(float* gate, const float* up, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) gate[i] = __fmul_rn(silu(gate[i]), up[i]);
}

__global__ void activate_kernel(int act, float* x, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float v = x[i];
  switch (static_cast<Activation>(act)) {
    case Activation::GELU_TANH: {
      const float u = 0.7978845608028654f * (v + 0.044715f * v * v * v);
      x[i] = 0.5f * v * (1.0f + tanhf(u));
      break;
    }
    case Activation::GELU:
      x[i] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
      break;
    case Activation::RELU:
      x[i] = v > 0.0f ? v : 0.0f;
      break;
    case Activation::SILU:
      x[i] = silu(v);
      break;
  }
}

__global__ void gather_kernel(const float* src, int64_t lds, const int64_t* which, int64_t R, int64_t n, float* dst) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= R * n) return;
  const int64_t r = i / n, c = i % n;
  dst[i] = src[which[r] * lds + c];
}

}  // namespace

void rms_norm(int64_t rows, int64_t n, const float* x, int64_t ldx, Mat w, double eps, float* out, int64_t ldo,
              int64_t heads) {
  if (rows <= 0) return;
  rms_norm_kernel<<<static_cast<unsigned>(rows * heads), kThreads>>>(n, x, ldx, w, eps, out, ldo, heads);
  check_launch("rms_norm");
}

void layer_norm(int64_t rows, int64_t n, const float* x, int64_t ldx, Mat w, Mat b, double eps, float* out,
                int64_t ldo) {
  if (rows <= 0) return;
  layer_norm_kernel<<<static_cast<unsigned>(rows), kThreads>>>(n, x, ldx, w, b, eps, out, ldo);
  check_launch("layer_norm");
}

void rope(float* x, int64_t ld, int64_t T, const int32_t* pos, int64_t col0, int64_t n_heads, int64_t head_dim,
          const float* cos, const float* sin) {
  const int64_t n = T * n_heads * (head_dim / 2);
  if (n <= 0) return;
  rope_kernel<<<grid_for(n, kThreads), kThreads>>>(x, ld, T, pos, col0, n_heads, head_dim / 2, cos, sin);
  check_launch("rope");
}

void silu_mul(float* gate, const float* up, int64_t n) {
  if (n <= 0) return;
  silu_mul_kernel<<<grid_for(n, kThreads), kThreads>>>(gate, up, n);
  check_launch("silu_mul");
}

void activate(int act, float* x, int64_t n) {
  if (n <= 0) return;
  activate_kernel<<<grid_for(n, kThreads), kThreads>>>(act, x, n);
  check_launch("activate");
}

void gather_rows(const float* src, int64_t lds, const int64_t* which, int64_t R, int64_t n, float* dst) {
  if (R * n <= 0) return;
  gather_kernel<<<grid_for(R * n, kThreads), kThreads>>>(src, lds, which, R, n, dst);
  check_launch("gather_rows");
}

}  // namespace k
}  // namespace cuda
}  // namespace dpzo
