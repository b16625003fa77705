// defines: causal_attention (see attention.h). Each task is one (sequence,
// head, block of queries): S = Q·Kᵀ over the keys the block can see, scaled,
// masked, softmaxed row by row, then O = P·V — both products on the own GEMM,
// so only the sequence itself ever enters a row's arithmetic.
#include "cpu/attention.h"

#include <algorithm>

#include "cpu/vmath.h"

namespace dpzo {
namespace cpu {

namespace {
constexpr int64_t kQueryBlock = 128;  // bounds the score scratch to 128 × sequence length
}

void causal_attention(ThreadPool& pool, GemmWorkspace& ws, std::vector<std::vector<float>>& scores, const float* qkv,
                      const AttentionShape& s, const int64_t* offsets, int64_t n_seq, float* out, int64_t ldo,
                      const CancelToken* cancel) {
  const int64_t group = s.n_heads / s.n_kv_heads;
  struct Task {
    int64_t seq, q0, q1;
  };
  std::vector<Task> blocks;
  int64_t longest = 0;
  for (int64_t q = 0; q < n_seq; ++q) {
    const int64_t L = offsets[q + 1] - offsets[q];
    longest = std::max(longest, L);
    for (int64_t q0 = 0; q0 < L; q0 += kQueryBlock) blocks.push_back({q, q0, std::min(L, q0 + kQueryBlock)});
  }
  if (static_cast<int>(scores.size()) < pool.size()) scores.resize(pool.size());
  for (auto& sc : scores)
    if (static_cast<int64_t>(sc.size()) < kQueryBlock * (s.q_pos0 + longest))
      sc.resize(kQueryBlock * (s.q_pos0 + longest));
  ws.ensure_workers(pool.size());
  const VmathOps& vm = vmath();
  const int64_t n_tasks = static_cast<int64_t>(blocks.size()) * s.n_heads;
  pool.run(n_tasks, [&](int64_t task, int worker) {
    check_cancel(cancel);
    const Task& b = blocks[task / s.n_heads];
    const int64_t h = task % s.n_heads, kvh = h / group;
    const int64_t start = offsets[b.seq], M = b.q1 - b.q0, n_keys = s.q_pos0 + b.q1;
    float* S = scores[worker].data();  // (M, n_keys)
    const bool cached = s.k_cache != nullptr;
    const float* kp = cached ? s.k_cache + kvh * s.head_dim : qkv + start * s.ld + s.k_col + kvh * s.head_dim;
    const float* vp = cached ? s.v_cache + kvh * s.head_dim : qkv + start * s.ld + s.v_col + kvh * s.head_dim;
    const int64_t kv_ld = cached ? s.kv_ld : s.ld;
    gemm_serial(ws, worker, M, n_keys, s.head_dim, qkv + (start + b.q0) * s.ld + s.q_col + h * s.head_dim, s.ld,
                Weight{kp, DType::F32, WLayout::OutIn, kv_ld}, S, n_keys);
    for (int64_t i = 0; i < M; ++i) {
      float* row = S + i * n_keys;
      const int64_t visible = s.q_pos0 + b.q0 + i + 1;  // causal: keys up to the query's own position
      for (int64_t j = 0; j < visible; ++j) row[j] *= s.scale;
      vm.softmax(row, visible);
      for (int64_t j = visible; j < n_keys; ++j) row[j] = 0.f;
    }
    gemm_serial(ws, worker, M, s.head_dim, n_keys, S, n_keys, Weight{vp, DType::F32, WLayout::InOut, kv_ld},
                out + (start + b.q0) * ldo + h * s.head_dim, ldo);
  });
}

}  // namespace cpu
}  // namespace dpzo
