// defines: Weight (a weight operand as stored: dtype + Hugging Face layout),
// GemmWorkspace, linear (C = A·W (+bias), multi-threaded), gemm_serial, the
// packed-A entry points the fused loss uses, gemm_isa and gemm_bench.
//
// Invariance contract: every C element is one fixed sequence of F32 FMAs over
// k (fixed KC blocks, fixed order), whatever M, the row's neighbours, the
// column split or the thread count. Edge tiles are zero-padded and run the
// same micro-kernel, so a row's result is bitwise independent of the batch.
#pragma once
#include <cstdint>
#include <vector>

#include "dpzo/cancel.h"
#include "dpzo/dtype.h"
#include "dpzo/thread_pool.h"

namespace dpzo {
namespace cpu {

// Hugging Face layouts: nn.Linear stores (out, in) so y = x·Wᵀ; GPT-2's
// Conv1D stores (in, out) so y = x·W. Neither is transposed at load because
// the model buffer is the parameter space that is perturbed in place.
enum class WLayout : int { OutIn = 0, InOut = 1 };

struct VirtualRows;

struct Weight {
  const void* data = nullptr;
  DType dtype = DType::F32;
  WLayout layout = WLayout::OutIn;
  int64_t ld = 0;  // elements between consecutive stored rows
  // At virtual points (ARCHITECTURE §2, exactness; cpu/virtual_point.h): stored element (r, c) has global
  // index g0 + r·ld + c and bias element j has bias_g0 + j (-1: frozen, read as stored), and `at` says which
  // rows of A see which point. Null `at`: every row sees the weights as stored.
  int64_t g0 = -1, bias_g0 = -1;
  const VirtualRows* at = nullptr;

  // Whether some row reads this operand at a point other than θ.
  bool is_virtual() const { return at != nullptr && (g0 >= 0 || bias_g0 >= 0); }
};

// Scratch for packed panels; grow-only, owned by the caller (ForwardState) so
// memory() can account for it.
struct GemmWorkspace {
  std::vector<float> a;               // packed A (all rows, all K blocks)
  std::vector<std::vector<float>> b;  // per worker: one packed B block + bias
  int64_t bytes() const;
  // Sizes `b` for n workers; call before work that runs gemm_serial/gemm_columns on the pool.
  void ensure_workers(int n);
};

// C[m, n] = (accumulate ? C[m, n] : 0) + Σ_k A[m, k]·W(k, n) + bias[n].
// A is F32 row-major (lda); bias (may be null) has W's dtype; C row-major (ldc).
// Runs on the pool (threads split columns). `cancel` (may be null) is checked before each column task
// (at most kGemmNC columns of all M rows), so a cancelled product stops within one task per thread, C
// partly written; the CBLAS path (DPZO_GEMM=blas) checks once, before the call.
void linear(ThreadPool& pool, GemmWorkspace& ws, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
            const Weight& W, const void* bias, float* C, int64_t ldc, bool accumulate,
            const CancelToken* cancel = nullptr);

// The same product on the calling thread only (attention's small products).
void gemm_serial(GemmWorkspace& ws, int worker, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                 const Weight& W, float* C, int64_t ldc);

// Packed-A interface: pack once, then compute any column range on any worker
// (the fused LM head computes vocabulary tiles this way). With row groups (a
// product at several virtual points) each group starts on its own MR panel, so
// no panel mixes points: group p's rows [bounds[p], bounds[p+1]) are packed
// from padded row pad0[p].
struct PackedA {
  const float* data = nullptr;
  int64_t M = 0, K = 0, m_pad = 0;
  std::vector<int64_t> bounds, pad0;  // G+1 entries each; {0, M} and {0, m_pad} without groups
};
PackedA pack_a(ThreadPool& pool, GemmWorkspace& ws, int64_t M, int64_t K, const float* A, int64_t lda,
               const VirtualRows* groups = nullptr);
// C[:, 0..n_end-n_begin) = A·W(:, n_begin..n_end); C row-major with ldc.
void gemm_columns(GemmWorkspace& ws, int worker, const PackedA& a, const Weight& W, int64_t n_begin, int64_t n_end,
                  float* C, int64_t ldc);

// dst[i] = float(src[i]) for i < n (vectorised conversion of a stored row).
void convert_row(const void* src, DType dtype, int64_t n, float* dst);

// Which kernel runs: "avx512", "avx2", "scalar" (DPZO_ISA may force a lower
// one), and whether linear() goes to CBLAS ("blas") or the own kernel ("own").
const char* gemm_isa();
const char* gemm_backend();

// A plain GEMM (M×K activations times an N×K nn.Linear weight of `dtype`)
// through linear() on `threads` threads; returns the best GFLOP/s of `iters`
// timed repetitions after one warm-up (the binding's native.gemmBench).
double gemm_bench(int64_t M, int64_t N, int64_t K, int threads, int iters = 5, DType dtype = DType::F32);

}  // namespace cpu
}  // namespace dpzo
