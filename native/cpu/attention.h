// defines: AttentionShape, causal_attention — softmax(q·kᵀ·scale)·v per
// sequence and head, causal within each packed sequence only (GQA: query head
// h reads key/value head h / (n_heads / n_kv_heads)).
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "cpu/gemm.h"
#include "dpzo/thread_pool.h"

namespace dpzo {
namespace cpu {

struct AttentionShape {
  int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0;
  int64_t q_col = 0, k_col = 0, v_col = 0;  // first column of q, k, v in each qkv row
  int64_t ld = 0;                           // qkv row stride
  float scale = 1.f;                        // 1/sqrt(head_dim)
  // Generation with a KV cache (one sequence): keys/values of positions
  // 0..q_pos0+L come from these (row stride kv_ld, head kvh at column
  // kvh·head_dim) instead of qkv, and query i sits at position q_pos0 + i.
  const float* k_cache = nullptr;
  const float* v_cache = nullptr;
  int64_t kv_ld = 0;
  int64_t q_pos0 = 0;
};

// Multi-head attention over a packed [q | k | v] row of width 3·heads·head_dim
// (GPT-2's c_attn output, OPT's q/k/v written side by side).
inline AttentionShape packed_mha(int64_t heads, int64_t head_dim) {
  AttentionShape as;
  as.n_heads = as.n_kv_heads = heads;
  as.head_dim = head_dim;
  as.q_col = 0;
  as.k_col = heads * head_dim;
  as.v_col = 2 * heads * head_dim;
  as.ld = 3 * heads * head_dim;
  as.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  return as;
}

// out[t, h·head_dim ...] for every token t; offsets has n_seq+1 entries.
// scores: per-worker scratch (grow-only). `cancel` (may be null) is checked before each (sequence, head, query
// block) task: a layer's attention over long sequences is O(T²) and ran to its end after an abort.
void causal_attention(ThreadPool& pool, GemmWorkspace& ws, std::vector<std::vector<float>>& scores, const float* qkv,
                      const AttentionShape& s, const int64_t* offsets, int64_t n_seq, float* out, int64_t ldo,
                      const CancelToken* cancel = nullptr);

}  // namespace cpu
}  // namespace dpzo
