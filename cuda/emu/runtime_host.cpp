// defines: a host stand-in for cuda_backend.h (device memory = host memory, the update = the CPU's
// axpy_directions), so that cuda/backend.cpp, cuda/device_weights.cpp and cuda/forward.cpp can be built
// and run on a machine without a GPU (target dpzo_check_emu, CMakeLists.txt). It tests the CUDA
// backend's host code — buffer sizes, offsets, pointer translation, chunking, tiling, the virtual-point
// logic — against the CPU backend; the .cu kernels themselves run only on a GPU (bench/gpu/run.sh).
#include <cstdlib>
#include <cstring>
#include <string>

#include "cuda_backend.h"
#include "dpzo/errors.h"
#include "dpzo/perturb.h"
#include "dpzo/thread_pool.h"

namespace dpzo {
namespace cuda {

int device_count() noexcept { return 1; }
bool available() noexcept { return true; }
std::string device_name() { return "host emulation (no GPU)"; }
std::vector<DeviceInfo> device_list() noexcept { return {DeviceInfo{device_name(), 0}}; }
void use_device(int index) {
  if (index != 0) throw Error(err::kDevice, "emulated device: only device 0 exists");
}

void* device_alloc(size_t bytes) {
  void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!p) throw Error(err::kDevice, "emulated device: out of memory");
  return p;
}
void device_free(void* p) noexcept { std::free(p); }
void copy_to_device(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void copy_to_host(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void copy_device_to_device(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void synchronize() {}

void axpy_directions(const std::vector<Segment>& segs, const uint64_t* seeds, const float* coeffs, int n_pairs,
                     float decay, const uint64_t* round_key) {
  ThreadPool pool(1);
  dpzo::axpy_directions(segs, seeds, coeffs, n_pairs, pool, decay, round_key);
}

void fill_direction(uint64_t seed, uint64_t g0, int64_t count, float* out_device) {
  dpzo::fill_direction(seed, g0, count, out_device);
}

}  // namespace cuda
}  // namespace dpzo
