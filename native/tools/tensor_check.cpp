// defines: mode_gemm_plan, mode_gemm_mode, mode_attention_mode, mode_cublaslt_load, mode_tensor_cache, mode_split_at
// (native/tools/tensor_check.h).
#include "tools/tensor_check.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "dpzo/errors.h"
#ifdef DPZO_HAVE_CUDA
#include "cpu/virtual_point.h"
#include "attention_plan.h"
#include "cublaslt_loader.h"
#include "cuda_backend.h"
#include "gemm_plan.h"
#include "tensor_gemm.h"
#include "tensor_kernels.h"
#endif

using namespace dpzo;

#ifdef DPZO_HAVE_CUDA
namespace {

int64_t get(const std::map<std::string, std::string>& f, const char* k) {
  auto it = f.find(k);
  if (it == f.end()) throw Error(err::kArgument, std::string("dpzo_check gemm-plan: --") + k + " is required");
  char* end = nullptr;
  const long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (!end || *end || v <= 0) throw Error(err::kArgument, std::string("dpzo_check: --") + k + " must be > 0");
  return v;
}

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) o += c;
  }
  return o;
}

}  // namespace

int mode_gemm_plan(const std::map<std::string, std::string>& f) {
  auto it = f.find("layout");
  const std::string layout = it == f.end() ? "outin" : it->second, dt = f.count("dtype") ? f.at("dtype") : "bf16";
  if (layout != "outin" && layout != "inout")
    throw Error(err::kArgument, "dpzo_check: --layout must be outin or inout");
  if (dt != "bf16" && dt != "f16") throw Error(err::kArgument, "dpzo_check: --dtype must be bf16 or f16");
  const int t = cuda::lt_type(dt == "bf16" ? DType::BF16 : DType::F16);
  const cuda::LtPlan p =
      cuda::plan_lt(get(f, "m"), get(f, "n"), get(f, "k"), get(f, "lda"), t, get(f, "ldw"), t,
                    layout == "outin" ? cuda::k::Layout::OutIn : cuda::k::Layout::InOut, get(f, "ldo"));
  auto op = [](const cuda::LtOperand& o) {
    char b[128];
    std::snprintf(b, sizeof b, "{\"type\":%d,\"rows\":%" PRId64 ",\"cols\":%" PRId64 ",\"ld\":%" PRId64 "}", o.type,
                  o.rows, o.cols, o.ld);
    return std::string(b);
  };
  std::printf("{\"transA\":%d,\"transB\":%d,\"m\":%" PRId64 ",\"n\":%" PRId64 ",\"k\":%" PRId64
              ",\"A\":%s,\"B\":%s,\"C\":%s}\n",
              p.trans_a, p.trans_b, p.m, p.n, p.k, op(p.a).c_str(), op(p.b).c_str(), op(p.c).c_str());
  return 0;
}

int mode_attention_mode() {
  const cuda::AttentionKernel k = cuda::parse_attention_kernel(std::getenv("DPZO_CUDA_ATTENTION"));
  std::printf("{\"attention\":\"%s\",\"maxHeadDim\":%lld}\n", cuda::attention_kernel_name(k),
              static_cast<long long>(cuda::kTiledMaxHeadDim));
  return 0;
}

int mode_gemm_mode() {
  const cuda::GemmMode g = cuda::parse_gemm_mode(std::getenv("DPZO_CUDA_GEMM"));
  const cuda::PointGemm p = cuda::parse_point_gemm(std::getenv("DPZO_CUDA_POINT_GEMM"));
  std::printf("{\"gemm\":\"%s\",\"point\":\"%s\"}\n", cuda::gemm_mode_name(g),
              p == cuda::PointGemm::Split ? "split" : "round");
  return 0;
}

int mode_cublaslt_load() {
  const std::vector<std::string> c = cuda::cublaslt_candidates(std::getenv("DPZO_CUBLASLT"));
  cuda::LtLibrary lib;
  std::string why;
  const bool ok = cuda::load_cublaslt(c, &lib, &why);
  std::string list;
  for (const std::string& s : c) list += (list.empty() ? "\"" : ",\"") + escape(s) + "\"";
  std::printf("{\"candidates\":[%s],\"loaded\":%s,\"path\":\"%s\",\"version\":%zu,\"message\":\"%s\"}\n", list.c_str(),
              ok ? "true" : "false", escape(lib.path).c_str(), lib.version, escape(why).c_str());
  return 0;
}

