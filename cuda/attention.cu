// defines: k::attention (cuda/kernels.h) — causal attention within each packed sequence with an online
// softmax (running max and sum, Milakov & Gimelshein 2018), so no T×T score matrix exists anywhere. Two kernels
// (cuda/attention_plan.h picks one by DPZO_CUDA_ATTENTION):
// - warp (default): one warp per (query token, head), keys visited in order; lane j holds head elements j,
//   j + 32, ... Measured on an H200 (OPT-1.3B shape, 16 × 128 tokens, bench/README.md): 0.58 ms per layer, a
//   quarter of the forward. Two variants that score 32 keys at a time (one key per lane) were slower there:
//   reading a key row per lane from global memory (uncoalesced) made the forward 49 ms instead of 35, staging
//   the 32 rows in shared memory first 42 ms instead of 31.
// - tiled (opt-in, not yet measured on a GPU): a block per 32 query rows and head; the rows share each tile of
//   32 key and value rows, loaded once into shared memory (coalesced) instead of once per query row; four
//   threads per query row, each scoring 8 keys of the tile and owning a quarter of the row's output.
#include <cstdlib>

#include "attention_plan.h"
#include "kernels.h"
#include "launch.h"

namespace dpzo {
namespace cuda {
namespace k {
namespace {

constexpr int kWarps = 4, kPerLane = kMaxHeadDim / 32;

__global__ void attention_kernel(const float* __restrict__ qkv, Attention a, int64_t t0, int64_t T,
                                 const int32_t* __restrict__ seq_start, float* __restrict__ out, int64_t ldo) {
  const int64_t w = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (w >= (T - t0) * a.n_heads) return;
  const int64_t t = t0 + w / a.n_heads, h = w % a.n_heads;
  const int64_t kvh = h / (a.n_heads / a.n_kv_heads), dh = a.head_dim;
  const float* q = qkv + t * a.ld + a.q_col + h * dh;
  float qv[kPerLane], acc[kPerLane];
#pragma unroll
  for (int j = 0; j < kPerLane; ++j) {
    const int64_t i = lane + 32 * j;
    qv[j] = i < dh ? q[i] : 0.0f;
    acc[j] = 0.0f;
  }
  float run_max = -INFINITY, run_sum = 0.0f;
  for (int64_t s = seq_start[t]; s <= t; ++s) {
    const float* kr = qkv + s * a.ld + a.k_col + kvh * dh;
    float d = 0.0f;
#pragma unroll
    for (int j = 0; j < kPerLane; ++j) {
      const int64_t i = lane + 32 * j;
      if (i < dh) d = __fmaf_rn(qv[j], kr[i], d);
    }
    for (int off = 16; off > 0; off /= 2) d = __fadd_rn(d, __shfl_xor_sync(0xffffffffu, d, off));
    const float score = __fmul_rn(d, a.scale);
    const float new_max = fmaxf(run_max, score);
    const float corr = expf(run_max - new_max), p = expf(score - new_max);  // corr = 0 on the first key
    run_sum = __fmaf_rn(run_sum, corr, p);
    const float* vr = qkv + s * a.ld + a.v_col + kvh * dh;
#pragma unroll
    for (int j = 0; j < kPerLane; ++j) {
      const int64_t i = lane + 32 * j;
      if (i < dh) acc[j] = __fmaf_rn(p, vr[i], __fmul_rn(acc[j], corr));
    }
    run_max = new_max;
  }
  float* o = out + (t - t0) * ldo + h * dh;
#pragma unroll
  for (int j = 0; j < kPerLane; ++j) {
    const int64_t i = lane + 32 * j;
    if (i < dh) o[i] = __fdiv_rn(acc[j], run_sum);
  }
}

static_assert(kTiledMaxHeadDim == 128, "attention() launches the tiled kernel for heads up to 64 or 128");

// The tiled kernel's shapes: kTileQ query rows and kTileK key rows a block, four threads a query row.
constexpr int kTileQ = 32, kTileK = 32, kTiledThreads = 4 * kTileQ, kKeysPerThread = kTileK / 4;

// Floats of shared memory of the tiled kernel for heads up to DH: Q (kTileQ × DH+1), K (kTileK × DH+1),
// V (kTileK × DH) and the tile's probabilities P (kTileQ × kTileK+1). The +1 rows keep the 8 query rows (and
// 4 key rows) a warp reads at one column in distinct banks.
template <int DH>
constexpr int tiled_floats() {
  return kTileQ * (DH + 1) + kTileK * (DH + 1) + kTileK * DH + kTileQ * (kTileK + 1);
}

template <int DH>
__global__ void __launch_bounds__(kTiledThreads)
    attention_tiled_kernel(const float* __restrict__ qkv, Attention a, int64_t t0, int64_t T,
                           const int32_t* __restrict__ seq_start, float* __restrict__ out, int64_t ldo) {
  constexpr int QP = DH + 1, KP = DH + 1, VP = DH, PP = kTileK + 1;
  extern __shared__ float smem[];
  float* Qs = smem;
  float* Ks = Qs + kTileQ * QP;
  float* Vs = Ks + kTileK * KP;
  float* Ps = Vs + kTileK * VP;
  const int tid = threadIdx.x, r = tid / 4, c = tid % 4;  // the four threads of a row are lanes 4r..4r+3 of a warp
  const int64_t h = blockIdx.y, kvh = h / (a.n_heads / a.n_kv_heads), dh = a.head_dim;
  const int64_t q0 = t0 + static_cast<int64_t>(blockIdx.x) * kTileQ;
  const int64_t q_last = (q0 + kTileQ < T ? q0 + kTileQ : T) - 1;
  const int64_t t = q0 + r;
  const bool row_on = t < T;
  const int64_t row_first = row_on ? seq_start[t] : 0;
  for (int i = tid; i < kTileQ * DH; i += kTiledThreads) {
    const int rr = i / DH, d = i % DH;
    const int64_t tt = q0 + rr;
    Qs[rr * QP + d] = (tt < T && d < dh) ? qkv[tt * a.ld + a.q_col + h * dh + d] : 0.0f;
  }
  float acc[DH / 4];
#pragma unroll
  for (int i = 0; i < DH / 4; ++i) acc[i] = 0.0f;
  float run_max = -INFINITY, run_sum = 0.0f;
  // sequences are packed in order, so the first row's sequence starts first: keys from there to the last row
  for (int64_t s0 = seq_start[q0]; s0 <= q_last; s0 += kTileK) {
    __syncthreads();  // the previous tile is no longer read
    for (int i = tid; i < kTileK * DH; i += kTiledThreads) {
      const int j = i / DH, d = i % DH;
      const int64_t s = s0 + j;
      const bool on = s <= q_last && d < dh;
      Ks[j * KP + d] = on ? qkv[s * a.ld + a.k_col + kvh * dh + d] : 0.0f;
      Vs[j * VP + d] = on ? qkv[s * a.ld + a.v_col + kvh * dh + d] : 0.0f;
    }
    __syncthreads();
    // scores of keys c, c + 4, ..., c + 28 of the tile: one query element read per 8 fmas
    float dot[kKeysPerThread];
#pragma unroll
    for (int m = 0; m < kKeysPerThread; ++m) dot[m] = 0.0f;
    for (int d = 0; d < dh; ++d) {
      const float q = Qs[r * QP + d];
#pragma unroll
      for (int m = 0; m < kKeysPerThread; ++m) dot[m] = __fmaf_rn(q, Ks[(c + 4 * m) * KP + d], dot[m]);
    }
    float tile_max = -INFINITY;
#pragma unroll
    for (int m = 0; m < kKeysPerThread; ++m) {
      const int64_t s = s0 + c + 4 * m;
      dot[m] = (row_on && s >= row_first && s <= t) ? __fmul_rn(dot[m], a.scale) : -INFINITY;
      tile_max = fmaxf(tile_max, dot[m]);
    }
    tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
    tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 2));
    const float new_max = fmaxf(run_max, tile_max);
    // a row none of whose keys is in this tile (or any before it) keeps sum 0 and no output
    const bool none = new_max == -INFINITY;
    const float corr = none ? 1.0f : expf(run_max - new_max);  // 0 on the row's first keys
    float tile_sum = 0.0f;
#pragma unroll
    for (int m = 0; m < kKeysPerThread; ++m) {
      const float p = dot[m] == -INFINITY ? 0.0f : expf(dot[m] - new_max);
      Ps[r * PP + c + 4 * m] = p;
      tile_sum = __fadd_rn(tile_sum, p);
    }
    tile_sum = __fadd_rn(tile_sum, __shfl_xor_sync(0xffffffffu, tile_sum, 1));
    tile_sum = __fadd_rn(tile_sum, __shfl_xor_sync(0xffffffffu, tile_sum, 2));
    run_sum = __fmaf_rn(run_sum, corr, tile_sum);
    run_max = new_max;
    __syncwarp();  // the row's probabilities, written by its four threads (one warp), are read by all four
#pragma unroll
    for (int i = 0; i < DH / 4; ++i) acc[i] = __fmul_rn(acc[i], corr);
    for (int j = 0; j < kTileK; ++j) {
      const float p = Ps[r * PP + j];
#pragma unroll
      for (int i = 0; i < DH / 4; ++i) acc[i] = __fmaf_rn(p, Vs[j * VP + c + 4 * i], acc[i]);
    }
  }
  if (!row_on) return;
  float* o = out + (t - t0) * ldo + h * dh;
#pragma unroll
  for (int i = 0; i < DH / 4; ++i) {
    const int64_t d = c + 4 * i;
    if (d < dh) o[d] = __fdiv_rn(acc[i], run_sum);
  }
}

template <int DH>
void launch_tiled(const float* qkv, const Attention& a, int64_t t0, int64_t T, const int32_t* seq_start, float* out,
                  int64_t ldo) {
  constexpr size_t bytes = sizeof(float) * tiled_floats<DH>();
  // more than the 48 KiB a kernel gets without asking (DH = 128: 53.6 KiB); every target (sm_80+) allows it. Asked
  // at every launch, not once per process: the attribute is the kernel's on the current device only, so a process
  // that ran on cuda:0 would launch on cuda:1 unasked (a launch error); the call costs microseconds beside the kernel
  if (bytes > 48 * 1024)
    check_call(cudaFuncSetAttribute(attention_tiled_kernel<DH>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    static_cast<int>(bytes)),
               "kernel attention (tiled): cudaFuncSetAttribute");
  const dim3 grid(grid_for(T - t0, kTileQ), static_cast<unsigned>(a.n_heads));
  attention_tiled_kernel<DH><<<grid, kTiledThreads, bytes>>>(qkv, a, t0, T, seq_start, out, ldo);
  check_launch("attention (tiled)");
}

AttentionKernel chosen_kernel() {
  // parsed at the first forward; a bad value throws there (and at every later call: a throwing static init is retried)
  static const AttentionKernel k = parse_attention_kernel(std::getenv("DPZO_CUDA_ATTENTION"));
  return k;
}

}  // namespace

void attention(const float* qkv, const Attention& a, int64_t t0, int64_t T, const int32_t* seq_start, float* out,
               int64_t ldo) {
  const int64_t rows = T - t0;
  if (rows <= 0) return;
  if (use_tiled_attention(chosen_kernel(), a.head_dim, rows)) {
    if (a.head_dim <= 64)
      launch_tiled<64>(qkv, a, t0, T, seq_start, out, ldo);
    else
      launch_tiled<128>(qkv, a, t0, T, seq_start, out, ldo);
    return;
  }
  const int64_t warps = rows * a.n_heads;
  attention_kernel<<<grid_for(warps, kWarps), kWarps * 32>>>(qkv, a, t0, T, seq_start, out, ldo);
  check_launch("attention");
}

}  // namespace k
}  // namespace cuda
}  // namespace dpzo
