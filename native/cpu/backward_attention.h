// defines: causal_attention_backward — the gradient of causal_attention
// (cpu/attention.h) with respect to its packed q, k, v, recomputing each
// query's softmax from q and k instead of storing the probabilities.
#pragma once
#include <cstdint>

#include "cpu/attention.h"
#include "dpzo/thread_pool.h"

namespace dpzo {
namespace cpu {

// qkv: the forward's packed input (after RoPE), layout `s`; dout (T, heads·head_dim, row stride ldd): the
// gradient of the attention output. Writes dqkv (T, s.ld), every q/k/v column overwritten (other columns of
// a row untouched). One task per (sequence, key/value head) owns its keys' and queries' gradients: no races.
// `cancel` (may be null) is checked every 64 query rows of a head (a task is O(L²) for a sequence of L tokens);
// a cancelled call leaves dqkv partly written, which the cancelled op discards.
void causal_attention_backward(ThreadPool& pool, const float* qkv, const AttentionShape& s, const int64_t* offsets,
                               int64_t n_seq, const float* dout, int64_t ldd, float* dqkv,
                               const CancelToken* cancel = nullptr);

}  // namespace cpu
}  // namespace dpzo