int mode_tensor_cache(const std::map<std::string, std::string>& f) {
  const std::string order = f.count("dtypes") ? f.at("dtypes") : "bf16,f16";
  const int64_t heights = f.count("heights") ? get(f, "heights") : 600;
  MemoryTracker mem;
  std::string paths;
  size_t most = 0;
  int64_t mismatches = 0, checked = 0;
  for (size_t at = 0; at < order.size();) {
    const size_t comma = std::min(order.find(',', at), order.size());
    const std::string name = order.substr(at, comma - at);
    at = comma + 1;
    if (name != "bf16" && name != "f16") throw Error(err::kArgument, "dpzo_check: --dtypes lists bf16 and f16");
    const DType dt = name == "bf16" ? DType::BF16 : DType::F16;
    cuda::TensorGemm tg(dt, mem);
    paths += (paths.empty() ? "\"" : ",\"") + escape(name + ": " + tg.path()) + "\"";
    if (!tg.on() || checked > 0) continue;
    // one GEMM per batch height 1 … heights, as a run's Poisson batches give (small integers: every sum exact,
    // so the tensor path and the SIMT kernel agree bit for bit)
    const int64_t N = 8, K = 16;
    std::vector<float> a(heights * K), out1(heights * N), out2(heights * N);
    std::vector<uint16_t> w(N * K);
    for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(static_cast<int64_t>(i * 7 % 9) - 4);
    for (size_t i = 0; i < w.size(); ++i)
      w[i] = f32_to_half(static_cast<float>(static_cast<int64_t>(i * 5 % 7) - 3), dt);
    float* da = static_cast<float*>(cuda::device_alloc(a.size() * 4));
    void* dw = cuda::device_alloc(w.size() * 2);
    float* o1 = static_cast<float*>(cuda::device_alloc(out1.size() * 4));
    float* o2 = static_cast<float*>(cuda::device_alloc(out2.size() * 4));
    cuda::copy_to_device(da, a.data(), a.size() * 4);
    cuda::copy_to_device(dw, w.data(), w.size() * 2);
    const cuda::k::Mat wm{dw, dt, K};
    for (int64_t M = 1; M <= heights; ++M) {
      tg.gemm(M, N, K, da, K, wm, cuda::k::Layout::OutIn, {}, o1, N, false);
      cuda::k::gemm(M, N, K, da, K, wm, cuda::k::Layout::OutIn, {}, o2, N, false);
      most = std::max(most, tg.prepared());
    }
    cuda::synchronize();
    cuda::copy_to_host(out1.data(), o1, out1.size() * 4);
    cuda::copy_to_host(out2.data(), o2, out2.size() * 4);
    for (size_t i = 0; i < out1.size(); ++i) mismatches += out1[i] != out2[i];
    checked = heights;
    for (void* p : {static_cast<void*>(da), dw, static_cast<void*>(o1), static_cast<void*>(o2)}) cuda::device_free(p);
  }
  std::printf("{\"paths\":[%s],\"heights\":%lld,\"mostPrepared\":%zu,\"maxPrepared\":%zu,\"mismatches\":%lld}\n",
              paths.c_str(), static_cast<long long>(checked), most, cuda::TensorGemm::kMaxPrepared,
              static_cast<long long>(mismatches));
  return 0;
}
namespace {

double get_real(const std::map<std::string, std::string>& f, const char* k) {
  auto it = f.find(k);
  if (it == f.end()) throw Error(err::kArgument, std::string("dpzo_check split-at: --") + k + " is required");
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  if (!end || *end || !std::isfinite(v))
    throw Error(err::kArgument, std::string("dpzo_check: --") + k + " must be a number");
  return v;
}

// a float32 as a JSON number, or as a string where JSON has none
std::string json_float(float x) {
  if (std::isnan(x)) return "\"nan\"";
  if (std::isinf(x)) return x > 0 ? "\"inf\"" : "\"-inf\"";
  char b[32];
  std::snprintf(b, sizeof b, "%.9g", static_cast<double>(x));
  return b;
}

std::string json_floats(const std::vector<float>& v) {
  std::string o;
  for (size_t i = 0; i < v.size(); ++i) o += (i ? "," : "") + json_float(v[i]);
  return "[" + o + "]";
}

}  // namespace

