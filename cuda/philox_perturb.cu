// defines: dpzo::cuda::axpy_directions, fill_direction, available and the
// device-memory helpers of cuda_backend.h. One thread per Philox block (four
// direction elements) of every segment, all segments in one launch; the
// arithmetic is dpzo/philox.h's, compiled with --fmad=false and explicit
// __fmaf_rn/__fmul_rn/__fadd_rn/__fsqrt_rn, so the bits equal the CPU's.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "cuda_backend.h"
#include "dpzo/errors.h"
#include "dpzo/philox.h"
#include "dpzo/stochastic_round.h"

namespace dpzo {
namespace cuda {
namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(err::kDevice, std::string("CUDA ") + what + ": " + cudaGetErrorString(e));
}

// One segment as the kernel sees it: its Philox blocks are numbered from
// block_begin (prefix over segments) and start at global block b_first.
struct SegDesc {
  void* data;
  int dtype;
  int64_t count;
  uint64_t g0;
  uint64_t b_first;
  int64_t block_begin;
  float factor;  // the decay factor f of this segment (1: no multiply)
};

__device__ float load_elem(const void* p, int dt, int64_t i) {
  if (dt == static_cast<int>(DType::F32)) return static_cast<const float*>(p)[i];
  uint16_t h = static_cast<const uint16_t*>(p)[i];
  return dt == static_cast<int>(DType::F16) ? f16_to_f32(h) : bf16_to_f32(h);
}
// F16/BF16 to nearest, or stochastically with element g's rounding word when the update has a key
__device__ void store_elem(void* p, int dt, int64_t i, float v, bool sr, uint64_t key, uint64_t g) {
  if (dt == static_cast<int>(DType::F32)) {
    static_cast<float*>(p)[i] = v;
  } else if (!sr) {
    static_cast<uint16_t*>(p)[i] = dt == static_cast<int>(DType::F16) ? f32_to_f16(v) : f32_to_bf16(v);
  } else {
    const uint32_t r = rounding_word(key, g);
    static_cast<uint16_t*>(p)[i] = dt == static_cast<int>(DType::F16) ? f32_to_f16_sr(v, r) : f32_to_bf16_sr(v, r);
  }
}

// task t = one Philox block of one segment; segments found by binary search
__global__ void axpy_kernel(const SegDesc* segs, int n_segs, int64_t n_tasks, const uint64_t* seeds,
                            const float* coeffs, int n_pairs, bool sr, uint64_t round_key) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= n_tasks) return;
  int lo = 0, hi = n_segs - 1;
  while (lo < hi) {  // last segment with block_begin <= t
    int mid = (lo + hi + 1) / 2;
    if (segs[mid].block_begin <= t)
      lo = mid;
    else
      hi = mid - 1;
  }
  const SegDesc s = segs[lo];
  const uint64_t b = s.b_first + static_cast<uint64_t>(t - s.block_begin);
  // the global indices of this block that lie inside the segment
  const uint64_t g_end = s.g0 + static_cast<uint64_t>(s.count);
  const uint64_t g_lo = 4 * b > s.g0 ? 4 * b : s.g0, g_hi = 4 * b + 4 < g_end ? 4 * b + 4 : g_end;
  float acc[4];
  for (uint64_t g = g_lo; g < g_hi; ++g) acc[g - 4 * b] = load_elem(s.data, s.dtype, static_cast<int64_t>(g - s.g0));
  for (int k = 0; k < n_pairs; ++k) {
    float z[4];
    direction_block(seeds[k], b, z);
    for (uint64_t g = g_lo; g < g_hi; ++g) acc[g - 4 * b] = fma32(coeffs[k], z[g - 4 * b], acc[g - 4 * b]);
  }
  if (s.factor != 1.0f)
    for (uint64_t g = g_lo; g < g_hi; ++g) acc[g - 4 * b] = mul32(acc[g - 4 * b], s.factor);
  for (uint64_t g = g_lo; g < g_hi; ++g)
    store_elem(s.data, s.dtype, static_cast<int64_t>(g - s.g0), acc[g - 4 * b], sr, round_key, g);
}

__global__ void fill_kernel(uint64_t seed, uint64_t g0, int64_t count, float* out) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const uint64_t b = (g0 >> 2) + static_cast<uint64_t>(t);
  if (4 * b >= g0 + static_cast<uint64_t>(count)) return;
  float z[4];
  direction_block(seed, b, z);
  for (int j = 0; j < 4; ++j) {
    const uint64_t g = 4 * b + j;
    if (g >= g0 && g < g0 + static_cast<uint64_t>(count)) out[g - g0] = z[j];
  }
}

constexpr int kThreads = 256;

}  // namespace

int device_count() noexcept {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls are not confused
    return 0;
  }
  return n;
}

bool available() noexcept { return device_count() > 0; }

