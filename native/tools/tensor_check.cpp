// defines: mode_gemm_plan, mode_gemm_mode, mode_attention_mode, mode_cublaslt_load (native/tools/tensor_check.h).
#include "tools/tensor_check.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>

#include "dpzo/errors.h"
#ifdef DPZO_HAVE_CUDA
#include "attention_plan.h"
#include "cublaslt_loader.h"
#include "gemm_plan.h"
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
#else
namespace {
[[noreturn]] void no_cuda() { throw Error(err::kDevice, "dpzo_check: built without the CUDA backend"); }
}  // namespace
int mode_gemm_plan(const std::map<std::string, std::string>&) { no_cuda(); }
int mode_gemm_mode() { no_cuda(); }
int mode_attention_mode() { no_cuda(); }
int mode_cublaslt_load() { no_cuda(); }
#endif
