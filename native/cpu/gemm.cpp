// defines: linear, gemm_serial, pack_a, gemm_columns, convert_row, gemm_isa,
// gemm_backend, gemm_bench (see gemm.h); the scalar fallback kernel; the
// run-time choice of ISA (cpuid, env DPZO_ISA) and of CBLAS (env DPZO_GEMM).
#include "cpu/gemm.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>

#include "cpu/cpu_features.h"
#include "cpu/gemm_ops.h"
#include "cpu/virtual_point.h"
#include "dpzo/errors.h"

#if defined(DPZO_HAVE_CBLAS)
#include <cblas.h>
#endif

namespace dpzo {
namespace cpu {

namespace scalar {
namespace {
constexpr int MR = 4;
constexpr int NR = 8;

void convert(const void* src, DType dtype, int64_t n, float* dst) {
  if (dtype == DType::F32) {
    std::memcpy(dst, src, n * sizeof(float));
  } else if (dtype == DType::BF16) {
    const uint16_t* s = static_cast<const uint16_t*>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
  } else {
    const uint16_t* s = static_cast<const uint16_t*>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
  }
}

void micro_kernel(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, bool add, const float* bias) {
  float c[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k, A += MR, B += NR)
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) c[i][j] = std::fma(A[i], B[j], c[i][j]);
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) {
      float r = add ? C[i * ldc + j] + c[i][j] : c[i][j];
      if (bias) r += bias[j];
      C[i * ldc + j] = r;
    }
}

// stored (out, in): column n of B is the contiguous row n; convert it, then scatter
void pack_outin(const Weight& W, int64_t k0, int64_t kc, int64_t n0, int64_t jn, float* bp, float* row_tmp) {
  const int es = dtype_size(W.dtype);
  for (int64_t j = 0; j < NR; ++j) {
    if (j < jn) {
      convert(static_cast<const char*>(W.data) + ((n0 + j) * W.ld + k0) * es, W.dtype, kc, row_tmp);
      for (int64_t k = 0; k < kc; ++k) bp[k * NR + j] = row_tmp[k];
    } else {
      for (int64_t k = 0; k < kc; ++k) bp[k * NR + j] = 0.f;
    }
  }
}

// out[i] = fma(c, z[i], w[i]); out may be w
void fma_to(int64_t n, float c, const float* z, const float* w, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = std::fma(c, z[i], w[i]);
}

void fma_row(int64_t n, float c, const float* z, float* acc) { fma_to(n, c, z, acc, acc); }

#include "cpu/gemm_impl.h"
}  // namespace
}  // namespace scalar

const GemmOps gemm_ops_scalar = {"scalar",        scalar::MR,         scalar::NR,      scalar::pack_a,
                                 scalar::columns, scalar::columns_at, scalar::convert, scalar::points_from};

const GemmOps& gemm_ops() {
  static const GemmOps* ops = [] {
#if defined(__x86_64__) || defined(_M_X64)
    const Isa isa = active_isa();
    if (isa == Isa::Avx512) return &gemm_ops_avx512;
    if (isa == Isa::Avx2) return &gemm_ops_avx2;
#endif
    return &gemm_ops_scalar;
  }();
  return *ops;
}

const char* gemm_isa() { return gemm_ops().name; }

