// defines: trunk_gpt2, final_gpt2 — GPT-2: learned positions (wpe), pre-LN
// blocks, Conv1D weights stored (in, out), GELU per config, final ln_f.
#include <cmath>

#include "cpu/activations.h"
#include "cpu/attention.h"
#include "cpu/forward_state.h"
#include "cpu/norms.h"

namespace dpzo {
namespace cpu {

void trunk_gpt2(Model& m, ForwardState& st, const int32_t* ids, int64_t T, const std::vector<int64_t>& offsets,
                const CancelToken* cancel) {
  const ModelConfig& c = m.config();
  ThreadPool& pool = m.pool();
  const ModelWeights& w = m.weights();
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  grow(st.x, T * H);
  grow(st.h, T * H);
  grow(st.qkv, T * 3 * H);
  grow(st.att, T * H);
  grow(st.mlp, T * I);
  float *x = st.x.data(), *h = st.h.data(), *qkv = st.qkv.data(), *att = st.att.data(), *mlp = st.mlp.data();
  // x = wte[token] + wpe[position]
  embed_rows(pool, w.tok_emb, ids, T, 0, x, H, false, st.trunk_at());
  embed_rows(pool, w.pos_emb, st.pos.data(), T, 0, x, H, true, st.trunk_at());
  const AttentionShape as = packed_mha(c.num_heads, c.head_dim);  // H = heads · head_dim
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const LayerWeights& L = w.layers[l];
    // x += c_proj(attention(c_attn(ln_1(x))))
    layer_norm_at(pool, st, st.trunk_at(), T, H, x, H, L.norm1_w, L.norm1_b, c.norm_eps, h, H);
    linear(pool, st.ws, T, 3 * H, H, h, H, bind(L.qkv_w, WLayout::InOut, st.trunk_at(), &L.qkv_b), param(L.qkv_b), qkv,
           3 * H, false, cancel);
    attend(pool, st, l, qkv, as, offsets, att, H, cancel);
    linear(pool, st.ws, T, H, H, att, H, bind(L.o_w, WLayout::InOut, st.trunk_at(), &L.o_b), param(L.o_b), x, H, true,
           cancel);
    // x += c_proj(act(c_fc(ln_2(x))))
    layer_norm_at(pool, st, st.trunk_at(), T, H, x, H, L.norm2_w, L.norm2_b, c.norm_eps, h, H);
    linear(pool, st.ws, T, I, H, h, H, bind(L.fc1_w, WLayout::InOut, st.trunk_at(), &L.fc1_b), param(L.fc1_b), mlp, I,
           false, cancel);
    activate(pool, c.activation, mlp, T * I);
    linear(pool, st.ws, T, H, I, mlp, I, bind(L.fc2_w, WLayout::InOut, st.trunk_at(), &L.fc2_b), param(L.fc2_b), x, H,
           true, cancel);
    if (cancel) cancel->check();
  }
}

void final_gpt2(Model& m, ForwardState& st, const float* in, int64_t R, float* out) {
  const ModelConfig& c = m.config();
  const ModelWeights& w = m.weights();
  layer_norm_at(m.pool(), st, st.head_at(), R, c.hidden_size, in, c.hidden_size, w.final_norm_w, w.final_norm_b,
                c.norm_eps, out, c.hidden_size);
}

}  // namespace cpu
}  // namespace dpzo