std::string device_name() {
  if (!available()) return "";
  cudaDeviceProp p;
  check(cudaGetDeviceProperties(&p, 0), "cudaGetDeviceProperties");
  return p.name;
}

std::vector<DeviceInfo> device_list() noexcept {
  std::vector<DeviceInfo> out;
  const int n = device_count();
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) {
      cudaGetLastError();
      return {};
    }
    out.push_back(DeviceInfo{p.name, static_cast<int64_t>(p.totalGlobalMem)});
  }
  return out;
}

void use_device(int index) { check(cudaSetDevice(index), "cudaSetDevice"); }

void* device_alloc(size_t bytes) {
  void* p = nullptr;
  check(cudaMalloc(&p, bytes), "cudaMalloc");
  return p;
}
void device_free(void* p) noexcept {
  if (p) cudaFree(p);
}
void copy_to_device(void* dst, const void* src, size_t bytes) {
  check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy to device");
}
void copy_to_host(void* dst, const void* src, size_t bytes) {
  check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy to host");
}
void copy_device_to_device(void* dst, const void* src, size_t bytes) {
  check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice), "cudaMemcpy device to device");
}
void synchronize() { check(cudaDeviceSynchronize(), "cudaDeviceSynchronize"); }

void axpy_directions(const std::vector<Segment>& segs, const uint64_t* seeds, const float* coeffs, int n_pairs,
                     float decay, const uint64_t* round_key) {
  if (n_pairs < 0) throw Error(err::kArgument, "cuda::axpy_directions: negative number of pairs");
  if (!std::isfinite(decay) || !(decay > 0.0f) || decay > 1.0f)
    throw Error(err::kArgument, "cuda::axpy_directions: decay factor must be in (0, 1]");
  const bool decays = decay != 1.0f;
  std::vector<uint64_t> s;
  std::vector<float> c;
  for (int k = 0; k < n_pairs; ++k) {  // same filtering as the CPU dispatcher
    if (!std::isfinite(coeffs[k]))
      throw Error(err::kArgument, "cuda::axpy_directions: coefficient " + std::to_string(k) + " is not finite");
    if (coeffs[k] != 0.0f) {
      s.push_back(seeds[k]);
      c.push_back(coeffs[k]);
    }
  }
  if (s.empty() && !decays) return;
  std::vector<SegDesc> desc;
  int64_t n_tasks = 0;
  for (const Segment& seg : segs) {
    if (seg.count <= 0) continue;
    if (s.empty() && !seg.decay) continue;  // nothing to add and nothing to decay (as on the CPU)
    const uint64_t b_first = seg.g0 >> 2, b_last = (seg.g0 + static_cast<uint64_t>(seg.count) - 1) >> 2;
    desc.push_back(
        {seg.data, static_cast<int>(seg.dtype), seg.count, seg.g0, b_first, n_tasks, seg.decay ? decay : 1.0f});
    n_tasks += static_cast<int64_t>(b_last - b_first + 1);
  }
  if (desc.empty()) return;
  // one upload: descriptors, then seeds, then coefficients
  const size_t d_bytes = desc.size() * sizeof(SegDesc), s_bytes = s.size() * 8, c_bytes = c.size() * 4;
  std::vector<char> host(d_bytes + s_bytes + c_bytes);
  std::memcpy(host.data(), desc.data(), d_bytes);
  std::memcpy(host.data() + d_bytes, s.data(), s_bytes);
  std::memcpy(host.data() + d_bytes + s_bytes, c.data(), c_bytes);
  char* dev = static_cast<char*>(device_alloc(host.size()));
  try {
    copy_to_device(dev, host.data(), host.size());
    const int64_t grid = (n_tasks + kThreads - 1) / kThreads;
    axpy_kernel<<<static_cast<unsigned>(grid), kThreads>>>(
        reinterpret_cast<const SegDesc*>(dev), static_cast<int>(desc.size()), n_tasks,
        reinterpret_cast<const uint64_t*>(dev + d_bytes), reinterpret_cast<const float*>(dev + d_bytes + s_bytes),
        static_cast<int>(s.size()), round_key != nullptr, round_key ? *round_key : 0);
    check(cudaGetLastError(), "axpy_kernel launch");
    synchronize();
  } catch (...) {
    device_free(dev);
    throw;
  }
  device_free(dev);
}

void fill_direction(uint64_t seed, uint64_t g0, int64_t count, float* out_device) {
  if (count < 0) throw Error(err::kArgument, "cuda::fill_direction: negative count");
  if (count == 0) return;
  const uint64_t blocks = ((g0 + static_cast<uint64_t>(count) - 1) >> 2) - (g0 >> 2) + 1;
  const uint64_t grid = (blocks + kThreads - 1) / kThreads;
  fill_kernel<<<static_cast<unsigned>(grid), kThreads>>>(seed, g0, count, out_device);
  check(cudaGetLastError(), "fill_kernel launch");
  synchronize();
}

}  // namespace cuda
}  // namespace dpzo
