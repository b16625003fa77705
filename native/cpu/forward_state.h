// defines: ForwardState (the activation arena of one forward, grow-only and
// reused across calls, owned by the CPU backend and accounted in its
// MemoryTracker), the per-family graph entry points, the forward entry points
// the CPU backend calls, and small helpers the graphs share. Internal to cpu/.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cpu/attention.h"
#include "cpu/gemm.h"
#include "cpu/loss.h"
#include "cpu/rope.h"
#include "cpu/virtual_point.h"
#include "dpzo/batch_check.h"
#include "dpzo/forward.h"
#include "dpzo/model.h"
#include "dpzo/weights.h"

namespace dpzo {

// Keys and values of every layer for one sequence being generated, so each
// new token runs the trunk on itself only. Rows are bitwise those a full
// recomputation would produce (the GEMM is batch-invariant).
struct KvCache {
  bool active = false;
  int64_t len = 0, cap = 0, dim = 0;     // cached positions, allocated positions, kv_heads·head_dim
  int64_t limit = 0;                     // positions the call may reach (the context: ≤ max positions)
  std::vector<std::vector<float>> k, v;  // per layer: (cap, dim)
  // An empty cache for `layers` layers that may grow to `limit` positions. Nothing is allocated yet: a cache sized
  // for the whole context up front took max positions × layers × 2 rows (gigabytes for a long-context Llama) even
  // when an eos ended generation after one token.
  void reset(int64_t layers, int64_t limit, int64_t kv_dim);
  // Room for `positions` (≤ limit) cached positions, grown by doubling (contents kept); true when it grew.
  bool ensure(int64_t positions);
  int64_t bytes() const;
};

struct ForwardState {
  MemoryTracker* mem = nullptr;  // where growth of the arena is reported
  cpu::GemmWorkspace ws;
  std::vector<float> x;                    // (T, H) residual stream; the trunk's output
  std::vector<float> h;                    // (T, max(H, E)) normalised input of a sublayer
  std::vector<float> qkv;                  // (T, q + 2·kv) projections
  std::vector<float> att;                  // (T, heads·head_dim) attention output
  std::vector<float> mlp;                  // (T, I) hidden of the MLP (gate for SwiGLU)
  std::vector<float> mlp2;                 // (T, I) SwiGLU's up projection
  std::vector<int32_t> pos;                // (T) position of each token within its sequence
  std::vector<std::vector<float>> scores;  // per worker: attention scores
  cpu::RopeTable rope;
  cpu::LossScratch loss;
  KvCache kv;
  std::vector<float> rows, rows_out;  // gathered rows that reach the head
  int64_t tracked = 0;                // bytes reported to `mem`
  // The virtual points of the forward in progress (null: θ as stored) and how its rows split among them: the
  // tokens of the trunk and the gathered rows of the head, each point's rows contiguous, in point order.
  const cpu::VirtualSet* points = nullptr;
  cpu::VirtualRows token_rows, head_rows;
  std::vector<float> norm_params;  // a norm's gain and bias at one point

  const cpu::VirtualRows* trunk_at() const { return points ? &token_rows : nullptr; }
  const cpu::VirtualRows* head_at() const { return points ? &head_rows : nullptr; }

  ForwardState() = default;
  ForwardState(const ForwardState&) = delete;
  ForwardState& operator=(const ForwardState&) = delete;
  ~ForwardState();  // reports the arena freed
  int64_t bytes() const;
  void account();  // reports growth/shrink since the last call
};

namespace cpu {

template <class T>
void grow(std::vector<T>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(n);
}

// A tensor's data, or null when the config switched it off (an absent bias).
inline const void* param(const WeightView& w) { return w.data; }
// A 2-D weight as stored: nn.Linear (out, in) or GPT-2 Conv1D (in, out).
Weight linear_weight(const WeightView& w, WLayout layout);
// The same weight (and its bias, when given) as a product reads it: at the virtual point of each row group
// of `at` (trainable tensors only), or as stored when `at` is null.
Weight bind(const WeightView& w, WLayout layout, const VirtualRows* at, const WeightView* bias = nullptr);
// (T, dim) rows of an embedding table: out[t] (+)= table[ids[t] + offset] in F32, read at the point of row t
// when `at` is given.
void embed_rows(ThreadPool& pool, const WeightView& table, const int32_t* ids, int64_t T, int64_t add_offset,
                float* out, int64_t dim, bool accumulate, const VirtualRows* at);
// layer_norm / rms_norm (cpu/norms.h) whose gain and bias are read at the point of each row group of `at`.
void layer_norm_at(ThreadPool& pool, ForwardState& st, const VirtualRows* at, int64_t rows, int64_t n, const float* x,
                   int64_t ldx, const WeightView& w, const WeightView& b, double eps, float* out, int64_t ldo);
// heads > 1: `heads` sub-rows of n per row (cpu/norms.h rms_norm).
void rms_norm_at(ThreadPool& pool, ForwardState& st, const VirtualRows* at, int64_t rows, int64_t n, const float* x,
                 int64_t ldx, const WeightView& w, double eps, float* out, int64_t ldo, int64_t heads = 1);

// Attention of layer `layer` for st's batch: plain causal attention over the
// packed qkv, or, while st.kv is active, appends the new keys/values to the
// cache and attends over it. `cancel` (may be null): checked per attention task (cpu/attention.h).
void attend(ThreadPool& pool, ForwardState& st, int64_t layer, const float* qkv, AttentionShape as,
            const std::vector<int64_t>& offsets, float* out, int64_t ldo, const CancelToken* cancel);

// The trunk: token ids (T, packed as `offsets`) → st.x (T, H) before the final norm.
void trunk_gpt2(Model& m, ForwardState& st, const int32_t* ids, int64_t T, const std::vector<int64_t>& offsets,
                const CancelToken* cancel);
void trunk_opt(Model& m, ForwardState& st, const int32_t* ids, int64_t T, const std::vector<int64_t>& offsets,
               const CancelToken* cancel);
void trunk_llama(Model& m, ForwardState& st, const int32_t* ids, int64_t T, const std::vector<int64_t>& offsets,
                 const CancelToken* cancel);
// The head's input for R gathered trunk rows (final norm, OPT project_out): (R, E) into out.
void final_gpt2(Model& m, ForwardState& st, const float* in, int64_t R, float* out);
void final_opt(Model& m, ForwardState& st, const float* in, int64_t R, float* out);
void final_llama(Model& m, ForwardState& st, const float* in, int64_t R, float* out);

// The core's check of a loss batch (dpzo/batch_check.h); the backward (cpu/backward.cpp) checks the same way.
using dpzo::validate_loss_batch;
using dpzo::validate_offsets;
using dpzo::validate_tokens;

// The forward entry points of the CPU backend (cpu/forward.cpp): batch validation, trunk, final norm, head.
// One LossOutput per virtual point of opts (one at θ when it has none), all points in one pass.
std::vector<LossOutput> per_example_loss(Model& m, ForwardState& st, const PackedBatch& batch,
                                         const ForwardOptions& opts, const CancelToken* cancel);
std::vector<float> logits_at(Model& m, ForwardState& st, const PackedBatch& batch,
                             const std::vector<int64_t>& positions, const CancelToken* cancel);
std::vector<int32_t> generate_greedy(Model& m, ForwardState& st, const std::vector<int32_t>& prompt, int n,
                                     int32_t eos_id, const CancelToken* cancel);

}  // namespace cpu
}  // namespace dpzo
