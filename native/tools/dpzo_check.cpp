// defines: main of `dpzo_check`, a small driver that prints JSON and needs no
// Node.js (e.g. on a GPU machine with only cmake + nvcc). Modes:
//   philox                                  Philox4x32-10 known answers
//   direction --seed S --g0 G --n N         z(S, G .. G+N-1)
//   accuracy                                exhaustive error of the float32 log/sin/cos
//   isa                                     scalar / avx2 / avx512 kernels bit for bit
//   block-split                             the CUDA kernels' block/tile split against brute force
//   gpu-check, gpu-bench                    the CUDA backend against the CPU, and its speed (gpu_check.h)
//   gemm-plan, gemm-mode, attention-mode,   the CUDA backend's host-side choices (tensor_check.h)
//   cublaslt-load, tensor-cache, split-at
//   perturb-bench [--n N] [--threads T] [--pairs P] [--reps R] [--dtype f32|bf16|f16|all]
//                                           direction elements/s of one pass (n·P per pass), by wall
//                                           clock and by CPU time; CUDA too when built and present
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/gemm.h"
#include "cpu/perturb_kernels.h"
#include "cpu/virtual_point.h"
#include "dpzo/errors.h"
#include "dpzo/perturb.h"
#include "dpzo/philox.h"
#include "dpzo/thread_pool.h"
#include "tools/block_split_check.h"
#include "tools/gpu_check.h"
#include "tools/tensor_check.h"
#ifdef DPZO_HAVE_CUDA
#include "cuda_backend.h"
#endif

using namespace dpzo;

namespace {

using Clock = std::chrono::steady_clock;

std::map<std::string, std::string> parse_flags(int argc, char** argv, int first) {
  std::map<std::string, std::string> f;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || i + 1 >= argc)
      throw Error(err::kArgument, "dpzo_check: expected --flag value, got '" + a + "'");
    f[a.substr(2)] = argv[++i];
  }
  return f;
}
uint64_t flag_u64(const std::map<std::string, std::string>& f, const char* k, uint64_t def) {
  auto it = f.find(k);
  if (it == f.end()) return def;
  char* end = nullptr;
  uint64_t v = std::strtoull(it->second.c_str(), &end, 0);
  if (!end || *end) throw Error(err::kArgument, std::string("dpzo_check: --") + k + " is not an integer");
  return v;
}

// distance in float32 ulps between two finite floats (ordered-integer difference)
int64_t ulp_diff(float a, float b) {
  auto key = [](float x) {
    int32_t i = static_cast<int32_t>(f32_bits(x));
    return i < 0 ? static_cast<int64_t>(INT32_MIN) - i : static_cast<int64_t>(i);
  };
  return std::llabs(key(a) - key(b));
}
// |approx - exact| in units of the float32 ulp of `exact`
double ulp_err(float approx, long double exact) {
  int e;
  std::frexp(static_cast<double>(exact), &e);  // exact = m 2^e, m in [0.5, 1)
  const long double ulp = std::ldexp(1.0L, e - 24);
  return static_cast<double>(std::fabs(static_cast<long double>(approx) - exact) / ulp);
}

