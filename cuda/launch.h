// defines: the small device-side helpers every kernel file of cuda/ shares (CUDA code only): the launch
// check, the check of a runtime call and the grid size (an element as float32: load_as_f32 of dpzo/dtype.h).
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

// Throws Error(ERR_DEVICE) naming the runtime call when `e` (its result) is an error. The runtime also keeps
// that error as its "last error" until cudaGetLastError reads it, and check_launch reads exactly that: left
// there, a handled failure (an out-of-memory the caller catches, as the tensor path's fallback does, or a
// user's retry with a smaller batch) would fail the next kernel launch that itself went well. So it is
// cleared first (a sticky error, one that spoils the context, stays and fails every later call anyway).
inline void check_call(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  cudaGetLastError();
  throw Error(err::kDevice, std::string("CUDA ") + what + ": " + cudaGetErrorString(e));
}

inline unsigned grid_for(int64_t n, int threads) { return static_cast<unsigned>((n + threads - 1) / threads); }

}  // namespace cuda
}  // namespace dpzo
