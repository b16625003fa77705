// defines: k::init_random (cuda/kernels.h) — a random-initialised model built on the device (dpzo bench
// --random-init): one thread per element, grid-stride, the formula of dpzo/random_init.h (Philox, float32
// arithmetic with explicit roundings; this file is compiled with --fmad=false), so the bits equal the CPU's.
#include "dpzo/random_init.h"
#include "kernels.h"
#include "launch.h"

namespace dpzo {
namespace cuda {
namespace k {
namespace {

__global__ void init_kernel(void* dst, DType dt, InitKind kind, uint64_t seed, uint64_t first, int64_t n) {
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float v = init_value(kind, seed, first + static_cast<uint64_t>(e));
    if (dt == DType::F32)
      static_cast<float*>(dst)[e] = v;
    else
      static_cast<uint16_t*>(dst)[e] = dt == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
  }
}

}  // namespace

void init_random(void* dst, DType dt, int kind, uint64_t seed, uint64_t first, int64_t n) {
  if (n <= 0) return;
  constexpr int kThreads = 256;
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  init_kernel<<<static_cast<unsigned>(blocks < 65536 ? blocks : 65536), kThreads>>>(
      dst, dt, static_cast<InitKind>(kind), seed, first, n);
  check_launch("init_random");
}

}  // namespace k
}  // namespace cuda
}  // namespace dpzo
