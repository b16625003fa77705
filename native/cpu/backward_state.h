// defines: TrainState (the activations a training forward keeps for the
// backward, and the backward's scratch; grow-only, owned by the CPU backend and
// accounted in its MemoryTracker), the per-family training graphs and the
// entry point cpu::loss_and_gradient. Internal to cpu/.
#pragma once
#include <cstdint>
#include <vector>

#include "cpu/attention.h"
#include "cpu/backward_loss.h"
#include "cpu/gemm.h"
#include "cpu/ghost_norms.h"
#include "cpu/loss.h"
#include "cpu/rope.h"
#include "dpzo/backend.h"
#include "dpzo/forward.h"
#include "dpzo/model.h"
#include "dpzo/weights.h"

namespace dpzo {

// What one block's backward reads, saved by the training forward (T rows each). Norm outputs and GPT-2/OPT's
// activation output are not kept: the backward recomputes them from the saved inputs with the forward's own
// kernels (bitwise the same values), which keeps 10 of GPT-2's 16 floats per token and layer.
struct LayerActs {
  std::vector<float> x_in;   // (T, H) the residual stream entering the block
  std::vector<float> qkv;    // (T, q + 2·kv) projections, after RoPE
  std::vector<float> att;    // (T, heads·head_dim) attention output
  std::vector<float> x_mid;  // (T, H) the residual stream between the two sublayers (post-LN: before its norm)
  std::vector<float> a1;     // (T, I) gate / fc1 pre-activation
  std::vector<float> a2;     // (T, I) Llama only: the up projection
  std::vector<float> x_out;  // (T, H) post-LN only: the block's output before its norm
  std::vector<float> qk;     // (T, q + kv) Qwen3 only: q and k as projected, the input of q_norm / k_norm
};

struct TrainState {
  MemoryTracker* mem = nullptr;
  int64_t tracked = 0;
  cpu::GemmWorkspace ws;
  std::vector<std::vector<float>> scores;  // per worker: attention scores of the forward
  cpu::RopeTable rope;
  cpu::LossScratch loss;
  cpu::LossGradScratch loss_grad;
  std::vector<int32_t> pos;  // (T) position of each token in its sequence
  std::vector<LayerActs> layers;
  std::vector<float> x;                      // (T, H) the trunk's output
  std::vector<float> rows, rows_out;         // (R, H), (R, E): gathered target rows, the head's input
  std::vector<float> rows_mid, dmid;         // OPT: the final norm's output before project_out; a gradient
  std::vector<float> drows_out, drows;       // their gradients
  std::vector<float> dx, dh, dqkv, datt;     // gradients: residual (T, H), sublayer input, q|k|v, attention
  std::vector<float> act, da1, da2, tr, ns;  // MLP hidden, its gradients, transposes, norm statistics
  std::vector<float> tmp;                    // (T, E) OPT: the token embeddings, project_in's input
  std::vector<float> hn;                     // (T, H) a norm's output, recomputed in the backward
  std::vector<float> dqk;                    // (T, q + kv) Qwen3: the gradient of q and k before q_norm / k_norm
  GhostNorms ghost_store;                    // per-example gradient norms' state (cpu/ghost_norms.h)
  GhostNorms* ghost = nullptr;               // &ghost_store while per_example_grad_norms runs, else null

  TrainState() = default;
  TrainState(const TrainState&) = delete;
  TrainState& operator=(const TrainState&) = delete;
  ~TrainState();
  int64_t bytes() const;
  void account();
};

namespace cpu {

// The gradient slot of a parameter in the flat trainable space (ARCHITECTURE §2: element e of the tensor at
// grad[global_offset + e]), or null when the tensor is absent or frozen.
inline float* grad_of(const WeightView& w, float* grad) {
  return w.present() && w.trainable() ? grad + w.global_offset : nullptr;
}
inline bool trainable(const WeightView& w) { return w.present() && w.trainable(); }
// Where the backward writes a parameter's gradient: grad_of, or null while only per-example norms are asked
// (ts.ghost; grad is then null too): the norms need the layers' output gradients, not the parameters'.
inline float* grad_out(const TrainState& ts, const WeightView& w, float* grad) {
  return ts.ghost ? nullptr : grad_of(w, grad);
}
inline const float* f32(const WeightView& w) { return static_cast<const float*>(w.data); }

// Per family: the training forward of the trunk (token ids → ts.x, saving each block's activations), the
// final norm (+ OPT project_out) of R gathered rows, and their backwards. The backwards add parameter
// gradients into `grad`; trunk backward consumes ts.dx (T, H), the gradient of ts.x.
void train_trunk_llama(Model& m, TrainState& ts, const int32_t* ids, int64_t T, const std::vector<int64_t>& offsets,
                       const CancelToken* cancel);
void train_final_llama(Model& m, TrainState& ts, int64_t R);
void back_final_llama(Model& m, TrainState& ts, int64_t R, float* grad);
void back_trunk_llama(Model& m, TrainState& ts, const int32_t* ids, int64_t T, const std::vector<int64_t>& offsets,
                      float* grad, const CancelToken* cancel);

void train_trunk_gpt2(Model& m, TrainState& ts, const int32_t* ids, int64_t T, const std::vector<int64_t>& offsets,
                      const CancelToken* cancel);
void train_final_gpt2(Model& m, TrainState& ts, int64_t R);
void back_final_gpt2(Model& m, TrainState& ts, int64_t R, float* grad);
void back_trunk_gpt2(Model& m, TrainState& ts, const int32_t* ids, int64_t T, const std::vector<int64_t>& offsets,
                     float* grad, const CancelToken* cancel);

void train_trunk_opt(Model& m, TrainState& ts, const int32_t* ids, int64_t T, const std::vector<int64_t>& offsets,
                     const CancelToken* cancel);
void train_final_opt(Model& m, TrainState& ts, int64_t R);
void back_final_opt(Model& m, TrainState& ts, int64_t R, float* grad);
void back_trunk_opt(Model& m, TrainState& ts, const int32_t* ids, int64_t T, const std::vector<int64_t>& offsets,
                    float* grad, const CancelToken* cancel);

// The CPU backend's Backend::loss_and_gradient (cpu/backward.cpp). With ts.ghost set it also accumulates
// each sequence's squared gradient norm into ts.ghost->sq (cpu/ghost_norms.h).
LossGradient loss_and_gradient(Model& m, TrainState& ts, const PackedBatch& batch, const GradientOptions& opts,
                               const CancelToken* cancel);
// The CPU backend's Backend::per_example_grad_norms (cpu/ghost_clip.cpp).
GradNorms per_example_grad_norms(Model& m, TrainState& ts, const PackedBatch& batch, const GradNormOptions& opts,
                                 const CancelToken* cancel);

template <class T>
void grow_to(std::vector<T>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(n);
}

}  // namespace cpu
}  // namespace dpzo