namespace {
bool use_blas(DType dtype) {
#if defined(DPZO_HAVE_CBLAS)
  // Opt-in: the own kernel measured faster here (205 vs 173 GFLOP/s on 2 Zen4
  // cores) and is batch-invariant bitwise; OpenBLAS promises neither.
  static const bool want = [] {
    const char* e = std::getenv("DPZO_GEMM");
    return e && std::string(e) == "blas";
  }();
  return want && dtype == DType::F32;
#else
  (void)dtype;
  return false;
#endif
}

template <class T>
void grow(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

int64_t padded_rows(int64_t M) {
  const int mr = gemm_ops().mr;
  return ((M + mr - 1) / mr) * mr;
}

float* worker_scratch(GemmWorkspace& ws, int worker, int64_t floats = gemm_scratch_floats()) {
  if (static_cast<int>(ws.b.size()) <= worker) throw Error(err::kArgument, "gemm: workspace not sized for worker");
  grow(ws.b[worker], static_cast<size_t>(floats));
  return ws.b[worker].data();
}

// Scratch of a product with W: plain, or at W's virtual points.
int64_t scratch_floats(const Weight& W) {
  if (!W.is_virtual()) return gemm_scratch_floats();
  return gemm_scratch_floats_at(W.at->set->size(), static_cast<int64_t>(W.at->set->seeds.size()));
}
}  // namespace

const char* gemm_backend() { return use_blas(DType::F32) ? "blas" : "own"; }

int64_t GemmWorkspace::bytes() const {
  int64_t n = static_cast<int64_t>(a.capacity());
  for (const auto& v : b) n += static_cast<int64_t>(v.capacity());
  return n * static_cast<int64_t>(sizeof(float));
}

void GemmWorkspace::ensure_workers(int n) {
  if (static_cast<int>(b.size()) < n) b.resize(n);
}

void convert_row(const void* src, DType dtype, int64_t n, float* dst) { gemm_ops().convert(src, dtype, n, dst); }

PackedA pack_a(ThreadPool& pool, GemmWorkspace& ws, int64_t M, int64_t K, const float* A, int64_t lda,
               const VirtualRows* groups) {
  const GemmOps& ops = gemm_ops();
  PackedA p;
  p.M = M;
  p.K = K;
  p.bounds = groups ? groups->bounds : std::vector<int64_t>{0, M};
  if (p.bounds.front() != 0 || p.bounds.back() != M) throw Error(err::kArgument, "gemm: row groups do not cover A");
  p.pad0.push_back(0);
  for (size_t g = 0; g + 1 < p.bounds.size(); ++g)
    p.pad0.push_back(p.pad0.back() + padded_rows(p.bounds[g + 1] - p.bounds[g]));
  p.m_pad = p.pad0.back();
  grow(ws.a, static_cast<size_t>(p.m_pad * K));
  float* out = ws.a.data();
  for (size_t g = 0; g + 1 < p.bounds.size(); ++g) {
    const int64_t rows = p.bounds[g + 1] - p.bounds[g], panel0 = p.pad0[g] / ops.mr;
    const float* Ag = A + p.bounds[g] * lda;
    pool.parallel_for((p.pad0[g + 1] - p.pad0[g]) / ops.mr, std::max<int64_t>(1, 64 / ops.mr),
                      [&](int64_t b, int64_t e, int) { ops.pack_a(rows, K, Ag, lda, out, p.m_pad, b, e, panel0); });
  }
  p.data = out;
  return p;
}

void gemm_columns(GemmWorkspace& ws, int worker, const PackedA& a, const Weight& W, int64_t n_begin, int64_t n_end,
                  float* C, int64_t ldc) {
  if (W.is_virtual())
    return gemm_ops().columns_at(a, W, nullptr, n_begin, n_end, C, ldc, false,
                                 worker_scratch(ws, worker, scratch_floats(W)));
  if (a.bounds.size() != 2) throw Error(err::kArgument, "gemm: row groups without virtual points");
  gemm_ops().columns(a.data, a.M, a.K, a.m_pad, W, nullptr, n_begin, n_end, C, ldc, false, worker_scratch(ws, worker));
}

#if defined(DPZO_HAVE_CBLAS)
static void blas_linear(ThreadPool& pool, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const Weight& W,
                        const void* bias, float* C, int64_t ldc, bool accumulate) {
  openblas_set_num_threads(pool.size());
  cblas_sgemm(CblasRowMajor, CblasNoTrans, W.layout == WLayout::OutIn ? CblasTrans : CblasNoTrans, static_cast<int>(M),
              static_cast<int>(N), static_cast<int>(K), 1.0f, A, static_cast<int>(lda),
              static_cast<const float*>(W.data), static_cast<int>(W.ld), accumulate ? 1.0f : 0.0f, C,
              static_cast<int>(ldc));
  if (bias) {
    const float* b = static_cast<const float*>(bias);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) C[m * ldc + n] += b[n];
  }
}
#endif

