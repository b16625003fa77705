// defines: train_trunk_opt, train_final_opt, back_final_opt, back_trunk_opt — OPT's training forward (the
// kernels of forward_opt.cpp at θ, keeping each block's activations) and its backward: learned positions
// offset by 2, pre-LN or post-LN blocks, ReLU (per config), project_in / project_out when
// word_embed_proj_dim != hidden_size, optional final layer norm, tied or untied head.
//
// Saved per block: pre-LN as GPT-2 (x_in, x_mid: the norms' inputs); post-LN x_in (the projections'
// input), x_mid = the sum before self_attn_layer_norm (whose output is the MLP's input), x_out = the sum
// before final_layer_norm. Norm and activation outputs are recomputed by the backward.
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

void train_trunk_opt(Model& m, TrainState& ts, const int32_t* ids, int64_t T, const std::vector<int64_t>& offsets,
                     const CancelToken* cancel) {
  const ModelConfig& c = m.config();
  ThreadPool& pool = m.pool();
  const ModelWeights& w = m.weights();
  const int64_t H = c.hidden_size, E = c.word_embed_proj_dim, I = c.intermediate_size;
  const int64_t n_seq = static_cast<int64_t>(offsets.size()) - 1;
  const bool pre = c.do_layer_norm_before;
  ts.layers.resize(c.num_layers);
  grow_to(ts.x, T * H);
  grow_to(ts.hn, T * H);
  grow_to(ts.act, T * I);
  float *x = ts.x.data(), *hn = ts.hn.data(), *act = ts.act.data();
  // x = project_in(embed_tokens[token]) + embed_positions[position + 2]; ts.tmp keeps the embeddings
  if (E != H) {
    grow_to(ts.tmp, T * E);
    embed_rows(pool, w.tok_emb, ids, T, 0, ts.tmp.data(), E, false, nullptr);
    linear(pool, ts.ws, T, H, E, ts.tmp.data(), E, linear_weight(w.project_in, WLayout::OutIn), nullptr, x, H, false,
           cancel);
  } else {
    embed_rows(pool, w.tok_emb, ids, T, 0, x, H, false, nullptr);
  }
  embed_rows(pool, w.pos_emb, ts.pos.data(), T, c.position_offset, x, H, true, nullptr);
  const AttentionShape as = packed_mha(c.num_heads, c.head_dim);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const LayerWeights& L = w.layers[l];
    LayerActs& A = ts.layers[l];
    for (auto* v : {&A.x_in, &A.att, &A.x_mid}) grow_to(*v, T * H);
    if (!pre) grow_to(A.x_out, T * H);
    grow_to(A.qkv, T * 3 * H);
    grow_to(A.a1, T * I);
    std::copy_n(x, T * H, A.x_in.data());
    const float* in = A.x_in.data();
    if (pre) {
      layer_norm(pool, T, H, x, H, param(L.norm1_w), param(L.norm1_b), DType::F32, c.norm_eps, hn, H);
      in = hn;
    }
    const WeightView* proj_w[3] = {&L.q_w, &L.k_w, &L.v_w};
    const WeightView* proj_b[3] = {&L.q_b, &L.k_b, &L.v_b};
    for (int j = 0; j < 3; ++j)
      linear(pool, ts.ws, T, H, H, in, H, linear_weight(*proj_w[j], WLayout::OutIn), param(*proj_b[j]),
             A.qkv.data() + j * H, 3 * H, false, cancel);
    causal_attention(pool, ts.ws, ts.scores, A.qkv.data(), as, offsets.data(), n_seq, A.att.data(), H, cancel);
    linear(pool, ts.ws, T, H, H, A.att.data(), H, linear_weight(L.o_w, WLayout::OutIn), param(L.o_b), x, H, true,
           cancel);
    std::copy_n(x, T * H, A.x_mid.data());
    if (pre)
      layer_norm(pool, T, H, x, H, param(L.norm2_w), param(L.norm2_b), DType::F32, c.norm_eps, hn, H);
    else
      layer_norm(pool, T, H, x, H, param(L.norm1_w), param(L.norm1_b), DType::F32, c.norm_eps, x, H);
    linear(pool, ts.ws, T, I, H, pre ? hn : x, H, linear_weight(L.fc1_w, WLayout::OutIn), param(L.fc1_b), A.a1.data(),
           I, false, cancel);
    std::copy_n(A.a1.data(), T * I, act);
    activate(pool, c.activation, act, T * I);
    linear(pool, ts.ws, T, H, I, act, I, linear_weight(L.fc2_w, WLayout::OutIn), param(L.fc2_b), x, H, true, cancel);
    if (!pre) {
      std::copy_n(x, T * H, A.x_out.data());
      layer_norm(pool, T, H, x, H, param(L.norm2_w), param(L.norm2_b), DType::F32, c.norm_eps, x, H);
    }
    if (cancel) cancel->check();
  }
}

