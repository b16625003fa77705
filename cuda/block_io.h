// defines: load_block, store_block, whole_blocks_at_point, partial_block_at_point — the four elements of one whole
// Philox block (ARCHITECTURE §2: block b = global elements 4b .. 4b+3) moved between memory of a stored dtype and
// float32 registers, with one 16-byte (F32) or 8-byte (F16, BF16) access when `vec` (the host checked the alignment),
// else four element accesses. F16/BF16 stores round to nearest, or stochastically with the four rounding words of block
// b from one Philox call (dpzo/stochastic_round.h). CUDA code only (the fast paths of cuda/philox_perturb.cu and
// cuda/virtual_point.cu); the arithmetic is dpzo/dtype.h's. The *_at_point helpers move blocks to θ + Σ_k c_k z(s_k) in
// float32 (fma, k ascending: ARCHITECTURE §2), the one chain the update, values_at and the tensor path's split share.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "dpzo/dtype.h"
#include "dpzo/philox.h"
#include "dpzo/stochastic_round.h"

namespace dpzo {
namespace cuda {

constexpr int kF32 = static_cast<int>(DType::F32), kF16 = static_cast<int>(DType::F16),
              kBF16 = static_cast<int>(DType::BF16);

// a[0..3] = elements i .. i+3 of `base` (dtype DT) as float32
template <int DT>
__device__ __forceinline__ void load_block(const void* base, int64_t i, bool vec, float a[4]) {
  if (DT == kF32) {
    const float* p = static_cast<const float*>(base) + i;
    if (vec) {
      const float4 v = *reinterpret_cast<const float4*>(p);
      a[0] = v.x, a[1] = v.y, a[2] = v.z, a[3] = v.w;
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) a[j] = p[j];
    }
  } else {
    const uint16_t* p = static_cast<const uint16_t*>(base) + i;
    uint16_t h[4];
    if (vec) {
      const uint2 v = *reinterpret_cast<const uint2*>(p);
      h[0] = static_cast<uint16_t>(v.x), h[1] = static_cast<uint16_t>(v.x >> 16);
      h[2] = static_cast<uint16_t>(v.y), h[3] = static_cast<uint16_t>(v.y >> 16);
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) h[j] = p[j];
    }
#pragma unroll
    for (int j = 0; j < 4; ++j) a[j] = DT == kF16 ? f16_to_f32(h[j]) : bf16_to_f32(h[j]);
  }
}

// elements i .. i+3 of `base` (dtype DT) = a[0..3]; with SR (F16/BF16 only) element 4b+j is rounded with
// word j of rounding_block(round_key, b)
template <int DT, bool SR>
__device__ __forceinline__ void store_block(void* base, int64_t i, bool vec, const float a[4], uint64_t round_key,
                                            uint64_t b) {
  if (DT == kF32) {
    float* p = static_cast<float*>(base) + i;
    if (vec) {
      *reinterpret_cast<float4*>(p) = make_float4(a[0], a[1], a[2], a[3]);
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) p[j] = a[j];
    }
  } else {
    uint16_t h[4];
    if (SR) {
      uint32_t w[4];
      rounding_block(round_key, b, w);
#pragma unroll
      for (int j = 0; j < 4; ++j) h[j] = DT == kF16 ? f32_to_f16_sr(a[j], w[j]) : f32_to_bf16_sr(a[j], w[j]);
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) h[j] = DT == kF16 ? f32_to_f16(a[j]) : f32_to_bf16(a[j]);
    }
    uint16_t* p = static_cast<uint16_t*>(base) + i;
    if (vec) {
      *reinterpret_cast<uint2*>(p) =
          make_uint2(h[0] | (static_cast<uint32_t>(h[1]) << 16), h[2] | (static_cast<uint32_t>(h[3]) << 16));
    } else {
#pragma unroll
      for (int j = 0; j < 4; ++j) p[j] = h[j];
    }
  }
}

// a[e] += Σ_k c_k z_e(s_k, b), k ascending (z: the four directions of Philox block b)
__device__ __forceinline__ void add_directions(uint64_t b, const uint64_t* seeds, const float* coeffs, int n_pairs,
                                               float a[4]) {
  for (int k = 0; k < n_pairs; ++k) {
    float z[4];
    direction_block(seeds[k], b, z);
#pragma unroll
    for (int e = 0; e < 4; ++e) a[e] = fma32(coeffs[k], z[e], a[e]);
  }
}

// This thread's NB whole blocks of [b_begin, b_end): b[j] = b_begin + threadIdx.x + j·STRIDE (STRIDE = the
// CUDA block's width, so each warp access is contiguous), read from `src` (dtype DT, element 4b − g0) and
// moved to the point in a[j]. Blocks past b_end are zeros, computed and not to be stored: the generator stays
// straight-line.
template <int DT, int NB, int STRIDE>
__device__ __forceinline__ void whole_blocks_at_point(const void* src, uint64_t g0, bool vec, uint64_t b_begin,
                                                      uint64_t b_end, const uint64_t* seeds, const float* coeffs,
                                                      int n_pairs, float (&a)[NB][4], uint64_t (&b)[NB]) {
#pragma unroll
  for (int j = 0; j < NB; ++j) {
    b[j] = b_begin + threadIdx.x + static_cast<uint64_t>(j) * STRIDE;
    if (b[j] < b_end) {
      load_block<DT>(src, static_cast<int64_t>(4 * b[j] - g0), vec, a[j]);
    } else {
#pragma unroll
      for (int e = 0; e < 4; ++e) a[j][e] = 0.0f;
    }
  }
  for (int k = 0; k < n_pairs; ++k) {
    const uint64_t seed = seeds[k];
    const float c = coeffs[k];
#pragma unroll
    for (int j = 0; j < NB; ++j) {
      float z[4];
      direction_block(seed, b[j], z);
#pragma unroll
      for (int e = 0; e < 4; ++e) a[j][e] = fma32(c, z[e], a[j][e]);
    }
  }
}

// The elements [g_lo, g_hi) of block b of a tensor whose element 0 is global index g0 (dtype dt at run time),
// moved to the point in a[4]; the block's other elements are zeros, not to be stored.
__device__ __forceinline__ void partial_block_at_point(const void* src, DType dt, uint64_t g0, uint64_t b,
                                                       uint64_t g_lo, uint64_t g_hi, const uint64_t* seeds,
                                                       const float* coeffs, int n_pairs, float a[4]) {
#pragma unroll
  for (int e = 0; e < 4; ++e) {
    const uint64_t g = 4 * b + e;
    a[e] = g >= g_lo && g < g_hi ? load_as_f32(src, dt, static_cast<int64_t>(g - g0)) : 0.0f;
  }
  add_directions(b, seeds, coeffs, n_pairs, a);
}

}  // namespace cuda
}  // namespace dpzo
