// defines: TensorGemm (cuda/tensor_gemm.h). Host code: descriptors and heuristics are cached per shape, leading
// dimensions and pointer alignments (the heuristic assumes 256-byte-aligned operands unless told otherwise, and
// weight row chunks and output column blocks start anywhere).
#include "tensor_gemm.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <vector>

#include "cuda_backend.h"
#include "dpzo/errors.h"
#include "tensor_kernels.h"

namespace dpzo {
namespace cuda {

namespace {

constexpr size_t kWorkspaceBytes = size_t{32} << 20;

std::mutex& registry_mu() {
  static std::mutex mu;
  return mu;
}
// per (device, dtype): "" = the self-test passed, else why the tensor path is off for the process. The test
// runs the model's 16-bit type (F16 and BF16 are different library kernels): keyed by device alone, a BF16
// model's pass turned the path on for an F16 model that would have failed it, and an F16 failure off for BF16.
std::map<std::pair<int, DType>, std::string>& self_tests() {
  static std::map<std::pair<int, DType>, std::string> m;
  return m;
}
std::string& last_path() {
  static std::string s;
  return s;
}

uint32_t alignment(const void* p) {
  const uintptr_t u = reinterpret_cast<uintptr_t>(p);
  uint32_t a = 256;
  while (a > 1 && u % a != 0) a /= 2;
  return a;
}

}  // namespace

std::string last_gemm_path() {
  std::lock_guard<std::mutex> g(registry_mu());
  return last_path();
}

TensorGemm::TensorGemm(DType model_dtype, MemoryTracker& mem) : dtype_(model_dtype), a16_(&mem), ws_(&mem) {
  const GemmMode mode = parse_gemm_mode(std::getenv("DPZO_CUDA_GEMM"));
  point_ = parse_point_gemm(std::getenv("DPZO_CUDA_POINT_GEMM"));
  std::string why;
  if (mode == GemmMode::Simt) {
    why = "DPZO_CUDA_GEMM=simt";
  } else if (dtype_ == DType::F32) {
    why = "float32 weights: the tensor path serves F16/BF16 models";  // F32 stays exact, in every mode
  } else if ((lib_ = tensor_library(&why)) != nullptr) {
    why = start();
  }
  on_ = why.empty();
  if (!on_) {  // nothing of the library is kept for a model that will not use it
    release_library();
    ws_.release();
    a16_.release();
  }
  if (!on_ && mode == GemmMode::Tensor)
    throw Error(err::kDevice, "DPZO_CUDA_GEMM=tensor: the tensor-core GEMM is unavailable: " + why);
  path_ = on_ ? "tensor (cuBLASLt " + lib_->path + ", version " + std::to_string(lib_->version) +
                    (point_ == PointGemm::Split ? ", points split hi+lo)" : ", points rounded to 16 bits)")
              : "simt (" + why + ")";
  std::lock_guard<std::mutex> g(registry_mu());
  last_path() = path_;
}

// The handle, the workspace and, once per process, device and dtype, the self-test; "" when the path may be used,
// else why not (a library failure here is a reason, not an error: auto falls back).
std::string TensorGemm::start() {
  const GemmMode mode = parse_gemm_mode(std::getenv("DPZO_CUDA_GEMM"));
  try {
    check(lib_->api.create(&handle_), "cublasLtCreate");
    ws_.ensure(kWorkspaceBytes);
    const int device = current_device();
    {
      std::lock_guard<std::mutex> g(registry_mu());
      auto it = self_tests().find({device, dtype_});
      if (it != self_tests().end()) return it->second;
    }
    std::string why;
    try {
      why = self_test();
    } catch (const std::exception& e) {
      why = std::string("cuBLASLt self-test failed: ") + e.what();
    }
    std::lock_guard<std::mutex> g(registry_mu());
    self_tests()[{device, dtype_}] = why;
    if (!why.empty() && mode == GemmMode::Auto)  // once per process, device and dtype: the fallback is visible
      std::fprintf(stderr, "dpzo: notice: CUDA tensor-core GEMM off, using the SIMT kernel: %s\n", why.c_str());
    return why;
  } catch (const std::exception& e) {
    return e.what();
  }
}

// Statuses ignored: nothing can be done about a failed destroy here. The objects are host-side (cuBLASLt reads
// them during cublasLtMatmul only), so a GEMM still running on the stream does not need them.
void TensorGemm::destroy(Prepared& r) noexcept {
  if (r.a) lib_->api.layout_destroy(r.a);
  if (r.b) lib_->api.layout_destroy(r.b);
  if (r.c) lib_->api.layout_destroy(r.c);
  if (r.desc) lib_->api.desc_destroy(r.desc);
  r = Prepared{};
}

void TensorGemm::release_library() noexcept {
  if (!lib_) return;
  for (auto& kv : cache_) destroy(kv.second);
  cache_.clear();
  if (handle_) lib_->api.destroy(handle_);
  handle_ = nullptr;
}

TensorGemm::~TensorGemm() { release_library(); }

void TensorGemm::check(lt::Status s, const char* what) const {
  if (s != lt::kSuccess) throw Error(err::kDevice, std::string("cuBLASLt ") + what + ": status " + std::to_string(s));
}

const TensorGemm::Prepared& TensorGemm::prepare(const LtPlan& p, const void* A, const void* B, const float* C) {
  const uint32_t aa = alignment(A), ab = alignment(B), ac = alignment(C);
  const Key key{p.m, p.n, p.k, p.trans_a, p.trans_b, p.a.type, p.a.ld, p.b.type, p.b.ld, p.c.ld, aa, ab, ac, 0, 0, 0};
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  if (cache_.size() >= kMaxPrepared) {  // no reference into the cache outlives the run() that asked for it
    for (auto& kv : cache_) destroy(kv.second);
    cache_.clear();
  }
  Prepared& r = cache_[key];
  try {
    fill(r, p, aa, ab, ac);
  } catch (...) {  // not kept: a half-made entry read later as "no algorithm" sent the shape to the SIMT kernel
    destroy(r);
    cache_.erase(key);
    throw;
  }
  return r;
}

// r's descriptor, layouts and heuristic for plan p with operand alignments aa, ab, ac (filled step by step:
// whatever was created is in r, for destroy()).
void TensorGemm::fill(Prepared& r, const LtPlan& p, uint32_t aa, uint32_t ab, uint32_t ac) {
  const lt::Api& api = lib_->api;
  check(api.desc_create(&r.desc, lt::kCompute32F, lt::kR32F), "cublasLtMatmulDescCreate");
  const int32_t ta = p.trans_a, tb = p.trans_b;
  check(api.desc_set(r.desc, lt::kDescTransA, &ta, sizeof ta), "cublasLtMatmulDescSetAttribute(TRANSA)");
  check(api.desc_set(r.desc, lt::kDescTransB, &tb, sizeof tb), "cublasLtMatmulDescSetAttribute(TRANSB)");
  auto layout = [&](void** l, const LtOperand& o) {
    check(api.layout_create(l, o.type, static_cast<uint64_t>(o.rows), static_cast<uint64_t>(o.cols), o.ld),
          "cublasLtMatrixLayoutCreate");
  };
  layout(&r.a, p.a);
  layout(&r.b, p.b);
  layout(&r.c, p.c);
  void* pref = nullptr;
  check(api.pref_create(&pref), "cublasLtMatmulPreferenceCreate");
  lt::HeuristicResult res{};
  int found = 0;
  lt::Status st = lt::kSuccess;
  const uint64_t ws = kWorkspaceBytes;
  const uint32_t al[4] = {aa, ab, ac, ac};
  st = api.pref_set(pref, lt::kPrefMaxWorkspaceBytes, &ws, sizeof ws);
  for (int i = 0; i < 4 && st == lt::kSuccess; ++i) st = api.pref_set(pref, lt::kPrefMinAlignA + i, &al[i], 4);
  if (st == lt::kSuccess) st = api.heuristic(handle_, r.desc, r.a, r.b, r.c, r.c, pref, 1, &res, &found);
  api.pref_destroy(pref);
  // "not supported" and zero results mean no algorithm for this shape (the caller decides); anything else
  // is an error
  if (st != lt::kSuccess && st != lt::kNotSupported) check(st, "cublasLtMatmulAlgoGetHeuristic");
  r.ok = st == lt::kSuccess && found > 0 && res.state == lt::kSuccess;
  r.algo = res.algo;
}

bool TensorGemm::run(int64_t M, int64_t N, int64_t K, const void* a16, k::Mat w, k::Layout layout, k::Mat bias,
                     float* out, int64_t ldo, bool accumulate, float alpha) {
  const int t = lt_type(dtype_);
  const LtPlan p = plan_lt(M, N, K, K, t, w.ld, t, layout, ldo);
  const Prepared& r = prepare(p, w.data, a16, out);
  if (!r.ok) return false;
  float beta = accumulate ? 1.0f : 0.0f;
  if (bias.data) {
    k::bias_rows(M, N, bias, out, ldo, accumulate);
    beta = 1.0f;
  }
  check(lib_->api.matmul(handle_, r.desc, &alpha, w.data, r.a, a16, r.b, &beta, out, r.c, out, r.c, &r.algo, ws_.data(),
                         kWorkspaceBytes, nullptr),
        "cublasLtMatmul");
  return true;
}

const void* TensorGemm::convert(const float* a, int64_t M, int64_t K, int64_t lda) {
  void* a16 = a16_.ensure(static_cast<size_t>(M * K) * 2);
  k::to_16bit(a, M, K, lda, dtype_, a16);
  return a16;
}

void TensorGemm::gemm(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, k::Mat w, k::Layout layout,
                      k::Mat bias, float* out, int64_t ldo, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  // K = 0 or a shape the library has no algorithm for: the SIMT kernel, which reads the same weights
  if (K <= 0 || !run(M, N, K, convert(a, M, K, lda), w, layout, bias, out, ldo, accumulate, 1.0f))
    k::gemm(M, N, K, a, lda, w, layout, bias, out, ldo, accumulate);
}

void TensorGemm::gemm_split(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, k::Mat hi, const void* lo,
                            k::Layout layout, k::Mat bias, float* out, int64_t ldo, bool accumulate, const void* a16) {
  if (M <= 0 || N <= 0) return;
  if (!a16 && K > 0) a16 = convert(a, M, K, lda);
  const bool ok = K > 0 && run(M, N, K, a16, hi, layout, bias, out, ldo, accumulate, 1.0f) &&
                  (!lo || run(M, N, K, a16, {lo, hi.dtype, hi.ld}, layout, {}, out, ldo, true, 1.0f / lo_scale()));
  if (!ok)
    throw Error(err::kDevice, "cuBLASLt has no algorithm for a " + std::to_string(M) + "x" + std::to_string(N) + "x" +
                                  std::to_string(K) + " GEMM at a virtual point; set DPZO_CUDA_GEMM=simt");
}

// One small GEMM per layout through the library and through k::gemm, on data exactly representable in F16
// and BF16 (so both compute the same products and differ only in summation order): a transposed or
// mis-strided mapping, a wrong enum value or a broken library shows as an O(1) relative error.
std::string TensorGemm::self_test() {
  const int64_t M = 24, N = 72, K = 64, ldo = 88, off = 8;  // a strided output that starts mid-row, as q|k|v
  std::vector<float> a(M * K), w(N * K), bias(N), out0(M * ldo);
  for (int64_t i = 0; i < M * K; ++i) a[i] = static_cast<float>((i * 7 + i / K * 3) % 17 - 8) / 8.0f;
  for (int64_t i = 0; i < N * K; ++i) w[i] = static_cast<float>((i * 5 + i / K * 11) % 13 - 6) / 16.0f;
  for (int64_t i = 0; i < N; ++i) bias[i] = static_cast<float>(i % 5 - 2) / 4.0f;
  for (int64_t i = 0; i < M * ldo; ++i) out0[i] = static_cast<float>(i % 9 - 4) / 2.0f;
  std::vector<uint16_t> w16(N * K), b16(N);
  for (int64_t i = 0; i < N * K; ++i) w16[i] = dtype_ == DType::F16 ? f32_to_f16(w[i]) : f32_to_bf16(w[i]);
  for (int64_t i = 0; i < N; ++i) b16[i] = dtype_ == DType::F16 ? f32_to_f16(bias[i]) : f32_to_bf16(bias[i]);
  const size_t fa = a.size() * 4, fw = w16.size() * 2, fb = b16.size() * 2, fo = out0.size() * 4;
  char* d = static_cast<char*>(device_alloc(fa + fw + fb + 2 * fo + 1024));
  std::string why;
  try {
    float* da = reinterpret_cast<float*>(d);
    void* dw = d + ((fa + 255) / 256) * 256;
    void* db = static_cast<char*>(dw) + ((fw + 255) / 256) * 256;
    float* o1 = reinterpret_cast<float*>(static_cast<char*>(db) + 256);
    float* o2 = reinterpret_cast<float*>(reinterpret_cast<char*>(o1) + ((fo + 255) / 256) * 256);
    copy_to_device(da, a.data(), fa);
    copy_to_device(dw, w16.data(), fw);
    copy_to_device(db, b16.data(), fb);
    std::vector<float> r1(M * ldo), r2(M * ldo);
    // both layouts × (bias), (accumulate), (neither, over an output of NaNs: with β = 0 the library must not
    // read C, as the forward's first write into a fresh buffer assumes)
    const std::vector<float> nans(out0.size(), std::numeric_limits<float>::quiet_NaN());
    for (int c = 0; c < 6 && why.empty(); ++c) {
      const k::Layout layout = c < 3 ? k::Layout::OutIn : k::Layout::InOut;
      const int variant = c % 3;
      const bool acc = variant == 1;
      const k::Mat bm = variant == 0 ? k::Mat{db, dtype_, N} : k::Mat{};
      const std::vector<float>& before = variant == 2 ? nans : out0;
      // InOut reads the same buffer as a (K, N) matrix: another weight, equally valid for the comparison
      const k::Mat wm{dw, dtype_, layout == k::Layout::OutIn ? K : N};
      copy_to_device(o1, before.data(), fo);
      copy_to_device(o2, before.data(), fo);
      if (!run(M, N, K, convert(da, M, K, K), wm, layout, bm, o1 + off, ldo, acc, 1.0f)) {
        why = "cuBLASLt self-test: no algorithm for a BF16/F16 GEMM";
        break;
      }
      k::gemm(M, N, K, da, K, wm, layout, bm, o2 + off, ldo, acc);
      synchronize();
      copy_to_host(r1.data(), o1, fo);
      copy_to_host(r2.data(), o2, fo);
      for (int64_t m = 0; m < M && why.empty(); ++m)
        for (int64_t n = 0; n < ldo && why.empty(); ++n) {
          const int64_t i = m * ldo + n, j = n - off;
          bool ok;
          if (j < 0 || j >= N) {  // outside the output block: untouched by both
            ok = (std::isnan(r1[i]) && std::isnan(before[i])) || r1[i] == before[i];
          } else {
            // 1e-4 of the element's magnitude sum Σ|a·W| + |bias| + |out| (exact products; only the order of
            // the float32 sums differs, ~K·2^-24 of it)
            double mag = acc ? std::fabs(before[i]) : 0.0;
            if (variant == 0) mag += std::fabs(bias[j]);
            for (int64_t q = 0; q < K; ++q)
              mag += std::fabs(a[m * K + q]) * std::fabs(layout == k::Layout::OutIn ? w[j * K + q] : w[q * N + j]);
            ok = std::isfinite(r1[i]) && std::fabs(static_cast<double>(r1[i]) - r2[i]) <= 1e-4 * mag;
          }
          if (ok) continue;
          why = "cuBLASLt self-test mismatch (layout " + std::string(c < 3 ? "OutIn" : "InOut") + ", case " +
                std::to_string(variant) + ", row " + std::to_string(m) + ", column " + std::to_string(n) + ": " +
                std::to_string(r1[i]) + " vs " + std::to_string(r2[i]) + ")";
        }
    }
  } catch (...) {
    device_free(d);
    throw;
  }
  device_free(d);
  return why;
}

}  // namespace cuda
}  // namespace dpzo
