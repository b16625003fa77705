// defines: train_trunk_llama, train_final_llama, back_final_llama, back_trunk_llama — the Llama family's
// training forward (the same kernels as forward_llama.cpp at θ, keeping each block's activations) and
// its backward: RMSNorm, rotate-half RoPE, grouped-query attention, SwiGLU, optional biases, Qwen3's per-head
// q/k RMSNorm, tied or untied head (a tied head's gradient lands in the embedding's slot, which the lookup's
// gradient adds to).
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
#include "cpu/rope.h"

namespace dpzo {
namespace cpu {

namespace {

AttentionShape llama_attention(const ModelConfig& c) {
  const int64_t dh = c.head_dim, QD = c.num_heads * dh, KVD = c.num_kv_heads * dh;
  AttentionShape as;
  as.n_heads = c.num_heads;
  as.n_kv_heads = c.num_kv_heads;
  as.head_dim = dh;
  as.q_col = 0;
  as.k_col = QD;
  as.v_col = QD + KVD;
  as.ld = QD + 2 * KVD;
  as.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dh)));
  return as;
}

}  // namespace

void train_trunk_llama(Model& m, TrainState& ts, const int32_t* ids, int64_t T, const std::vector<int64_t>& offsets,
                       const CancelToken* cancel) {
  const ModelConfig& c = m.config();
  ThreadPool& pool = m.pool();
  const ModelWeights& w = m.weights();
  const int64_t H = c.hidden_size, I = c.intermediate_size, dh = c.head_dim;
  const AttentionShape as = llama_attention(c);
  const int64_t QD = c.num_heads * dh, KVD = c.num_kv_heads * dh, ld = as.ld;
  const int64_t n_seq = static_cast<int64_t>(offsets.size()) - 1;
  int64_t longest = 0;
  for (int64_t s = 0; s < n_seq; ++s) longest = std::max(longest, offsets[s + 1] - offsets[s]);
  ts.rope.ensure(longest, dh, c.rope_theta, c.rope_scaling);
  ts.layers.resize(c.num_layers);
  grow_to(ts.x, T * H);
  grow_to(ts.act, T * I);
  grow_to(ts.hn, T * H);
  float *x = ts.x.data(), *hn = ts.hn.data();  // hn: a norm's output, not kept (the backward recomputes it)
  embed_rows(pool, w.tok_emb, ids, T, 0, x, H, false, nullptr);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const LayerWeights& L = w.layers[l];
    LayerActs& A = ts.layers[l];
    for (auto* v : {&A.x_in, &A.x_mid}) grow_to(*v, T * H);
    grow_to(A.qkv, T * ld);
    grow_to(A.att, T * QD);
    grow_to(A.a1, T * I);
    grow_to(A.a2, T * I);
    std::copy_n(x, T * H, A.x_in.data());
    // x += o_proj(attention(rope(q), rope(k), v)) on rms_norm(x)
    rms_norm(pool, T, H, x, H, param(L.norm1_w), DType::F32, c.norm_eps, hn, H);
    const WeightView* proj_w[3] = {&L.q_w, &L.k_w, &L.v_w};
    const WeightView* proj_b[3] = {&L.q_b, &L.k_b, &L.v_b};
    const int64_t cols[3] = {QD, KVD, KVD}, col0[3] = {0, QD, QD + KVD};
    for (int j = 0; j < 3; ++j)
      linear(pool, ts.ws, T, cols[j], H, hn, H, linear_weight(*proj_w[j], WLayout::OutIn), param(*proj_b[j]),
             A.qkv.data() + col0[j], ld, false, cancel);
    if (c.qk_norm) {  // Qwen3: keep q, k as projected (the norms' input), then q_norm / k_norm per head
      const int64_t QK = QD + KVD;
      grow_to(A.qk, T * QK);
      for (int64_t t = 0; t < T; ++t) std::copy_n(A.qkv.data() + t * ld, QK, A.qk.data() + t * QK);
      rms_norm(pool, T, dh, A.qkv.data(), ld, param(L.q_norm_w), DType::F32, c.norm_eps, A.qkv.data(), ld, c.num_heads);
      rms_norm(pool, T, dh, A.qkv.data() + QD, ld, param(L.k_norm_w), DType::F32, c.norm_eps, A.qkv.data() + QD, ld,
               c.num_kv_heads);
    }
    apply_rope(pool, ts.rope, A.qkv.data(), ld, T, ts.pos.data(), 0, c.num_heads, dh);
    apply_rope(pool, ts.rope, A.qkv.data(), ld, T, ts.pos.data(), QD, c.num_kv_heads, dh);
    causal_attention(pool, ts.ws, ts.scores, A.qkv.data(), as, offsets.data(), n_seq, A.att.data(), QD, cancel);
    linear(pool, ts.ws, T, H, QD, A.att.data(), QD, linear_weight(L.o_w, WLayout::OutIn), param(L.o_b), x, H, true,
           cancel);
    std::copy_n(x, T * H, A.x_mid.data());
    // x += down(silu(gate(n))·up(n)), n = rms_norm(x)
    rms_norm(pool, T, H, x, H, param(L.norm2_w), DType::F32, c.norm_eps, hn, H);
    linear(pool, ts.ws, T, I, H, hn, H, linear_weight(L.gate_w, WLayout::OutIn), param(L.gate_b), A.a1.data(), I, false,
           cancel);
    linear(pool, ts.ws, T, I, H, hn, H, linear_weight(L.up_w, WLayout::OutIn), param(L.up_b), A.a2.data(), I, false,
           cancel);
    std::copy_n(A.a1.data(), T * I, ts.act.data());
    silu_mul(pool, ts.act.data(), A.a2.data(), T * I);
    linear(pool, ts.ws, T, H, I, ts.act.data(), I, linear_weight(L.down_w, WLayout::OutIn), param(L.down_b), x, H, true,
           cancel);
    if (cancel) cancel->check();
  }
}