void linear(ThreadPool& pool, GemmWorkspace& ws, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
            const Weight& W, const void* bias, float* C, int64_t ldc, bool accumulate, const CancelToken* cancel) {
  if (M <= 0 || N <= 0) return;
  check_cancel(cancel);
#if defined(DPZO_HAVE_CBLAS)
  if (use_blas(W.dtype)) return blas_linear(pool, M, N, K, A, lda, W, bias, C, ldc, accumulate);
#endif
  const GemmOps& ops = gemm_ops();
  const bool at = W.is_virtual();
  const PackedA a = pack_a(pool, ws, M, K, A, lda, at ? W.at : nullptr);
  // column tasks: whole NR panels, a few per thread for balance; any split gives the same bits
  const int64_t panels = (N + ops.nr - 1) / ops.nr;
  int64_t per_task = std::max<int64_t>(1, std::min<int64_t>(kGemmNC / ops.nr, panels / (4 * pool.size())));
  // a virtual (in, out) weight's z is generated per row over a task's columns: runs of whole 128 columns keep
  // the direction kernels on their two-group path (GPT-2's 768-column products were split in 96-column tasks,
  // generated per row as one group plus a padded edge group), as long as every thread still gets a task
  if (at && W.g0 >= 0 && W.layout == WLayout::InOut) {
    const int64_t q = std::max<int64_t>(1, 128 / ops.nr);
    const int64_t aligned = (per_task + q - 1) / q * q;
    if ((panels + aligned - 1) / aligned >= pool.size()) per_task = aligned;
  }
  const int64_t tasks = (panels + per_task - 1) / per_task;
  ws.ensure_workers(pool.size());
  const int64_t scratch = scratch_floats(W);
  for (int w = 0; w < pool.size(); ++w) worker_scratch(ws, w, scratch);
  pool.run(tasks, [&](int64_t t, int worker) {
    check_cancel(cancel);
    const int64_t n0 = t * per_task * ops.nr;
    const int64_t n1 = std::min(N, n0 + per_task * ops.nr);
    if (at)
      ops.columns_at(a, W, bias, n0, n1, C + n0, ldc, accumulate, ws.b[worker].data());
    else
      ops.columns(a.data, M, K, a.m_pad, W, bias, n0, n1, C + n0, ldc, accumulate, ws.b[worker].data());
  });
}

void gemm_serial(GemmWorkspace& ws, int worker, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                 const Weight& W, float* C, int64_t ldc) {
  // attention's products use a private slice of the worker's scratch for packed A
  const GemmOps& ops = gemm_ops();
  const int64_t m_pad = padded_rows(M);
  if (static_cast<int>(ws.b.size()) <= worker) throw Error(err::kArgument, "gemm: workspace not sized for worker");
  std::vector<float>& s = ws.b[worker];
  grow(s, static_cast<size_t>(gemm_scratch_floats() + m_pad * K));
  float* ap = s.data() + gemm_scratch_floats();
  ops.pack_a(M, K, A, lda, ap, m_pad, 0, m_pad / ops.mr, 0);
  ops.columns(ap, M, K, m_pad, W, nullptr, 0, N, C, ldc, false, s.data());
}

double gemm_bench(int64_t M, int64_t N, int64_t K, int threads, int iters, DType dtype) {
  if (M <= 0 || N <= 0 || K <= 0 || iters <= 0)
    throw Error(err::kArgument, "gemm_bench: sizes and iters must be positive");
  ThreadPool pool(threads);
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> A(M * K), C(M * N);
  for (auto& x : A) x = u(rng);
  std::vector<uint16_t> w16;
  std::vector<float> w32;
  Weight W;
  W.dtype = dtype;
  W.layout = WLayout::OutIn;
  W.ld = K;
  if (dtype == DType::F32) {
    w32.resize(N * K);
    for (auto& x : w32) x = u(rng);
    W.data = w32.data();
  } else {
    w16.resize(N * K);
    for (auto& x : w16) x = dtype == DType::BF16 ? f32_to_bf16(u(rng)) : f32_to_f16(u(rng));
    W.data = w16.data();
  }
  GemmWorkspace ws;
  linear(pool, ws, M, N, K, A.data(), K, W, nullptr, C.data(), N, false);  // warm-up
  double best = 1e30;
  for (int r = 0; r < iters; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    linear(pool, ws, M, N, K, A.data(), K, W, nullptr, C.data(), N, false);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s);
  }
  return 2.0 * static_cast<double>(M) * N * K / best * 1e-9;
}

}  // namespace cpu
}  // namespace dpzo