int mode_split_at(const std::map<std::string, std::string>& f) {
  const std::string name = f.count("dtype") ? f.at("dtype") : "f16", point = f.count("point") ? f.at("point") : "split";
  if (name != "bf16" && name != "f16") throw Error(err::kArgument, "dpzo_check: --dtype must be bf16 or f16");
  if (point != "split" && point != "round") throw Error(err::kArgument, "dpzo_check: --point must be split or round");
  const DType dt = name == "bf16" ? DType::BF16 : DType::F16;
  const int64_t n = f.count("n") ? get(f, "n") : 64;
  const uint64_t g0 = f.count("g0") ? static_cast<uint64_t>(get(f, "g0")) : 5;  // a partial first Philox block
  const uint64_t seed = f.count("seed") ? static_cast<uint64_t>(get(f, "seed")) : 7;
  const float coeff = static_cast<float>(get_real(f, "coeff"));
  const std::vector<uint16_t> w(static_cast<size_t>(n), f32_to_half(static_cast<float>(get_real(f, "w")), dt));
  // the CPU's float32 value of each weight at the point (what its forward reads)
  const cpu::VirtualSet vs = cpu::make_virtual_set({VirtualPoint{{seed}, {coeff}}});
  std::vector<float> v(w.size());
  cpu::values_at(w.data(), dt, g0, n, vs, 0, v.data());
  // the device's split of the same weights
  void* dw = cuda::device_alloc(w.size() * 2);
  void* dhi = cuda::device_alloc(w.size() * 2);
  void* dlo = cuda::device_alloc(w.size() * 2);
  void* ds = cuda::device_alloc(8);
  void* dc = cuda::device_alloc(4);
  cuda::copy_to_device(dw, w.data(), w.size() * 2);
  cuda::copy_to_device(ds, &seed, 8);
  cuda::copy_to_device(dc, &coeff, 4);
  const float lo_scale = cuda::TensorGemm::lo_scale_of(dt);
  cuda::k::split_at(dw, dt, g0, n, static_cast<const uint64_t*>(ds), static_cast<const float*>(dc), 1, dt, lo_scale,
                    dhi, point == "split" ? dlo : nullptr);
  cuda::synchronize();
  std::vector<uint16_t> hi16(w.size()), lo16(w.size(), 0);
  cuda::copy_to_host(hi16.data(), dhi, w.size() * 2);
  if (point == "split") cuda::copy_to_host(lo16.data(), dlo, w.size() * 2);
  for (void* p : {dw, dhi, dlo, ds, dc}) cuda::device_free(p);
  std::vector<float> hi(w.size()), lo(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    hi[i] = half_to_f32(hi16[i], dt);
    lo[i] = half_to_f32(lo16[i], dt);
  }
  std::printf("{\"loScale\":%g,\"v\":%s,\"hi\":%s,\"lo\":%s}\n", static_cast<double>(lo_scale), json_floats(v).c_str(),
              json_floats(hi).c_str(), json_floats(lo).c_str());
  return 0;
}
#else
namespace {
[[noreturn]] void no_cuda() { throw Error(err::kDevice, "dpzo_check: built without the CUDA backend"); }
}  // namespace
int mode_gemm_plan(const std::map<std::string, std::string>&) { no_cuda(); }
int mode_gemm_mode() { no_cuda(); }
int mode_attention_mode() { no_cuda(); }
int mode_cublaslt_load() { no_cuda(); }
int mode_tensor_cache(const std::map<std::string, std::string>&) { no_cuda(); }
int mode_split_at(const std::map<std::string, std::string>&) { no_cuda(); }
#endif
