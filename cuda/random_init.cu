// defines: k::init_random (cuda/kernels.h) — a random-initialised model built on the device (dpzo bench
// --random-init): one thread per Philox block (four elements), grid-stride, the formula of dpzo/random_init.h (Philox,
// float32 arithmetic with explicit roundings; this file is compiled with --fmad=false), so the bits equal the CPU's.
#include "dpzo/random_init.h"
#include "kernels.h"
#include "launch.h"

namespace dpzo {
namespace cuda {
namespace k {
namespace {

// Grid-stride over the Philox blocks that meet [first, first + n): one init_block (one Philox call) per
// four elements, where one init_value per element would repeat the call four times.
__global__ void init_kernel(void* dst, DType dt, InitKind kind, uint64_t seed, uint64_t first, int64_t n) {
  const uint64_t end = first + static_cast<uint64_t>(n), b_end = ((end - 1) >> 2) + 1;
  for (uint64_t b = (first >> 2) + blockIdx.x * static_cast<uint64_t>(blockDim.x) + threadIdx.x; b < b_end;
       b += static_cast<uint64_t>(gridDim.x) * blockDim.x) {
    float v[4];
    init_block(kind, seed, b, v);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const uint64_t g = 4 * b + static_cast<uint64_t>(j);
      if (g < first || g >= end) continue;
      const int64_t e = static_cast<int64_t>(g - first);
      if (dt == DType::F32)
        static_cast<float*>(dst)[e] = v[j];
      else
        static_cast<uint16_t*>(dst)[e] = dt == DType::BF16 ? f32_to_bf16(v[j]) : f32_to_f16(v[j]);
    }
  }
}

}  // namespace

void init_random(void* dst, DType dt, int kind, uint64_t seed, uint64_t first, int64_t n) {
  if (n <= 0) return;
  constexpr int kThreads = 256;
  const int64_t blocks = (n / 4 + 1 + kThreads) / kThreads;  // threads for the Philox blocks (at most n/4 + 2)
  init_kernel<<<static_cast<unsigned>(blocks < 65536 ? blocks : 65536), kThreads>>>(
      dst, dt, static_cast<InitKind>(kind), seed, first, n);
  check_launch("init_random");
}

}  // namespace k
}  // namespace cuda
}  // namespace dpzo