int mode_philox() {
  struct Kat {
    uint32_t ctr[4], key[2], want[4];
  };
  const Kat kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
      {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
       {0xffffffffu, 0xffffffffu},
       {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
      {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
       {0xa4093822u, 0x299f31d0u},
       {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
  };
  bool all = true;
  std::printf("{\"mode\":\"philox\",\"kats\":[");
  for (size_t i = 0; i < 3; ++i) {
    uint32_t out[4];
    philox4x32_10(kats[i].ctr, kats[i].key, out);
    bool ok = std::equal(out, out + 4, kats[i].want);
    all = all && ok;
    std::printf("%s{\"got\":\"%08x %08x %08x %08x\",\"want\":\"%08x %08x %08x %08x\",\"ok\":%s}", i ? "," : "", out[0],
                out[1], out[2], out[3], kats[i].want[0], kats[i].want[1], kats[i].want[2], kats[i].want[3],
                ok ? "true" : "false");
  }
  std::printf("],\"ok\":%s}\n", all ? "true" : "false");
  return all ? 0 : 1;
}

int mode_direction(const std::map<std::string, std::string>& f) {
  const uint64_t seed = flag_u64(f, "seed", 0), g0 = flag_u64(f, "g0", 0);
  const int64_t n = static_cast<int64_t>(flag_u64(f, "n", 16));
  std::vector<float> z(static_cast<size_t>(n));
  fill_direction(seed, g0, n, z.data());
  std::printf("{\"mode\":\"direction\",\"seed\":\"%" PRIu64 "\",\"g0\":\"%" PRIu64 "\",\"n\":%" PRId64
              ",\"isa\":\"%s\",\"z\":[",
              seed, g0, n, direction_isa());
  for (int64_t i = 0; i < n; ++i) std::printf("%s%.9g", i ? "," : "", z[static_cast<size_t>(i)]);
  std::printf("]}\n");
  return 0;
}

// Every input the direction can see: odd k in [1, 2^24).
int mode_accuracy() {
  const long double two_pi = 6.283185307179586476925286766559L;
  double log_max = 0, sin_max = 0, cos_max = 0, z_max = 0;
  uint32_t log_arg = 0, sin_arg = 0, cos_arg = 0;
  for (uint32_t k = 1; k < (1u << 24); k += 2) {
    const long double u = std::ldexp(static_cast<long double>(k), -24);
    const long double lg = std::log(u);
    float l = dir_log_unit(k);
    double e = ulp_err(l, lg);
    if (e > log_max) {
      log_max = e;
      log_arg = k;
    }
    float s, c;
    dir_sincos_turn(k, &s, &c);
    const long double sx = std::sin(two_pi * u), cx = std::cos(two_pi * u);
    e = ulp_err(s, sx);
    if (e > sin_max) {
      sin_max = e;
      sin_arg = k;
    }
    e = ulp_err(c, cx);
    if (e > cos_max) {
      cos_max = e;
      cos_arg = k;
    }
    // z = r·cos: error relative to r (the pair's radius), in units of 2^-24·r
    const long double r = std::sqrt(-2 * lg);
    const float rf = sqrt32(mul32(l, -2.0f));
    e = static_cast<double>(std::fabs(static_cast<long double>(mul32(rf, c)) - r * cx) / (r * std::ldexp(1.0L, -24)));
    z_max = std::max(z_max, e);
    e = static_cast<double>(std::fabs(static_cast<long double>(mul32(rf, s)) - r * sx) / (r * std::ldexp(1.0L, -24)));
    z_max = std::max(z_max, e);
  }
  std::printf(
      "{\"mode\":\"accuracy\",\"inputs\":%u,\"log_max_ulp\":%.4f,\"log_worst_k\":%u,"
      "\"sin_max_ulp\":%.4f,\"sin_worst_k\":%u,\"cos_max_ulp\":%.4f,\"cos_worst_k\":%u,"
      "\"z_max_err_in_2^-24_r\":%.4f,\"ok\":%s}\n",
      1u << 23, log_max, log_arg, sin_max, sin_arg, cos_max, cos_arg, z_max,
      (log_max <= 2 && sin_max <= 2 && cos_max <= 2) ? "true" : "false");
  return (log_max <= 2 && sin_max <= 2 && cos_max <= 2) ? 0 : 1;
}

// The three kernels on the same runs (odd offsets, edges, all dtypes, 0..3 pairs, with and without
// the fused decay factor, rounding to nearest and stochastically).
int mode_isa() {
  using perturb_detail::axpy_run_avx2;
  using perturb_detail::axpy_run_avx512;
  using perturb_detail::axpy_run_scalar;
  const CpuFeatures& cf = cpu_features();
  using RunFn = void (*)(void*, DType, uint64_t, int64_t, const uint64_t*, const float*, int, float, const uint64_t*);
  const uint64_t round_key = 0x9e3779b97f4a7c15ull;
  std::vector<std::pair<const char*, RunFn>> kernels = {{"scalar", axpy_run_scalar}};
  if (cf.avx2) kernels.push_back({"avx2", axpy_run_avx2});
  if (cf.avx512) kernels.push_back({"avx512", axpy_run_avx512});
  const uint64_t seeds[3] = {42, 0x123456789abcdefull, 0xffffffffffffffffull};
  const float coeffs[3] = {1e-3f, -2.5e-3f, 0.75f};
  const uint64_t g0s[] = {0, 1, 2, 3, 61, 4095, (1ull << 32) * 4 - 37, 0x3ffffffffffffff0ull};
  const int64_t ns[] = {1, 3, 4, 5, 31, 33, 64, 65, 127, 1000, 4099};
  int64_t runs = 0, mismatches = 0;
  uint32_t lcg = 12345;
  for (DType dt : {DType::F32, DType::F16, DType::BF16}) {
    for (uint64_t g0 : g0s) {
      for (int64_t n : ns) {
        for (int pairs = 0; pairs <= 3; ++pairs) {
          for (int variant = 0; variant < 6; ++variant) {
            const float factor = variant % 3 == 0 ? 1.0f : variant % 3 == 1 ? 0.9921875f : 0.3f;
            const uint64_t* rk = variant >= 3 ? &round_key : nullptr;
            if (pairs == 0 && factor == 1.0f) continue;
            std::vector<float> init(static_cast<size_t>(n));
            for (auto& v : init) {
              lcg = lcg * 1664525u + 1013904223u;
              v = static_cast<float>(static_cast<int32_t>(lcg)) * 1e-11f;
            }
            // special weights: ±0, ±inf, subnormals, values at the F16 overflow and subnormal edges
            const float special[] = {0.0f,      -0.0f,   INFINITY, -INFINITY, 1e-40f,  -3e-39f, 65504.0f, 65519.0f,
                                     -65520.0f, 6.0e-8f, 2.98e-8f, 1e-3f,     3.0e38f, NAN,     -NAN};
            for (size_t j = 0; j < sizeof(special) / sizeof(float); ++j)
              if (init.size() > 2 * j + 1) init[2 * j + 1] = special[j];
            std::vector<std::vector<uint8_t>> out;
            for (auto& kr : kernels) {
              std::vector<uint8_t> buf(static_cast<size_t>(n * dtype_size(dt)));
              for (int64_t i = 0; i < n; ++i)
                perturb_detail::store_elem(buf.data(), dt, i, init[static_cast<size_t>(i)]);
              kr.second(buf.data(), dt, g0, n, seeds, coeffs, pairs, factor, rk);
              out.push_back(std::move(buf));
            }
            ++runs;
            for (size_t j = 1; j < out.size(); ++j)
              if (out[j] != out[0]) {
                if (mismatches < 5)
                  std::fprintf(stderr, "mismatch %s vs scalar: dtype %s g0 %" PRIu64 " n %" PRId64 " pairs %d%s\n",
                               kernels[j].first, dtype_name(dt), g0, n, pairs, rk ? " (stochastic rounding)" : "");
                ++mismatches;
              }
          }
        }
      }
    }
  }
  // the row kernels of the virtual GEMM: each row written with the sum from +0, equal to zeroing it and
  // running the scalar axpy on it, and the elements between rows (the stride's padding) left alone
  using RowsFn = void (*)(float*, int64_t, uint64_t, uint64_t, int64_t, int64_t, const uint64_t*, const float*, int);
  std::vector<std::pair<const char*, RowsFn>> row_kernels = {{"scalar", perturb_detail::sum_rows_scalar}};
  if (cf.avx2) row_kernels.push_back({"avx2", perturb_detail::sum_rows_avx2});
  if (cf.avx512) row_kernels.push_back({"avx512", perturb_detail::sum_rows_avx512});
  for (uint64_t g0 : g0s)
    for (int64_t n : ns)
      for (int64_t rows : {1, 3})
        for (uint64_t g_stride : {static_cast<uint64_t>(n), static_cast<uint64_t>(n) + 5, uint64_t{4097}})
          for (int pairs = 1; pairs <= 3; ++pairs) {
            const int64_t stride = n + 7;
            std::vector<float> want(static_cast<size_t>(rows * stride), 7.0f);
            for (int64_t r = 0; r < rows; ++r) {
              std::fill(want.begin() + r * stride, want.begin() + r * stride + n, 0.0f);
              axpy_run_scalar(want.data() + r * stride, DType::F32, g0 + r * g_stride, n, seeds, coeffs, pairs, 1.0f,
                              nullptr);
            }
            for (auto& kr : row_kernels) {
              std::vector<float> got(want.size(), 7.0f);
              for (int64_t r = 0; r < rows; ++r)  // stale values in the rows: they must be overwritten, not read
                std::fill(got.begin() + r * stride, got.begin() + r * stride + n, 3.5f);
              kr.second(got.data(), stride, g0, g_stride, n, rows, seeds, coeffs, pairs);
              ++runs;
              if (std::memcmp(got.data(), want.data(), want.size() * sizeof(float)) != 0) {
                if (mismatches < 5)
                  std::fprintf(stderr, "mismatch rows %s: g0 %" PRIu64 " n %" PRId64 " rows %" PRId64 " pairs %d\n",
                               kr.first, g0, n, rows, pairs);
                ++mismatches;
              }
            }
          }
  std::printf("{\"mode\":\"isa\",\"kernels\":[");
  for (size_t j = 0; j < kernels.size(); ++j) std::printf("%s\"%s\"", j ? "," : "", kernels[j].first);
  std::printf("],\"runs\":%" PRId64 ",\"mismatches\":%" PRId64 ",\"ok\":%s}\n", runs, mismatches,
              mismatches ? "false" : "true");
  return mismatches ? 1 : 0;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') o += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
    o += ch;
  }
  return o;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double process_cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

struct BenchResult {
  double wall_eps = 0;  // best elements/s by wall clock
  double cpu_eps = 0;   // best n / (process CPU seconds / threads): the rate on an otherwise idle machine
};

// `reps` passes of θ += Σ c_k z(s_k) over n elements of dtype dt
BenchResult bench_cpu(DType dt, int64_t n, int threads, int pairs, int reps) {
  std::vector<uint8_t> buf(static_cast<size_t>(n) * dtype_size(dt));
  for (int64_t i = 0; i < n; ++i) perturb_detail::store_elem(buf.data(), dt, i, 0.01f);
  ThreadPool pool(threads);
  std::vector<Segment> segs = {{buf.data(), dt, n, 0}};
  std::vector<uint64_t> seeds(static_cast<size_t>(pairs));
  std::vector<float> coeffs(static_cast<size_t>(pairs), 1e-3f);
  BenchResult best;
  for (int r = 0; r < reps; ++r) {
    for (int k = 0; k < pairs; ++k) seeds[static_cast<size_t>(k)] = 1000 + r * pairs + k;
    auto t0 = Clock::now();
    const double c0 = process_cpu_seconds();
    axpy_directions(segs, seeds.data(), coeffs.data(), pairs, pool);
    const double cpu = (process_cpu_seconds() - c0) / pool.size();
    best.wall_eps = std::max(best.wall_eps, static_cast<double>(n) * pairs / seconds_since(t0));
    best.cpu_eps = std::max(best.cpu_eps, static_cast<double>(n) * pairs / cpu);
  }
  return best;
}

#ifdef DPZO_HAVE_CUDA
// A layout of many segments over one buffer of k elements: sizes 0 .. 7 and large, data at every element
// offset (so whole blocks start aligned and misaligned for vector accesses), g0 with gaps of every residue
// mod 4, every other segment decayed; more segments than one launch passes by value (cuda/philox_perturb.cu).
std::vector<Segment> bench_segments(void* base, DType dt, int64_t k) {
  std::vector<Segment> segs;
  const int64_t sizes[] = {0, 1, 2, 3, 4, 5, 7, 9, 64, 1021, 4099, 70001};
  int64_t off = 0;
  uint64_t g0 = 77;
  for (int i = 0; off < k; ++i) {
    const int64_t want = i < 140 ? sizes[i % 12] : k - off;
    const int64_t cnt = std::min(want, k - off);
    segs.push_back({static_cast<char*>(base) + off * static_cast<int64_t>(dtype_size(dt)), dt, cnt, g0, i % 2 == 1});
    off += cnt;
    g0 += static_cast<uint64_t>(cnt) + static_cast<uint64_t>(i % 5);
  }
  return segs;
}

// CUDA against the CPU bit for bit, then CUDA speed against the device-to-device copy; prints ,"cuda":{...}.
void print_cuda_bench(int64_t n, int threads, int pairs, int reps, const std::vector<DType>& dts) {
  // 1) the CUDA direction against the CPU one, bit for bit, on 1e7 elements at an odd offset
  const int64_t m = 10000000;
  const uint64_t seed = 0x9e3779b97f4a7c15ull, g0 = 123456789;
  std::vector<float> cpu(static_cast<size_t>(m)), gpu(static_cast<size_t>(m));
  fill_direction(seed, g0, m, cpu.data());
  float* d = static_cast<float*>(cuda::device_alloc(static_cast<size_t>(m) * 4));
  cuda::fill_direction(seed, g0, m, d);
  cuda::copy_to_host(gpu.data(), d, static_cast<size_t>(m) * 4);
  cuda::device_free(d);
  int64_t max_ulp = 0, differ = 0;
  for (int64_t i = 0; i < m; ++i) {
    int64_t u = ulp_diff(cpu[static_cast<size_t>(i)], gpu[static_cast<size_t>(i)]);
    differ += u != 0;
    max_ulp = std::max(max_ulp, u);
  }
  // 2) perturb, update (decay, stochastic rounding keyed by the first seed) and an update with more pairs
  // than the kernel's parameters hold, over one segment and over many (bench_segments): CPU vs CUDA bytes
  std::vector<uint64_t> seeds(60);
  std::vector<float> big(60), tiny3 = {1e-7f, -2e-7f, 5e-8f};
  for (size_t i = 0; i < seeds.size(); ++i) {
    seeds[i] = 0x1234567ull * (i + 1) + (i << 40);
    big[i] = (i % 2 ? -1e-6f : 2e-6f) / static_cast<float>(i + 1);
  }
  const uint64_t seeds3[3] = {7, 1ull << 40, 99};
  const float coeffs3[3] = {1e-3f, -2e-3f, 5e-4f};
  bool all_equal = true;
  std::string equal_json;
  for (DType dt : {DType::F32, DType::BF16, DType::F16}) {
    const int64_t k = 1000003;
    std::vector<uint8_t> h(static_cast<size_t>(k) * dtype_size(dt)), back(h.size());
    for (int64_t i = 0; i < k; ++i) perturb_detail::store_elem(h.data(), dt, i, 0.02f * std::sin(0.001f * i));
    void* dd = cuda::device_alloc(h.size());
    cuda::copy_to_device(dd, h.data(), h.size());
    ThreadPool pool(threads);
    bool equal = true;
    for (int layout = 0; layout < 2; ++layout) {
      const std::vector<Segment> hs =
          layout ? bench_segments(h.data(), dt, k) : std::vector<Segment>{{h.data(), dt, k, 77, true}};
      const std::vector<Segment> ds = layout ? bench_segments(dd, dt, k) : std::vector<Segment>{{dd, dt, k, 77, true}};
      axpy_directions(hs, seeds3, coeffs3, 3, pool);
      cuda::axpy_directions(ds, seeds3, coeffs3, 3);
      axpy_directions(hs, seeds3, tiny3.data(), 3, pool, 0.999f, &seeds3[0]);
      cuda::axpy_directions(ds, seeds3, tiny3.data(), 3, 0.999f, &seeds3[0]);
      axpy_directions(hs, seeds.data(), big.data(), static_cast<int>(seeds.size()), pool, 1.0f, &seeds[0]);
      cuda::axpy_directions(ds, seeds.data(), big.data(), static_cast<int>(seeds.size()), 1.0f, &seeds[0]);
      scale_segments(hs, 0.5f, pool);  // decay alone: the CPU backend's scale
      cuda::axpy_directions(ds, nullptr, nullptr, 0, 0.5f, nullptr);
      cuda::copy_to_host(back.data(), dd, h.size());
      equal = equal && back == h;
    }
    cuda::device_free(dd);
    all_equal = all_equal && equal;
    equal_json +=
        std::string(equal_json.empty() ? "" : ",") + "\"" + dtype_name(dt) + "\":" + (equal ? "true" : "false");
  }
  std::printf(",\"cuda\":{\"device\":\"%s\",\"direction_elements\":%" PRId64 ",\"differing\":%" PRId64
              ",\"max_ulp_diff\":%" PRId64 ",\"axpy_bitwise_equal\":%s,\"axpy_equal\":{%s}",
              json_escape(cuda::device_name()).c_str(), m, differ, max_ulp, all_equal ? "true" : "false",
              equal_json.c_str());
  // 3) speed, best of reps after one untimed pass: the device-to-device copy of n F32 elements, then one pass
  // over n elements per dtype — F32 as a perturbation, F16/BF16 as an update with stochastic rounding
  auto best_of = [&](auto&& f) {
    double best = INFINITY;
    for (int r = 0; r < reps + 1; ++r) {
      auto t0 = Clock::now();
      f(r);
      if (r > 0) best = std::min(best, seconds_since(t0));
    }
    return best;
  };
  const size_t f32_bytes = static_cast<size_t>(n) * 4;
  void* w = cuda::device_alloc(f32_bytes);
  void* c = cuda::device_alloc(f32_bytes);
  std::vector<uint8_t> zeros(1 << 22, 0);
  for (size_t i = 0; i < f32_bytes; i += zeros.size())
    cuda::copy_to_device(static_cast<char*>(w) + i, zeros.data(), std::min(zeros.size(), f32_bytes - i));
  const double t_copy = best_of([&](int) {
    cuda::copy_device_to_device(c, w, f32_bytes);
    cuda::synchronize();
  });
  cuda::device_free(c);
  const double copy_gbs = 2.0 * static_cast<double>(f32_bytes) / t_copy / 1e9;
  std::printf(",\"copy_GB_per_s\":%.5g,\"speed\":[", copy_gbs);
  std::vector<uint64_t> sd(static_cast<size_t>(std::max(pairs, 1)));
  std::vector<float> cf(sd.size(), 1e-3f);
  for (size_t i = 0; i < dts.size(); ++i) {
    const DType dt = dts[i];
    const bool sr = dt != DType::F32;
    const double t = best_of([&](int r) {
      for (size_t k = 0; k < sd.size(); ++k) sd[k] = 5000 + static_cast<uint64_t>(r) * sd.size() + k;
      cuda::axpy_directions({{w, dt, n, 0}}, sd.data(), cf.data(), pairs, 1.0f, sr ? &sd[0] : nullptr);
    });
    const double eps = static_cast<double>(n) / t, gbs = eps * 2 * static_cast<double>(dtype_size(dt)) / 1e9;
    std::printf(
        "%s{\"dtype\":\"%s\",\"op\":\"%s\",\"pairs\":%d,\"elements_per_s\":%.4g,\"GB_per_s\":%.5g,"
        "\"of_copy\":%.3f}",
        i ? "," : "", dtype_name(dt), sr ? "update, stochastic rounding" : "perturb", pairs, eps, gbs, gbs / copy_gbs);
  }
  cuda::device_free(w);
  std::printf("]}");
}
#endif

int mode_bench(const std::map<std::string, std::string>& f) {
  const int64_t n = static_cast<int64_t>(flag_u64(f, "n", 124000000));
  const int threads = static_cast<int>(flag_u64(f, "threads", 0));
  const int pairs = static_cast<int>(flag_u64(f, "pairs", 1));
  const int reps = static_cast<int>(flag_u64(f, "reps", 3));
  std::string which = f.count("dtype") ? f.at("dtype") : "all";
  std::vector<DType> dts;
  if (which == "f32" || which == "all") dts.push_back(DType::F32);
  if (which == "bf16" || which == "all") dts.push_back(DType::BF16);
  if (which == "f16" || which == "all") dts.push_back(DType::F16);
  if (dts.empty()) throw Error(err::kArgument, "dpzo_check: --dtype must be f32, bf16, f16 or all");
  ThreadPool probe(threads);
  std::printf("{\"mode\":\"perturb-bench\",\"n\":%" PRId64 ",\"threads\":%d,\"pairs\":%d,\"isa\":\"%s\",\"cpu\":[", n,
              probe.size(), pairs, direction_isa());
  for (size_t i = 0; i < dts.size(); ++i) {
    BenchResult b = bench_cpu(dts[i], n, threads, pairs, reps);
    std::printf("%s{\"dtype\":\"%s\",\"elements_per_s\":%.4g,\"GB_per_s\":%.3g,\"cpu_time_elements_per_s\":%.4g}",
                i ? "," : "", dtype_name(dts[i]), b.wall_eps, b.wall_eps / pairs * 2 * dtype_size(dts[i]) / 1e9,
                b.cpu_eps);
    std::fflush(stdout);
  }
  std::printf("]");
#ifdef DPZO_HAVE_CUDA
  if (cuda::available()) {
    print_cuda_bench(n, threads, pairs, reps, dts);
  } else {
    std::printf(",\"cuda\":null");
  }
#endif
  std::printf("}\n");
  return 0;
}

// The GEMM of a virtual forward in isolation (issue 9): M rows times an (N, K) F32 weight, as two plain
// products of M rows, one plain product of 2M rows, 2M rows in two groups at points with no terms (the
// grouping alone), and at θ ± εz (the directions too). Best of --reps interleaved repetitions.
int mode_virtual_gemm(const std::map<std::string, std::string>& f) {
  const int64_t M = static_cast<int64_t>(flag_u64(f, "m", 512)), N = static_cast<int64_t>(flag_u64(f, "n", 3072));
  const int64_t K = static_cast<int64_t>(flag_u64(f, "k", 768));
  const int threads = static_cast<int>(flag_u64(f, "threads", 0));
  const int reps = static_cast<int>(flag_u64(f, "reps", 5));
  const bool inout = f.count("layout") && f.at("layout") == "inout";
  const bool bf16 = f.count("dtype") && f.at("dtype") == "bf16";
  ThreadPool pool(threads);
  std::vector<float> A(static_cast<size_t>(2 * M * K)), C(static_cast<size_t>(2 * M * N)),
      W(static_cast<size_t>(N * K));
  uint32_t lcg = 1;
  for (auto* v : {&A, &W})
    for (auto& x : *v) x = static_cast<float>(static_cast<int32_t>(lcg = lcg * 1664525u + 1013904223u)) * 1e-10f;
  std::vector<uint16_t> Wb(bf16 ? W.size() : 0);
  for (size_t i = 0; i < Wb.size(); ++i) Wb[i] = f32_to_bf16(W[i]);
  cpu::Weight w;
  w.data = bf16 ? static_cast<void*>(Wb.data()) : static_cast<void*>(W.data());
  w.dtype = bf16 ? DType::BF16 : DType::F32;
  w.layout = inout ? cpu::WLayout::InOut : cpu::WLayout::OutIn;
  w.ld = inout ? N : K;
  cpu::GemmWorkspace ws;
  const std::vector<VirtualPoint> none = {{}, {}};
  const std::vector<VirtualPoint> pm = {{{5}, {1e-3f}}, {{5}, {-1e-3f}}};
  const cpu::VirtualSet vs_none = cpu::make_virtual_set(none), vs_pm = cpu::make_virtual_set(pm);
  cpu::VirtualRows rows_none{&vs_none, {0, M, 2 * M}}, rows_pm{&vs_pm, {0, M, 2 * M}};
  auto run = [&](int which) {
    cpu::Weight x = w;
    if (which == 0) {
      cpu::linear(pool, ws, M, N, K, A.data(), K, x, nullptr, C.data(), N, false);
      cpu::linear(pool, ws, M, N, K, A.data() + M * K, K, x, nullptr, C.data() + M * N, N, false);
      return;
    }
    if (which >= 2) {
      x.g0 = 0;
      x.at = which == 2 ? &rows_none : &rows_pm;
    }
    cpu::linear(pool, ws, 2 * M, N, K, A.data(), K, x, nullptr, C.data(), N, false);
  };
  const char* names[4] = {"two plain M", "plain 2M", "grouped, no terms", "grouped at +-eps z"};
  double best[4] = {1e30, 1e30, 1e30, 1e30};
  for (int w4 = 0; w4 < 4; ++w4) run(w4);
  for (int r = 0; r < reps; ++r)
    for (int w4 = 0; w4 < 4; ++w4) {
      auto t0 = std::chrono::steady_clock::now();
      run(w4);
      best[w4] = std::min(best[w4], std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  std::printf("{\"mode\":\"virtual-gemm\",\"m\":%" PRId64 ",\"n\":%" PRId64 ",\"k\":%" PRId64
              ",\"layout\":\"%s\",\"dtype\":\"%s\",\"isa\":\"%s\"",
              M, N, K, inout ? "inout" : "outin", bf16 ? "bf16" : "f32", cpu::gemm_isa());
  for (int i = 0; i < 4; ++i) std::printf(",\"%s\":%.5f", names[i], best[i]);
  std::printf("}\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 2) {
      std::fprintf(
          stderr,
          "usage: dpzo_check philox | direction --seed S --g0 G --n N | accuracy | isa | block-split | "
          "perturb-bench [--n N] [--threads T] [--pairs P] [--reps R] [--dtype f32|bf16|f16|all] | "
          "virtual-gemm [--m M] [--n N] [--k K] [--layout outin|inout] [--dtype f32|bf16] [--threads T] [--reps R] | "
          "gpu-check [--dir D] [--families llama,llama-wide,qwen3,gpt2,opt] [--dtypes f32,bf16] | "
          "gpu-bench [--family F] [--hidden H] [--layers L] [--heads A] [--kv-heads KV] [--inter I] [--vocab V] "
          "[--dtype bf16] "
          "[--batch B] [--seq S] [--dir D] [--init file|random] [--reps R] [--warmup 0|1] [--copy-mib M] | "
          "gemm-plan --m M --n N --k K --lda A --ldw W --ldo O [--layout outin|inout] [--dtype bf16|f16] | "
          "gemm-mode | attention-mode | cublaslt-load | tensor-cache [--dtypes bf16,f16] [--heights H] | "
          "split-at --dtype f16|bf16 --w W --coeff C [--seed S] [--n N] [--g0 G] [--point split|round]\n");
      return 2;
    }
    const std::string mode = argv[1];
    auto flags = parse_flags(argc, argv, 2);
    if (mode == "philox") return mode_philox();
    if (mode == "direction") return mode_direction(flags);
    if (mode == "accuracy") return mode_accuracy();
    if (mode == "isa") return mode_isa();
    if (mode == "block-split") return mode_block_split();
    if (mode == "perturb-bench") return mode_bench(flags);
    if (mode == "virtual-gemm") return mode_virtual_gemm(flags);
    if (mode == "gpu-check") return mode_gpu_check(flags);
    if (mode == "gpu-bench") return mode_gpu_bench(flags);
    if (mode == "gemm-plan") return mode_gemm_plan(flags);
    if (mode == "gemm-mode") return mode_gemm_mode();
    if (mode == "attention-mode") return mode_attention_mode();
    if (mode == "cublaslt-load") return mode_cublaslt_load();
    if (mode == "tensor-cache") return mode_tensor_cache(flags);
    if (mode == "split-at") return mode_split_at(flags);
    throw Error(err::kArgument, "dpzo_check: unknown mode '" + mode + "'");
  } catch (const Error& e) {
    std::printf("{\"error\":\"%s\",\"message\":\"%s\"}\n", e.code().c_str(), json_escape(e.what()).c_str());
    return 1;
  } catch (const std::exception& e) {
    std::printf("{\"error\":\"ERR_INTERNAL\",\"message\":\"%s\"}\n", json_escape(e.what()).c_str());
    return 1;
  }
}
