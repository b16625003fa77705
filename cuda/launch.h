// defines: the small device-side helpers every kernel file of cuda/ shares (CUDA code only): the launch
// check, the grid size, and the load of one stored element as float32.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "dpzo/dtype.h"
#include "dpzo/errors.h"

namespace dpzo {
namespace cuda {

// Throws Error(ERR_DEVICE) naming the kernel when its launch failed (bad configuration, no device, a sticky
// error from an earlier kernel): never an abort.
inline void check_launch(const char* what) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) throw Error(err::kDevice, std::string("CUDA kernel ") + what + ": " + cudaGetErrorString(e));
}

inline unsigned grid_for(int64_t n, int threads) { return static_cast<unsigned>((n + threads - 1) / threads); }

__device__ __forceinline__ float load_f32(const void* p, DType dt, int64_t i) {
  if (dt == DType::F32) return static_cast<const float*>(p)[i];
  const uint16_t h = static_cast<const uint16_t*>(p)[i];
  return dt == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
}

}  // namespace cuda
}  // namespace dpzo