void train_final_opt(Model& m, TrainState& ts, int64_t R) {
  const ModelConfig& c = m.config();
  const ModelWeights& w = m.weights();
  const int64_t H = c.hidden_size, E = c.word_embed_proj_dim;
  const float* src = ts.rows.data();
  if (c.opt_final_layer_norm) {
    grow_to(ts.rows_mid, R * H);
    layer_norm(m.pool(), R, H, src, H, param(w.final_norm_w), param(w.final_norm_b), DType::F32, c.norm_eps,
               ts.rows_mid.data(), H);
    src = ts.rows_mid.data();
  }
  if (E != H)
    linear(m.pool(), ts.ws, R, E, H, src, H, linear_weight(w.project_out, WLayout::OutIn), nullptr, ts.rows_out.data(),
           E, false);
  else
    std::copy_n(src, R * H, ts.rows_out.data());
}

void back_final_opt(Model& m, TrainState& ts, int64_t R, float* grad) {
  const ModelConfig& c = m.config();
  const ModelWeights& w = m.weights();
  const int64_t H = c.hidden_size, E = c.word_embed_proj_dim;
  const float* src = c.opt_final_layer_norm ? ts.rows_mid.data() : ts.rows.data();
  // d (R, H): the gradient of the project_out input, or of the final norm's output
  const float* d = ts.drows_out.data();
  if (E != H) {
    grow_to(ts.dmid, R * H);
    linear_backward(m.pool(), ts.ws, ts.tr, R, E, H, src, H, ts.drows_out.data(), E, f32(w.project_out), WLayout::OutIn,
                    H, grad_out(ts, w.project_out, grad), nullptr, ts.dmid.data(), H, false);
    if (ts.ghost)
      ghost_linear(m.pool(), ts.ws, *ts.ghost, ts.ghost->row_off, src, H, ts.drows_out.data(), E, E, H,
                   trainable(w.project_out), false);
    d = ts.dmid.data();
  }
  if (c.opt_final_layer_norm) {
    std::fill_n(ts.drows.data(), R * H, 0.f);
    layer_norm_backward(m.pool(), R, H, ts.rows.data(), H, f32(w.final_norm_w), c.norm_eps, d, H, ts.drows.data(), H,
                        grad_out(ts, w.final_norm_w, grad), grad_out(ts, w.final_norm_b, grad), ts.ns);
    if (ts.ghost)
      ghost_norm(m.pool(), *ts.ghost, ts.ghost->row_off, H, ts.rows.data(), H, c.norm_eps, false, d, H,
                 trainable(w.final_norm_w), trainable(w.final_norm_b));
  } else {
    std::copy_n(d, R * H, ts.drows.data());
  }
}

