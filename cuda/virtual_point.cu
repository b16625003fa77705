// defines: k::values_at, k::embed (cuda/kernels.h) — weights read at a virtual point θ + Σ_k c_k·z(s_k)
// (ARCHITECTURE §2 "Exactness in every dtype") without writing θ: acc = w as float32, then acc = fma(c_k,
// z_k, acc) for k ascending, z from dpzo/philox.h (the host and device share it), compiled with
// --fmad=false: the float32 chain of the CPU's values_at (cpu/virtual_point.cpp) and of the update.
#include "dpzo/philox.h"
#include "kernels.h"
#include "launch.h"

namespace dpzo {
namespace cuda {
namespace k {
namespace {

constexpr int kThreads = 256;

// One thread per Philox block b (four consecutive global indices) that meets [g0, g0 + n).
__global__ void values_at_kernel(const void* src, DType dt, uint64_t g0, int64_t n, const uint64_t* seeds,
                                 const float* coeffs, int n_pairs, float* out) {
  const uint64_t b = (g0 >> 2) + static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const uint64_t g_end = g0 + static_cast<uint64_t>(n);
  if (4 * b >= g_end) return;
  const uint64_t lo = 4 * b > g0 ? 4 * b : g0, hi = 4 * b + 4 < g_end ? 4 * b + 4 : g_end;
  float acc[4];
  for (uint64_t g = lo; g < hi; ++g) acc[g - 4 * b] = load_f32(src, dt, static_cast<int64_t>(g - g0));
  for (int k = 0; k < n_pairs; ++k) {
    float z[4];
    direction_block(seeds[k], b, z);
    for (uint64_t g = lo; g < hi; ++g) acc[g - 4 * b] = fma32(coeffs[k], z[g - 4 * b], acc[g - 4 * b]);
  }
  for (uint64_t g = lo; g < hi; ++g) out[g - g0] = acc[g - 4 * b];
}

// One thread per output element; at a point each element generates its own Philox block (4× the
// generator's work for the T·dim elements an embedding touches: small beside the trunk).
__global__ void embed_kernel(const int32_t* ids, int64_t T, int64_t add_offset, Mat table, int64_t dim, float* out,
                             bool accumulate, uint64_t g0, const uint64_t* seeds, const float* coeffs, int n_pairs) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= T * dim) return;
  const int64_t t = i / dim, c = i % dim;
  const int64_t e = (static_cast<int64_t>(ids[t]) + add_offset) * dim + c;
  float v = load_f32(table.data, table.dtype, e);
  if (n_pairs > 0) {
    const uint64_t g = g0 + static_cast<uint64_t>(e);
    for (int k = 0; k < n_pairs; ++k) {
      float z[4];
      direction_block(seeds[k], g >> 2, z);
      v = fma32(coeffs[k], z[g & 3], v);
    }
  }
  out[i] = accumulate ? __fadd_rn(out[i], v) : v;
}

}  // namespace

void values_at(const void* src, DType dt, uint64_t g0, int64_t n, const uint64_t* seeds, const float* coeffs,
               int n_pairs, float* out) {
  if (n <= 0) return;
  const int64_t blocks = static_cast<int64_t>(((g0 + static_cast<uint64_t>(n) - 1) >> 2) - (g0 >> 2) + 1);
  values_at_kernel<<<grid_for(blocks, kThreads), kThreads>>>(src, dt, g0, n, seeds, coeffs, n_pairs, out);
  check_launch("values_at");
}

void embed(const int32_t* ids, int64_t T, int64_t add_offset, Mat table, int64_t dim, float* out, bool accumulate,
           uint64_t g0, const uint64_t* seeds, const float* coeffs, int n_pairs) {
  if (T * dim <= 0) return;
  embed_kernel<<<grid_for(T * dim, kThreads), kThreads>>>(ids, T, add_offset, table, dim, out, accumulate, g0, seeds,
                                                          coeffs, n_pairs);
  check_launch("embed");
}

}  // namespace k
}  // namespace cuda
}  // namespace dpzo