void train_final_llama(Model& m, TrainState& ts, int64_t R) {
  const ModelConfig& c = m.config();
  rms_norm(m.pool(), R, c.hidden_size, ts.rows.data(), c.hidden_size, param(m.weights().final_norm_w), DType::F32,
           c.norm_eps, ts.rows_out.data(), c.hidden_size);
}

void back_final_llama(Model& m, TrainState& ts, int64_t R, float* grad) {
  const ModelConfig& c = m.config();
  const int64_t H = c.hidden_size;
  const WeightView& nw = m.weights().final_norm_w;
  std::fill_n(ts.drows.data(), R * H, 0.f);
  rms_norm_backward(m.pool(), R, H, ts.rows.data(), H, f32(nw), c.norm_eps, ts.drows_out.data(), H, ts.drows.data(), H,
                    grad_out(ts, nw, grad), ts.ns);
  if (ts.ghost)
    ghost_norm(m.pool(), *ts.ghost, ts.ghost->row_off, H, ts.rows.data(), H, c.norm_eps, true, ts.drows_out.data(), H,
               trainable(nw), false);
}

void back_trunk_llama(Model& m, TrainState& ts, const int32_t* ids, int64_t T, const std::vector<int64_t>& offsets,
                      float* grad, const CancelToken* cancel) {
  const ModelConfig& c = m.config();
  ThreadPool& pool = m.pool();
  const ModelWeights& w = m.weights();
  const int64_t H = c.hidden_size, I = c.intermediate_size, dh = c.head_dim;
  const AttentionShape as = llama_attention(c);
  const int64_t QD = c.num_heads * dh, KVD = c.num_kv_heads * dh, ld = as.ld;
  const int64_t n_seq = static_cast<int64_t>(offsets.size()) - 1;
  grow_to(ts.dh, T * H);
  grow_to(ts.dqkv, T * ld);
  grow_to(ts.datt, T * QD);
  grow_to(ts.da1, T * I);
  grow_to(ts.da2, T * I);
  float *dx = ts.dx.data(), *dhn = ts.dh.data(), *dqkv = ts.dqkv.data(), *datt = ts.datt.data();
  float *da1 = ts.da1.data(), *da2 = ts.da2.data(), *act = ts.act.data(), *hn = ts.hn.data();
  auto lin = [&](const float* X, int64_t ldx, const float* dY, int64_t ldy, int64_t N, int64_t K, const WeightView& W,
                 const WeightView& b, float* dX, int64_t lddx, bool acc) {
    check_cancel(cancel);  // before each of the layer's products
    linear_backward(pool, ts.ws, ts.tr, T, N, K, X, ldx, dY, ldy, f32(W), WLayout::OutIn, W.cols, grad_out(ts, W, grad),
                    grad_out(ts, b, grad), dX, lddx, acc);
    if (ts.ghost) ghost_linear(pool, ts.ws, *ts.ghost, offsets, X, ldx, dY, ldy, N, K, trainable(W), trainable(b));
  };
  // per-example norms of a norm's weight (ts.ghost only): its input x and output gradient dy, T rows
  auto ghost_rms = [&](const float* x, const float* dy, const WeightView& nw) {
    if (ts.ghost) ghost_norm(pool, *ts.ghost, offsets, H, x, H, c.norm_eps, true, dy, H, trainable(nw), false);
  };
  for (int64_t l = c.num_layers - 1; l >= 0; --l) {
    const LayerWeights& L = w.layers[l];
    const LayerActs& A = ts.layers[l];
    // MLP: dact = dx·W_down; (dgate, dup) through silu(gate)·up; dh2 = dgate·W_gate + dup·W_up
    std::copy_n(A.a1.data(), T * I, act);
    silu_mul(pool, act, A.a2.data(), T * I);
    lin(act, I, dx, H, H, I, L.down_w, L.down_b, da1, I, false);
    swiglu_backward(pool, A.a1.data(), A.a2.data(), da1, da1, da2, T * I);
    rms_norm(pool, T, H, A.x_mid.data(), H, param(L.norm2_w), DType::F32, c.norm_eps, hn, H);  // the MLP's input
    lin(hn, H, da1, I, I, H, L.gate_w, L.gate_b, dhn, H, false);
    lin(hn, H, da2, I, I, H, L.up_w, L.up_b, dhn, H, true);
    rms_norm_backward(pool, T, H, A.x_mid.data(), H, f32(L.norm2_w), c.norm_eps, dhn, H, dx, H,
                      grad_out(ts, L.norm2_w, grad), ts.ns);
    ghost_rms(A.x_mid.data(), dhn, L.norm2_w);
    // attention: datt = dx·W_o; dq, dk, dv; undo RoPE; dh1 = Σ d{q,k,v}·W_{q,k,v}
    lin(A.att.data(), QD, dx, H, H, QD, L.o_w, L.o_b, datt, QD, false);
    causal_attention_backward(pool, A.qkv.data(), as, offsets.data(), n_seq, datt, QD, dqkv, cancel);
    apply_rope_transposed(pool, ts.rope, dqkv, ld, T, ts.pos.data(), 0, c.num_heads, dh);
    apply_rope_transposed(pool, ts.rope, dqkv, ld, T, ts.pos.data(), QD, c.num_kv_heads, dh);
    if (c.qk_norm) {  // Qwen3: through q_norm / k_norm (per head) to q, k as projected
      const int64_t QK = QD + KVD;
      const float* raw = A.qk.data();
      grow_to(ts.dqk, T * QK);
      std::fill_n(ts.dqk.data(), T * QK, 0.f);
      rms_norm_backward(pool, T, dh, raw, QK, f32(L.q_norm_w), c.norm_eps, dqkv, ld, ts.dqk.data(), QK,
                        grad_out(ts, L.q_norm_w, grad), ts.ns, c.num_heads);
      rms_norm_backward(pool, T, dh, raw + QD, QK, f32(L.k_norm_w), c.norm_eps, dqkv + QD, ld, ts.dqk.data() + QD, QK,
                        grad_out(ts, L.k_norm_w, grad), ts.ns, c.num_kv_heads);
      if (ts.ghost) {
        ghost_norm(pool, *ts.ghost, offsets, dh, raw, QK, c.norm_eps, true, dqkv, ld, trainable(L.q_norm_w), false,
                   c.num_heads);
        ghost_norm(pool, *ts.ghost, offsets, dh, raw + QD, QK, c.norm_eps, true, dqkv + QD, ld, trainable(L.k_norm_w),
                   false, c.num_kv_heads);
      }
      for (int64_t t = 0; t < T; ++t) std::copy_n(ts.dqk.data() + t * QK, QK, dqkv + t * ld);
    }
    const WeightView* proj_w[3] = {&L.q_w, &L.k_w, &L.v_w};
    const WeightView* proj_b[3] = {&L.q_b, &L.k_b, &L.v_b};
    const int64_t cols[3] = {QD, KVD, KVD}, col0[3] = {0, QD, QD + KVD};
    rms_norm(pool, T, H, A.x_in.data(), H, param(L.norm1_w), DType::F32, c.norm_eps, hn, H);  // the projections' input
    for (int j = 0; j < 3; ++j) lin(hn, H, dqkv + col0[j], ld, cols[j], H, *proj_w[j], *proj_b[j], dhn, H, j > 0);
    rms_norm_backward(pool, T, H, A.x_in.data(), H, f32(L.norm1_w), c.norm_eps, dhn, H, dx, H,
                      grad_out(ts, L.norm1_w, grad), ts.ns);
    ghost_rms(A.x_in.data(), dhn, L.norm1_w);
    if (cancel) cancel->check();
  }
  if (float* de = grad_out(ts, w.tok_emb, grad)) embedding_backward(pool, ids, T, 0, dx, H, de);
  if (ts.ghost && trainable(w.tok_emb)) ghost_embedding(pool, *ts.ghost, ids, dx, H, true, cancel);
}

}  // namespace cpu
}  // namespace dpzo
