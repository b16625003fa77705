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

#include "block_io.h"
#include "cuda_backend.h"
#include "dpzo/block_split.h"
#include "dpzo/errors.h"
#include "dpzo/philox.h"
#include "dpzo/stochastic_round.h"
#include "launch.h"

namespace dpzo {
namespace cuda {
namespace {

void check(cudaError_t e, const char* what) { check_call(e, what); }

// The update's launch, passed by value (kernel parameters, under the 4 KiB every architecture takes): no
// device allocation or host-to-device copy per call. Each CUDA block does one tile — kTileBlocks whole
// Philox blocks of one segment (dpzo/block_split.h), kBlocksPerThread per thread for ILP — and the
// segment's tile 0 also does its at most two partial blocks.
constexpr int kThreads = 256;
constexpr int kBlocksPerThread = 4;
constexpr int64_t kTileBlocks = int64_t{kThreads} * kBlocksPerThread;
constexpr int kParamSegs = 64;   // segments per launch; more go in further launches
constexpr int kParamPairs = 48;  // pairs passed by value; more go through device memory

struct SegDesc {
  void* data;
  uint64_t g0;
  int64_t count;
  int64_t tile_begin;  // prefix of tile_count over this launch's segments
  int dtype;
  int vec;       // whole blocks start 16-byte (F32) / 8-byte (F16, BF16) aligned: vector loads/stores
  float factor;  // the decay factor f of this segment (1: no multiply)
};

struct AxpyParams {
  SegDesc segs[kParamSegs];
  uint64_t seeds[kParamPairs];
  float coeffs[kParamPairs];
  const uint64_t* dev_seeds;  // non-null when n_pairs > kParamPairs
  const float* dev_coeffs;
  uint64_t round_key;
  int n_segs;
  int n_pairs;
  int sr;
};
static_assert(sizeof(AxpyParams) <= 4000, "kernel parameters must stay under 4 KiB");

// F16/BF16 to nearest, or stochastically with the element's rounding word r when sr
__device__ void store_elem(void* p, int dt, int64_t i, float v, bool sr, uint32_t r) {
  if (dt == static_cast<int>(DType::F32)) {
    static_cast<float*>(p)[i] = v;
  } else if (!sr) {
    static_cast<uint16_t*>(p)[i] = dt == static_cast<int>(DType::F16) ? f32_to_f16(v) : f32_to_bf16(v);
  } else {
    static_cast<uint16_t*>(p)[i] = dt == static_cast<int>(DType::F16) ? f32_to_f16_sr(v, r) : f32_to_bf16_sr(v, r);
  }
}

// Whole blocks [b_begin, b_end) of one segment, this thread's kBlocksPerThread of them (strided by the
// CUDA block's width, so each load instruction of a warp is contiguous). Out-of-range blocks are computed
// and not stored, keeping the generator straight-line.
template <int DT, bool SR>
__device__ __forceinline__ void whole_blocks(const SegDesc& s, uint64_t b_begin, uint64_t b_end, const uint64_t* seeds,
                                             const float* coeffs, int n_pairs, uint64_t round_key) {
  float a[kBlocksPerThread][4];
  uint64_t b[kBlocksPerThread];
  whole_blocks_at_point<DT, kBlocksPerThread, kThreads>(s.data, s.g0, s.vec, b_begin, b_end, seeds, coeffs, n_pairs, a,
                                                        b);
  if (s.factor != 1.0f) {
#pragma unroll
    for (int j = 0; j < kBlocksPerThread; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) a[j][e] = mul32(a[j][e], s.factor);
  }
#pragma unroll
  for (int j = 0; j < kBlocksPerThread; ++j)
    if (b[j] < b_end) store_block<DT, SR>(s.data, static_cast<int64_t>(4 * b[j] - s.g0), s.vec, a[j], round_key, b[j]);
}

// The elements [g_lo, g_hi) of block b (a partial block at a segment's edge), dtype at run time.
__device__ void partial_block(const SegDesc& s, uint64_t b, uint64_t g_lo, uint64_t g_hi, const uint64_t* seeds,
                              const float* coeffs, int n_pairs, bool sr, uint64_t round_key) {
  float a[4];
  partial_block_at_point(s.data, static_cast<DType>(s.dtype), s.g0, b, g_lo, g_hi, seeds, coeffs, n_pairs, a);
  if (s.factor != 1.0f)
#pragma unroll
    for (int e = 0; e < 4; ++e) a[e] = mul32(a[e], s.factor);
  uint32_t w[4] = {0, 0, 0, 0};
  if (sr && s.dtype != static_cast<int>(DType::F32)) rounding_block(round_key, b, w);
#pragma unroll
  for (int e = 0; e < 4; ++e) {
    const uint64_t g = 4 * b + e;
    if (g >= g_lo && g < g_hi) store_elem(s.data, s.dtype, static_cast<int64_t>(g - s.g0), a[e], sr, w[e]);
  }
}

__global__ void __launch_bounds__(kThreads) axpy_kernel(const __grid_constant__ AxpyParams p) {
  const int64_t tile = blockIdx.x;
  int lo = 0, hi = p.n_segs - 1;
  while (lo < hi) {  // last segment with tile_begin <= tile
    const int mid = (lo + hi + 1) / 2;
    if (p.segs[mid].tile_begin <= tile)
      lo = mid;
    else
      hi = mid - 1;
  }
  const SegDesc& s = p.segs[lo];
  const uint64_t* seeds = p.dev_seeds ? p.dev_seeds : p.seeds;
  const float* coeffs = p.dev_coeffs ? p.dev_coeffs : p.coeffs;
  const BlockSplit sp = split_blocks(s.g0, s.count);
  const int64_t t = tile - s.tile_begin;
  const TileRange r = tile_range(sp, kTileBlocks, t);
  if (r.end > r.begin) {
    if (s.dtype == static_cast<int>(DType::F32))
      whole_blocks<kF32, false>(s, r.begin, r.end, seeds, coeffs, p.n_pairs, 0);
    else if (s.dtype == static_cast<int>(DType::BF16) && p.sr)
      whole_blocks<kBF16, true>(s, r.begin, r.end, seeds, coeffs, p.n_pairs, p.round_key);
    else if (s.dtype == static_cast<int>(DType::BF16))
      whole_blocks<kBF16, false>(s, r.begin, r.end, seeds, coeffs, p.n_pairs, 0);
    else if (p.sr)
      whole_blocks<kF16, true>(s, r.begin, r.end, seeds, coeffs, p.n_pairs, p.round_key);
    else
      whole_blocks<kF16, false>(s, r.begin, r.end, seeds, coeffs, p.n_pairs, 0);
  }
  if (t == 0 && threadIdx.x == 0 && sp.head > 0)
    partial_block(s, sp.full_begin - 1, s.g0, s.g0 + static_cast<uint64_t>(sp.head), seeds, coeffs, p.n_pairs, p.sr,
                  p.round_key);
  if (t == 0 && threadIdx.x == 1 && sp.tail > 0)
    partial_block(s, sp.full_end, 4 * sp.full_end, 4 * sp.full_end + static_cast<uint64_t>(sp.tail), seeds, coeffs,
                  p.n_pairs, p.sr, p.round_key);
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
  if (p && cudaFree(p) != cudaSuccess) cudaGetLastError();  // nothing to report here; kept from check_launch
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
  AxpyParams p{};
  p.n_pairs = static_cast<int>(s.size());
  p.sr = round_key != nullptr;
  p.round_key = round_key ? *round_key : 0;
  // rare: more pairs than the parameters hold go through device memory (seeds, then coefficients)
  char* dev = nullptr;
  std::vector<char> host;
  if (s.size() > static_cast<size_t>(kParamPairs)) {
    host.resize(s.size() * 12);
    std::memcpy(host.data(), s.data(), s.size() * 8);
    std::memcpy(host.data() + s.size() * 8, c.data(), s.size() * 4);
    dev = static_cast<char*>(device_alloc(host.size()));
    p.dev_seeds = reinterpret_cast<const uint64_t*>(dev);
    p.dev_coeffs = reinterpret_cast<const float*>(dev + s.size() * 8);
  } else {
    std::copy(s.begin(), s.end(), p.seeds);
    std::copy(c.begin(), c.end(), p.coeffs);
  }
  try {
    if (dev) copy_to_device(dev, host.data(), host.size());
    auto launch = [&](int64_t tiles) {
      if (p.n_segs == 0) return;
      axpy_kernel<<<static_cast<unsigned>(tiles), kThreads>>>(p);
      check(cudaGetLastError(), "axpy_kernel launch");
      p.n_segs = 0;
    };
    int64_t tiles = 0;
    for (const Segment& seg : segs) {
      if (seg.count <= 0) continue;
      if (s.empty() && !seg.decay) continue;  // nothing to add and nothing to decay (as on the CPU)
      if (p.n_segs == kParamSegs) {
        launch(tiles);
        tiles = 0;
      }
      const BlockSplit sp = split_blocks(seg.g0, seg.count);
      const size_t es = dtype_size(seg.dtype);
      const uintptr_t first = reinterpret_cast<uintptr_t>(seg.data) + (4 * sp.full_begin - seg.g0) * es;
      p.segs[p.n_segs++] = {seg.data,
                            seg.g0,
                            seg.count,
                            tiles,
                            static_cast<int>(seg.dtype),
                            first % (4 * es) == 0 ? 1 : 0,
                            seg.decay ? decay : 1.0f};
      tiles += tile_count(sp, kTileBlocks);
    }
    launch(tiles);
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
