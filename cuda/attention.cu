// defines: k::attention (cuda/kernels.h) — causal attention within each packed sequence, one warp per
// (query token, head), keys visited in order with an online softmax (running max and sum, Milakov &
// Gimelshein 2018), so no T×T score matrix exists anywhere. Lane j holds head elements j, j + 32, ...
// Measured on an H200 (OPT-1.3B shape, 16 × 128 tokens, bench/README.md): 0.58 ms per layer. Two variants that
// score 32 keys at a time (one key per lane) were slower there: reading a key row per lane from global memory
// (uncoalesced) made the forward 49 ms instead of 35, staging the 32 rows in shared memory first 42 ms instead
// of 31; a tiled flash-style kernel (many queries per block sharing K/V tiles) is what is left to try.
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

}  // namespace

void attention(const float* qkv, const Attention& a, int64_t t0, int64_t T, const int32_t* seq_start, float* out,
               int64_t ldo) {
  const int64_t warps = (T - t0) * a.n_heads;
  if (warps <= 0) return;
  attention_kernel<<<grid_for(warps, kWarps), kWarps * 32>>>(qkv, a, t0, T, seq_start, out, ldo);
  check_launch("attention");
}

}  // namespace k
}  // namespace cuda
}  // namespace dpzo
