// defines: trunk_llama, final_llama — Llama family: RMSNorm, rotate-half RoPE
// (rope_theta, head_dim), grouped-query attention, SwiGLU, optional q/k/v(/o)
// and MLP biases (Qwen2, attention_bias, mlp_bias), Qwen3's per-head q/k RMSNorm.
#include <algorithm>
#include <cmath>

#include "cpu/activations.h"
#include "cpu/attention.h"
#include "cpu/forward_state.h"
#include "cpu/norms.h"
#include "cpu/rope.h"

namespace dpzo {
namespace cpu {

void trunk_llama(Model& m, ForwardState& st, const int32_t* ids, int64_t T, const std::vector<int64_t>& offsets,
                 const CancelToken* cancel) {
  const ModelConfig& c = m.config();
  ThreadPool& pool = m.pool();
  const ModelWeights& w = m.weights();
  const int64_t H = c.hidden_size, I = c.intermediate_size, dh = c.head_dim;
  const int64_t QD = c.num_heads * dh, KVD = c.num_kv_heads * dh, ld = QD + 2 * KVD;
  const int64_t n_seq = static_cast<int64_t>(offsets.size()) - 1;
  int64_t longest = 0;
  for (int64_t s = 0; s < n_seq; ++s) longest = std::max(longest, offsets[s + 1] - offsets[s]);
  st.rope.ensure(longest + (st.kv.active ? st.kv.len : 0), dh, c.rope_theta,
                 c.rope_scaling);  // positions the batch reaches
  grow(st.x, T * H);
  grow(st.h, T * H);
  grow(st.qkv, T * ld);
  grow(st.att, T * QD);
  grow(st.mlp, T * I);
  grow(st.mlp2, T * I);
  float *x = st.x.data(), *h = st.h.data(), *qkv = st.qkv.data(), *att = st.att.data();
  float *gate = st.mlp.data(), *up = st.mlp2.data();
  embed_rows(pool, w.tok_emb, ids, T, 0, x, H, false, st.trunk_at());
  AttentionShape as;
  as.n_heads = c.num_heads;
  as.n_kv_heads = c.num_kv_heads;
  as.head_dim = dh;
  as.q_col = 0;
  as.k_col = QD;
  as.v_col = QD + KVD;
  as.ld = ld;
  as.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dh)));
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const LayerWeights& L = w.layers[l];
    // x += o_proj(attention(rope(q), rope(k), v)) on rms_norm(x)
    rms_norm_at(pool, st, st.trunk_at(), T, H, x, H, L.norm1_w, c.norm_eps, h, H);
    const WeightView* proj_w[3] = {&L.q_w, &L.k_w, &L.v_w};
    const WeightView* proj_b[3] = {&L.q_b, &L.k_b, &L.v_b};
    const int64_t cols[3] = {QD, KVD, KVD}, col0[3] = {0, QD, QD + KVD};
    for (int j = 0; j < 3; ++j)
      linear(pool, st.ws, T, cols[j], H, h, H, bind(*proj_w[j], WLayout::OutIn, st.trunk_at(), proj_b[j]),
             param(*proj_b[j]), qkv + col0[j], ld, false, cancel);
    if (c.qk_norm) {  // Qwen3: q_norm / k_norm over each head's head_dim, after the projection, before RoPE
      rms_norm_at(pool, st, st.trunk_at(), T, dh, qkv, ld, L.q_norm_w, c.norm_eps, qkv, ld, c.num_heads);
      rms_norm_at(pool, st, st.trunk_at(), T, dh, qkv + QD, ld, L.k_norm_w, c.norm_eps, qkv + QD, ld, c.num_kv_heads);
    }
    apply_rope(pool, st.rope, qkv, ld, T, st.pos.data(), 0, c.num_heads, dh);
    apply_rope(pool, st.rope, qkv, ld, T, st.pos.data(), QD, c.num_kv_heads, dh);
    attend(pool, st, l, qkv, as, offsets, att, QD, cancel);
    linear(pool, st.ws, T, H, QD, att, QD, bind(L.o_w, WLayout::OutIn, st.trunk_at(), &L.o_b), param(L.o_b), x, H, true,
           cancel);
    // x += down(silu(gate(n))·up(n)), n = rms_norm(x)
    rms_norm_at(pool, st, st.trunk_at(), T, H, x, H, L.norm2_w, c.norm_eps, h, H);
    linear(pool, st.ws, T, I, H, h, H, bind(L.gate_w, WLayout::OutIn, st.trunk_at(), &L.gate_b), param(L.gate_b), gate,
           I, false, cancel);
    linear(pool, st.ws, T, I, H, h, H, bind(L.up_w, WLayout::OutIn, st.trunk_at(), &L.up_b), param(L.up_b), up, I,
           false, cancel);
    silu_mul(pool, gate, up, T * I);
    linear(pool, st.ws, T, H, I, gate, I, bind(L.down_w, WLayout::OutIn, st.trunk_at(), &L.down_b), param(L.down_b), x,
           H, true, cancel);
    if (cancel) cancel->check();
  }
}

void final_llama(Model& m, ForwardState& st, const float* in, int64_t R, float* out) {
  const ModelConfig& c = m.config();
  rms_norm_at(m.pool(), st, st.head_at(), R, c.hidden_size, in, c.hidden_size, m.weights().final_norm_w, c.norm_eps,
              out, c.hidden_size);
}

}  // namespace cpu
}  // namespace dpzo
