// defines: k::values_at, k::embed (cuda/kernels.h) — weights read at a virtual point θ + Σ_k c_k·z(s_k)
// (ARCHITECTURE §2 "Exactness in every dtype") without writing θ: acc = w as float32, then acc = fma(c_k,
// z_k, acc) for k ascending, z from dpzo/philox.h (the host and device share it), compiled with
// --fmad=false: the float32 chain of the CPU's values_at (cpu/virtual_point.cpp) and of the update.
#include "block_io.h"
#include "dpzo/block_split.h"
#include "dpzo/philox.h"
#include "kernels.h"
#include "launch.h"

namespace dpzo {
namespace cuda {
namespace k {
namespace {

constexpr int kThreads = 256;
constexpr int kBlocksPerThread = 4;
constexpr int64_t kTileBlocks = int64_t{kThreads} * kBlocksPerThread;

// This thread's whole blocks of [b_begin, b_end) (strided by the CUDA block's width: each warp access is
// contiguous), kBlocksPerThread of them in registers; out-of-range blocks computed, not stored.
template <int DT>
__device__ __forceinline__ void values_blocks(const void* src, bool src_vec, uint64_t g0, uint64_t b_begin,
                                              uint64_t b_end, const uint64_t* seeds, const float* coeffs, int n_pairs,
                                              float* out, bool out_vec) {
  float a[kBlocksPerThread][4];
  uint64_t b[kBlocksPerThread];
  whole_blocks_at_point<DT, kBlocksPerThread, kThreads>(src, g0, src_vec, b_begin, b_end, seeds, coeffs, n_pairs, a, b);
#pragma unroll
  for (int j = 0; j < kBlocksPerThread; ++j)
    if (b[j] < b_end) store_block<kF32, false>(out, static_cast<int64_t>(4 * b[j] - g0), out_vec, a[j], 0, 0);
}

// The elements [g_lo, g_hi) of block b (a partial block at the range's edge).
__device__ void values_partial(const void* src, DType dt, uint64_t g0, uint64_t b, uint64_t g_lo, uint64_t g_hi,
                               const uint64_t* seeds, const float* coeffs, int n_pairs, float* out) {
  float a[4];
  partial_block_at_point(src, dt, g0, b, g_lo, g_hi, seeds, coeffs, n_pairs, a);
#pragma unroll
  for (int e = 0; e < 4; ++e) {
    const uint64_t g = 4 * b + e;
    if (g >= g_lo && g < g_hi) out[g - g0] = a[e];
  }
}

// One CUDA block per tile of whole Philox blocks of [g0, g0 + n) (dpzo/block_split.h); tile 0 also does
// the at most two partial blocks.
__global__ void __launch_bounds__(kThreads)
    values_at_kernel(const void* src, DType dt, uint64_t g0, int64_t n, const uint64_t* seeds, const float* coeffs,
                     int n_pairs, float* out, bool src_vec, bool out_vec) {
  const BlockSplit sp = split_blocks(g0, n);
  const int64_t t = blockIdx.x;
  const TileRange r = tile_range(sp, kTileBlocks, t);
  if (r.end > r.begin) {
    if (dt == DType::F32)
      values_blocks<kF32>(src, src_vec, g0, r.begin, r.end, seeds, coeffs, n_pairs, out, out_vec);
    else if (dt == DType::BF16)
      values_blocks<kBF16>(src, src_vec, g0, r.begin, r.end, seeds, coeffs, n_pairs, out, out_vec);
    else
      values_blocks<kF16>(src, src_vec, g0, r.begin, r.end, seeds, coeffs, n_pairs, out, out_vec);
  }
  if (t == 0 && threadIdx.x == 0 && sp.head > 0)
    values_partial(src, dt, g0, sp.full_begin - 1, g0, g0 + static_cast<uint64_t>(sp.head), seeds, coeffs, n_pairs,
                   out);
  if (t == 0 && threadIdx.x == 1 && sp.tail > 0)
    values_partial(src, dt, g0, sp.full_end, 4 * sp.full_end, 4 * sp.full_end + static_cast<uint64_t>(sp.tail), seeds,
                   coeffs, n_pairs, out);
}

// One thread per output element; at a point each element generates its own Philox block (4× the
// generator's work for the T·dim elements an embedding touches: small beside the trunk).
__global__ void embed_kernel(const int32_t* ids, int64_t T, int64_t add_offset, Mat table, int64_t dim, float* out,
                             bool accumulate, uint64_t g0, const uint64_t* seeds, const float* coeffs, int n_pairs) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= T * dim) return;
  const int64_t t = i / dim, c = i % dim;
  const int64_t e = (static_cast<int64_t>(ids[t]) + add_offset) * dim + c;
  float v = load_as_f32(table.data, table.dtype, e);
  if (n_pairs > 0) {
    const uint64_t g = g0 + static_cast<uint64_t>(e);
    for (int k = 0; k < n_pairs; ++k) {
      float z[4];
      direction_block(seeds[k], g >> 2, z);
      const uint32_t j = static_cast<uint32_t>(g & 3);  // selects, not a runtime-indexed (local-memory) array
      v = fma32(coeffs[k], j == 0 ? z[0] : j == 1 ? z[1] : j == 2 ? z[2] : z[3], v);
    }
  }
  out[i] = accumulate ? __fadd_rn(out[i], v) : v;
}

}  // namespace

void values_at(const void* src, DType dt, uint64_t g0, int64_t n, const uint64_t* seeds, const float* coeffs,
               int n_pairs, float* out) {
  if (n <= 0) return;
  const BlockSplit sp = split_blocks(g0, static_cast<int64_t>(n));
  // 16-byte (F32) / 8-byte (F16, BF16) accesses when the first whole block's element is so aligned
  const uintptr_t first = static_cast<uintptr_t>(4 * sp.full_begin - g0);
  const uintptr_t es = dtype_size(dt);
  const bool src_vec = (reinterpret_cast<uintptr_t>(src) + first * es) % (4 * es) == 0;
  const bool out_vec = (reinterpret_cast<uintptr_t>(out) + first * 4) % 16 == 0;
  const int64_t tiles = tile_count(sp, kTileBlocks);
  values_at_kernel<<<static_cast<unsigned>(tiles), kThreads>>>(src, dt, g0, n, seeds, coeffs, n_pairs, out, src_vec,
                                                               out_vec);
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
