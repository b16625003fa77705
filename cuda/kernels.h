// defines: the launchers of the CUDA forward's kernels (dpzo::cuda::k), callable from plain C++ (no CUDA
// headers here). Every pointer is device memory; every launcher enqueues on the default stream (so the
// kernels of one forward run in order) and throws Error(ERR_DEVICE) when the launch fails. Arithmetic is
// float32 with float32 (or double, for norm statistics, as on the CPU) accumulation; weights are read in
// their stored dtype (F32/F16/BF16). Correctness first: simple tiles, no tuning without measurement.
#pragma once
#include <cstdint>

#include "dpzo/dtype.h"

namespace dpzo {
namespace cuda {
namespace k {

// How a 2-D weight is stored: nn.Linear (out, in) or GPT-2's Conv1D (in, out).
enum class Layout { OutIn, InOut };

// A weight matrix (or vector) as a kernel reads it: `data` of `dtype`, leading dimension `ld`.
struct Mat {
  const void* data = nullptr;
  DType dtype = DType::F32;
  int64_t ld = 0;
};

// out[m, n] (+)= Σ_k a[m, k]·W(n, k) + bias[n] over m < M, n < N, k < K; W(n, k) = w[n·ld + k] (OutIn) or
// w[k·ld + n] (InOut); bias may be null. F32 accumulation.
void gemm(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, Mat w, Layout layout, Mat bias, float* out,
          int64_t ldo, bool accumulate);

// out[t, :] (+)= table[ids[t] + add_offset, :] in float32 (t < T, `dim` columns). When n_pairs > 0 the
// table is read at the virtual point: element g = g0 + row·dim + i as fl(w + Σ c_k z(s_k, g)).
void embed(const int32_t* ids, int64_t T, int64_t add_offset, Mat table, int64_t dim, float* out, bool accumulate,
           uint64_t g0, const uint64_t* seeds, const float* coeffs, int n_pairs);

// out[i] = fl(src[i] + Σ_k c_k·z(s_k, g0 + i)) for i < n, k ascending (ARCHITECTURE §2 "Exactness"): the
// float32 value the CPU's values_at gives; with n_pairs = 0 the plain conversion to float32.
void values_at(const void* src, DType dt, uint64_t g0, int64_t n, const uint64_t* seeds, const float* coeffs,
               int n_pairs, float* out);

// out[r] = x[r]·rstd·w (RMSNorm) / (x[r] − mean)·rstd·w + b (LayerNorm), statistics in double as on the CPU.
// RMSNorm with heads > 1: each row holds `heads` sub-rows of n (x[r] + h·n, Qwen3's q/k heads), each
// normalised on its own with the same w. out may alias x.
void rms_norm(int64_t rows, int64_t n, const float* x, int64_t ldx, Mat w, double eps, float* out, int64_t ldo,
              int64_t heads = 1);
void layer_norm(int64_t rows, int64_t n, const float* x, int64_t ldx, Mat w, Mat b, double eps, float* out,
                int64_t ldo);

// Rotate-half RoPE in place on heads [col0, col0 + n_heads·head_dim) of each row, position pos[t], with the
// cos/sin tables (positions × head_dim/2) the CPU computes (cpu::RopeTable).
void rope(float* x, int64_t ld, int64_t T, const int32_t* pos, int64_t col0, int64_t n_heads, int64_t head_dim,
          const float* cos, const float* sin);

// Causal attention within each packed sequence (token t sees seq_start[t] .. t), online softmax (no T×T
// matrix), grouped-query heads: query head h reads kv head h / (n_heads / n_kv_heads). head_dim <= 256.
// Queries are rows [t0, T) of qkv (keys and values rows [seq_start[t], t]); output row t − t0. t0 > 0 is
// the decoding step of a KV cache: the cached rows are keys and values only.
struct Attention {
  int64_t n_heads, n_kv_heads, head_dim, ld, q_col, k_col, v_col;
  float scale;
};
void attention(const float* qkv, const Attention& a, int64_t t0, int64_t T, const int32_t* seq_start, float* out,
               int64_t ldo);
constexpr int64_t kMaxHeadDim = 256;

// gate[i] = silu(gate[i])·up[i]; x[i] = act(x[i]) (activation codes of dpzo::Activation).
void silu_mul(float* gate, const float* up, int64_t n);
void activate(int act, float* x, int64_t n);

// dst[r, :] = src[which[r], :] (R rows of n floats).
void gather_rows(const float* src, int64_t lds, const int64_t* which, int64_t R, int64_t n, float* dst);

// One vocabulary tile of the fused loss: logits (R, cols) of vocabulary [v0, v0 + cols); merges the tile's
// max and Σexp into the running (row_max, row_sum) and picks the target's logit when labels[r] is in it.
void lse_tile(const float* logits, int64_t R, int64_t cols, int64_t v0, const int32_t* labels, float* row_max,
              double* row_sum, float* target, bool first);
// nll[r] = row_max[r] + log(row_sum[r]) − target[r].
void lse_finish(const float* row_max, const double* row_sum, const float* target, int64_t R, double* nll);

// n elements of a tensor initialised as dpzo/random_init.h defines (kind = InitKind, element e at global
// index first + e), stored in `dt` rounded to nearest: the bits of init_fill_host.
void init_random(void* dst, DType dt, int kind, uint64_t seed, uint64_t first, int64_t n);

}  // namespace k
}  // namespace cuda
}  // namespace dpzo