void back_trunk_opt(Model& m, TrainState& ts, const int32_t* ids, int64_t T, const std::vector<int64_t>& offsets,
                    float* grad, const CancelToken* cancel) {
  const ModelConfig& c = m.config();
  ThreadPool& pool = m.pool();
  const ModelWeights& w = m.weights();
  const int64_t H = c.hidden_size, E = c.word_embed_proj_dim, I = c.intermediate_size;
  const int64_t n_seq = static_cast<int64_t>(offsets.size()) - 1;
  const bool pre = c.do_layer_norm_before;
  const AttentionShape as = packed_mha(c.num_heads, c.head_dim);
  grow_to(ts.dh, T * H);
  grow_to(ts.dqkv, T * 3 * H);
  grow_to(ts.datt, T * H);
  grow_to(ts.da1, T * I);
  float *dx = ts.dx.data(), *dhn = ts.dh.data(), *dqkv = ts.dqkv.data(), *datt = ts.datt.data(), *da1 = ts.da1.data();
  float *hn = ts.hn.data(), *act = ts.act.data();
  auto lin = [&](const float* X, int64_t ldx, const float* dY, int64_t ldy, int64_t N, int64_t K, const WeightView& W,
                 const WeightView& b, float* dX, int64_t lddx, bool acc) {
    check_cancel(cancel);  // before each of the layer's products
    linear_backward(pool, ts.ws, ts.tr, T, N, K, X, ldx, dY, ldy, f32(W), WLayout::OutIn, W.cols, grad_out(ts, W, grad),
                    grad_out(ts, b, grad), dX, lddx, acc);
    if (ts.ghost) ghost_linear(pool, ts.ws, *ts.ghost, offsets, X, ldx, dY, ldy, N, K, trainable(W), trainable(b));
  };
  // per-example norms of a LayerNorm's weight and bias (ts.ghost only): its input x and output gradient dy
  auto ghost_ln = [&](const float* x, const float* dy, const WeightView& nw, const WeightView& nb) {
    if (ts.ghost) ghost_norm(pool, *ts.ghost, offsets, H, x, H, c.norm_eps, false, dy, H, trainable(nw), trainable(nb));
  };
  // post-LN: dx ← ∂/∂(sum before the norm) of a norm whose output gradient dx holds (dhn as scratch)
  auto through_norm = [&](const std::vector<float>& sum, const WeightView& nw, const WeightView& nb) {
    std::fill_n(dhn, T * H, 0.f);
    layer_norm_backward(pool, T, H, sum.data(), H, f32(nw), c.norm_eps, dx, H, dhn, H, grad_out(ts, nw, grad),
                        grad_out(ts, nb, grad), ts.ns);
    ghost_ln(sum.data(), dx, nw, nb);
    std::copy_n(dhn, T * H, dx);
  };
  const WeightView* proj_w[3];
  const WeightView* proj_b[3];
  for (int64_t l = c.num_layers - 1; l >= 0; --l) {
    const LayerWeights& L = w.layers[l];
    const LayerActs& A = ts.layers[l];
    if (!pre) through_norm(A.x_out, L.norm2_w, L.norm2_b);
    // MLP: da1 = dx·W_fc2, through ReLU; its input's gradient goes to dhn (pre-LN) or straight into dx
    std::copy_n(A.a1.data(), T * I, act);
    activate(pool, c.activation, act, T * I);
    lin(act, I, dx, H, H, I, L.fc2_w, L.fc2_b, da1, I, false);
    activation_backward(pool, c.activation, A.a1.data(), da1, T * I);
    // the MLP's input: ln2(x_mid) pre-LN, ln1(x_mid) post-LN
    layer_norm(pool, T, H, A.x_mid.data(), H, param(pre ? L.norm2_w : L.norm1_w), param(pre ? L.norm2_b : L.norm1_b),
               DType::F32, c.norm_eps, hn, H);
    if (pre) {
      lin(hn, H, da1, I, I, H, L.fc1_w, L.fc1_b, dhn, H, false);
      layer_norm_backward(pool, T, H, A.x_mid.data(), H, f32(L.norm2_w), c.norm_eps, dhn, H, dx, H,
                          grad_out(ts, L.norm2_w, grad), grad_out(ts, L.norm2_b, grad), ts.ns);
      ghost_ln(A.x_mid.data(), dhn, L.norm2_w, L.norm2_b);
    } else {
      lin(hn, H, da1, I, I, H, L.fc1_w, L.fc1_b, dx, H, true);
      through_norm(A.x_mid, L.norm1_w, L.norm1_b);
    }
    // attention: datt = dx·W_o; dq|dk|dv; the projections' input gradient as above
    lin(A.att.data(), H, dx, H, H, H, L.o_w, L.o_b, datt, H, false);
    causal_attention_backward(pool, A.qkv.data(), as, offsets.data(), n_seq, datt, H, dqkv, cancel);
    proj_w[0] = &L.q_w, proj_w[1] = &L.k_w, proj_w[2] = &L.v_w;
    proj_b[0] = &L.q_b, proj_b[1] = &L.k_b, proj_b[2] = &L.v_b;
    if (pre)
      layer_norm(pool, T, H, A.x_in.data(), H, param(L.norm1_w), param(L.norm1_b), DType::F32, c.norm_eps, hn, H);
    const float* in = pre ? hn : A.x_in.data();
    for (int j = 0; j < 3; ++j)
      lin(in, H, dqkv + j * H, 3 * H, H, H, *proj_w[j], *proj_b[j], pre ? dhn : dx, H, !pre || j > 0);
    if (pre) {
      layer_norm_backward(pool, T, H, A.x_in.data(), H, f32(L.norm1_w), c.norm_eps, dhn, H, dx, H,
                          grad_out(ts, L.norm1_w, grad), grad_out(ts, L.norm1_b, grad), ts.ns);
      ghost_ln(A.x_in.data(), dhn, L.norm1_w, L.norm1_b);
    }
    if (cancel) cancel->check();
  }
  if (float* dp = grad_out(ts, w.pos_emb, grad))
    embedding_backward(pool, ts.pos.data(), T, c.position_offset, dx, H, dp);
  if (ts.ghost && trainable(w.pos_emb)) ghost_embedding(pool, *ts.ghost, ts.pos.data(), dx, H, false, cancel);
  float* de = grad_out(ts, w.tok_emb, grad);
  const bool te = trainable(w.tok_emb);  // de is null for a trainable embedding when only norms are asked
  if (E != H) {
    // x = embeddings (ts.tmp, T × E)·project_inᵀ: the embeddings' gradient in ts.dmid
    grow_to(ts.dmid, T * E);
    linear_backward(pool, ts.ws, ts.tr, T, H, E, ts.tmp.data(), E, dx, H, f32(w.project_in), WLayout::OutIn, E,
                    grad_out(ts, w.project_in, grad), nullptr, te ? ts.dmid.data() : nullptr, E, false);
    if (ts.ghost)
      ghost_linear(pool, ts.ws, *ts.ghost, offsets, ts.tmp.data(), E, dx, H, H, E, trainable(w.project_in), false);
    if (de) embedding_backward(pool, ids, T, 0, ts.dmid.data(), E, de);
    if (te && ts.ghost) ghost_embedding(pool, *ts.ghost, ids, ts.dmid.data(), E, true, cancel);
  } else {
    if (de) embedding_backward(pool, ids, T, 0, dx, H, de);
    if (te && ts.ghost) ghost_embedding(pool, *ts.ghost, ids, dx, H, true, cancel);
  }
}

}  // namespace cpu
}  // namespace dpzo
