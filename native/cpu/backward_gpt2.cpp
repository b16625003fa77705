// defines: train_trunk_gpt2, train_final_gpt2, back_final_gpt2, back_trunk_gpt2 — GPT-2's training forward
// (the kernels of forward_gpt2.cpp at θ, keeping each block's activations) and its backward: pre-LN
// blocks, Conv1D weights stored (in, out), GELU per config, learned positions, tied head.
#include <algorithm>
#include <cmath>

#include "cpu/activations.h"
#include "cpu/attention.h"
#include "cpu/backward_attention.h"
#include "cpu/backward_gemm.h"
#include "cpu/backward_ops.h"
#include "cpu/backward_state.h"
#include "cpu/forward_state.h"
#include "cpu/ghost_norms.h"
#include "cpu/norms.h"

namespace dpzo {
namespace cpu {

void train_trunk_gpt2(Model& m, TrainState& ts, const int32_t* ids, int64_t T, const std::vector<int64_t>& offsets,
                      const CancelToken* cancel) {
  const ModelConfig& c = m.config();
  ThreadPool& pool = m.pool();
  const ModelWeights& w = m.weights();
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  const int64_t n_seq = static_cast<int64_t>(offsets.size()) - 1;
  ts.layers.resize(c.num_layers);
  grow_to(ts.x, T * H);
  grow_to(ts.hn, T * H);
  grow_to(ts.act, T * I);
  // hn: a norm's output, act: the activation's; not kept (the backward recomputes them)
  float *x = ts.x.data(), *hn = ts.hn.data(), *act = ts.act.data();
  // x = wte[token] + wpe[position]
  embed_rows(pool, w.tok_emb, ids, T, 0, x, H, false, nullptr);
  embed_rows(pool, w.pos_emb, ts.pos.data(), T, 0, x, H, true, nullptr);
  const AttentionShape as = packed_mha(c.num_heads, c.head_dim);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const LayerWeights& L = w.layers[l];
    LayerActs& A = ts.layers[l];
    for (auto* v : {&A.x_in, &A.att, &A.x_mid}) grow_to(*v, T * H);
    grow_to(A.qkv, T * 3 * H);
    grow_to(A.a1, T * I);
    std::copy_n(x, T * H, A.x_in.data());
    // x += c_proj(attention(c_attn(ln_1(x))))
    layer_norm(pool, T, H, x, H, param(L.norm1_w), param(L.norm1_b), DType::F32, c.norm_eps, hn, H);
    linear(pool, ts.ws, T, 3 * H, H, hn, H, linear_weight(L.qkv_w, WLayout::InOut), param(L.qkv_b), A.qkv.data(), 3 * H,
           false, cancel);
    causal_attention(pool, ts.ws, ts.scores, A.qkv.data(), as, offsets.data(), n_seq, A.att.data(), H, cancel);
    linear(pool, ts.ws, T, H, H, A.att.data(), H, linear_weight(L.o_w, WLayout::InOut), param(L.o_b), x, H, true,
           cancel);
    std::copy_n(x, T * H, A.x_mid.data());
    // x += c_proj(act(c_fc(ln_2(x)))): a1 the pre-activation
    layer_norm(pool, T, H, x, H, param(L.norm2_w), param(L.norm2_b), DType::F32, c.norm_eps, hn, H);
    linear(pool, ts.ws, T, I, H, hn, H, linear_weight(L.fc1_w, WLayout::InOut), param(L.fc1_b), A.a1.data(), I, false,
           cancel);
    std::copy_n(A.a1.data(), T * I, act);
    activate(pool, c.activation, act, T * I);
    linear(pool, ts.ws, T, H, I, act, I, linear_weight(L.fc2_w, WLayout::InOut), param(L.fc2_b), x, H, true, cancel);
    if (cancel) cancel->check();
  }
}

void train_final_gpt2(Model& m, TrainState& ts, int64_t R) {
  const ModelConfig& c = m.config();
  const ModelWeights& w = m.weights();
  layer_norm(m.pool(), R, c.hidden_size, ts.rows.data(), c.hidden_size, param(w.final_norm_w), param(w.final_norm_b),
             DType::F32, c.norm_eps, ts.rows_out.data(), c.hidden_size);
}

void back_final_gpt2(Model& m, TrainState& ts, int64_t R, float* grad) {
  const ModelConfig& c = m.config();
  const ModelWeights& w = m.weights();
  const int64_t H = c.hidden_size;
  std::fill_n(ts.drows.data(), R * H, 0.f);
  layer_norm_backward(m.pool(), R, H, ts.rows.data(), H, f32(w.final_norm_w), c.norm_eps, ts.drows_out.data(), H,
                      ts.drows.data(), H, grad_out(ts, w.final_norm_w, grad), grad_out(ts, w.final_norm_b, grad),
                      ts.ns);
  if (ts.ghost)
    ghost_norm(m.pool(), *ts.ghost, ts.ghost->row_off, H, ts.rows.data(), H, c.norm_eps, false, ts.drows_out.data(), H,
               trainable(w.final_norm_w), trainable(w.final_norm_b));
}

void back_trunk_gpt2(Model& m, TrainState& ts, const int32_t* ids, int64_t T, const std::vector<int64_t>& offsets,
                     float* grad, const CancelToken* cancel) {
  const ModelConfig& c = m.config();
  ThreadPool& pool = m.pool();
  const ModelWeights& w = m.weights();
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  const int64_t n_seq = static_cast<int64_t>(offsets.size()) - 1;
  const AttentionShape as = packed_mha(c.num_heads, c.head_dim);
  grow_to(ts.dh, T * H);
  grow_to(ts.dqkv, T * 3 * H);
  grow_to(ts.datt, T * H);
  grow_to(ts.da1, T * I);
  float *dx = ts.dx.data(), *dhn = ts.dh.data(), *dqkv = ts.dqkv.data(), *datt = ts.datt.data(), *da1 = ts.da1.data();
  float *hn = ts.hn.data(), *act = ts.act.data();
  auto lin = [&](const float* X, int64_t ldx, const float* dY, int64_t ldy, int64_t N, int64_t K, const WeightView& W,
                 const WeightView& b, float* dX, int64_t lddx) {
    check_cancel(cancel);  // before each of the layer's products
    linear_backward(pool, ts.ws, ts.tr, T, N, K, X, ldx, dY, ldy, f32(W), WLayout::InOut, W.cols, grad_out(ts, W, grad),
                    grad_out(ts, b, grad), dX, lddx, false);
    if (ts.ghost) ghost_linear(pool, ts.ws, *ts.ghost, offsets, X, ldx, dY, ldy, N, K, trainable(W), trainable(b));
  };
  // per-example norms of a LayerNorm's weight and bias (ts.ghost only): its input x and output gradient dy
  auto ghost_ln = [&](const float* x, const float* dy, const WeightView& nw, const WeightView& nb) {
    if (ts.ghost) ghost_norm(pool, *ts.ghost, offsets, H, x, H, c.norm_eps, false, dy, H, trainable(nw), trainable(nb));
  };
  for (int64_t l = c.num_layers - 1; l >= 0; --l) {
    const LayerWeights& L = w.layers[l];
    const LayerActs& A = ts.layers[l];
    // MLP: dm = dx·W_projᵀ; through the activation; dh2 = da1·W_fcᵀ; through ln_2 into the residual
    std::copy_n(A.a1.data(), T * I, act);
    activate(pool, c.activation, act, T * I);
    lin(act, I, dx, H, H, I, L.fc2_w, L.fc2_b, da1, I);
    activation_backward(pool, c.activation, A.a1.data(), da1, T * I);
    layer_norm(pool, T, H, A.x_mid.data(), H, param(L.norm2_w), param(L.norm2_b), DType::F32, c.norm_eps, hn, H);
    lin(hn, H, da1, I, I, H, L.fc1_w, L.fc1_b, dhn, H);
    layer_norm_backward(pool, T, H, A.x_mid.data(), H, f32(L.norm2_w), c.norm_eps, dhn, H, dx, H,
                        grad_out(ts, L.norm2_w, grad), grad_out(ts, L.norm2_b, grad), ts.ns);
    ghost_ln(A.x_mid.data(), dhn, L.norm2_w, L.norm2_b);
    // attention: datt = dx·W_oᵀ; dq|dk|dv; dh1 = dqkv·W_attnᵀ; through ln_1 into the residual
    lin(A.att.data(), H, dx, H, H, H, L.o_w, L.o_b, datt, H);
    causal_attention_backward(pool, A.qkv.data(), as, offsets.data(), n_seq, datt, H, dqkv, cancel);
    layer_norm(pool, T, H, A.x_in.data(), H, param(L.norm1_w), param(L.norm1_b), DType::F32, c.norm_eps, hn, H);
    lin(hn, H, dqkv, 3 * H, 3 * H, H, L.qkv_w, L.qkv_b, dhn, H);
    layer_norm_backward(pool, T, H, A.x_in.data(), H, f32(L.norm1_w), c.norm_eps, dhn, H, dx, H,
                        grad_out(ts, L.norm1_w, grad), grad_out(ts, L.norm1_b, grad), ts.ns);
    ghost_ln(A.x_in.data(), dhn, L.norm1_w, L.norm1_b);
    if (cancel) cancel->check();
  }
  if (float* de = grad_out(ts, w.tok_emb, grad)) embedding_backward(pool, ids, T, 0, dx, H, de);
  if (float* dp = grad_out(ts, w.pos_emb, grad)) embedding_backward(pool, ts.pos.data(), T, 0, dx, H, dp);
  if (ts.ghost && trainable(w.tok_emb)) ghost_embedding(pool, *ts.ghost, ids, dx, H, true, cancel);
  if (ts.ghost && trainable(w.pos_emb)) ghost_embedding(pool, *ts.ghost, ts.pos.data(), dx, H, false, cancel);
}

}  // namespace cpu
}  // namespace dpzo
