// defines: trunk_opt, final_opt — OPT: learned positions offset by 2, pre-LN
// (do_layer_norm_before) or post-LN blocks, ReLU (per config), optional
// project_in/project_out between word_embed_proj_dim and hidden_size.
#include <algorithm>
#include <cmath>

#include "cpu/activations.h"
#include "cpu/attention.h"
#include "cpu/forward_state.h"
#include "cpu/norms.h"

namespace dpzo {
namespace cpu {

void trunk_opt(Model& m, ForwardState& st, const int32_t* ids, int64_t T, const std::vector<int64_t>& offsets,
               const CancelToken* cancel) {
  const ModelConfig& c = m.config();
  ThreadPool& pool = m.pool();
  const ModelWeights& w = m.weights();
  const int64_t H = c.hidden_size, E = c.word_embed_proj_dim, I = c.intermediate_size;
  const bool pre = c.do_layer_norm_before;
  grow(st.x, T * H);
  grow(st.h, T * std::max(H, E));
  grow(st.qkv, T * 3 * H);
  grow(st.att, T * H);
  grow(st.mlp, T * I);
  float *x = st.x.data(), *h = st.h.data(), *qkv = st.qkv.data(), *att = st.att.data(), *mlp = st.mlp.data();
  // x = project_in(embed_tokens[token]) + embed_positions[position + 2]
  if (E != H) {
    embed_rows(pool, w.tok_emb, ids, T, 0, h, E, false, st.trunk_at());
    linear(pool, st.ws, T, H, E, h, E, bind(w.project_in, WLayout::OutIn, st.trunk_at()), nullptr, x, H, false, cancel);
  } else {
    embed_rows(pool, w.tok_emb, ids, T, 0, x, H, false, st.trunk_at());
  }
  embed_rows(pool, w.pos_emb, st.pos.data(), T, c.position_offset, x, H, true, st.trunk_at());
  const AttentionShape as = packed_mha(c.num_heads, c.head_dim);  // H = heads · head_dim
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const LayerWeights& L = w.layers[l];
    const WeightView &ln1w = L.norm1_w, &ln1b = L.norm1_b, &ln2w = L.norm2_w, &ln2b = L.norm2_b;
    // attention sublayer: pre-LN normalises its input, post-LN its output
    const float* in = x;
    if (pre) {
      layer_norm_at(pool, st, st.trunk_at(), T, H, x, H, ln1w, ln1b, c.norm_eps, h, H);
      in = h;
    }
    const WeightView* proj_w[3] = {&L.q_w, &L.k_w, &L.v_w};
    const WeightView* proj_b[3] = {&L.q_b, &L.k_b, &L.v_b};
    for (int j = 0; j < 3; ++j)
      linear(pool, st.ws, T, H, H, in, H, bind(*proj_w[j], WLayout::OutIn, st.trunk_at(), proj_b[j]), param(*proj_b[j]),
             qkv + j * H, 3 * H, false, cancel);
    attend(pool, st, l, qkv, as, offsets, att, H, cancel);
    linear(pool, st.ws, T, H, H, att, H, bind(L.o_w, WLayout::OutIn, st.trunk_at(), &L.o_b), param(L.o_b), x, H, true,
           cancel);
    if (!pre) layer_norm_at(pool, st, st.trunk_at(), T, H, x, H, ln1w, ln1b, c.norm_eps, x, H);
    // MLP sublayer
    in = x;
    if (pre) {
      layer_norm_at(pool, st, st.trunk_at(), T, H, x, H, ln2w, ln2b, c.norm_eps, h, H);
      in = h;
    }
    linear(pool, st.ws, T, I, H, in, H, bind(L.fc1_w, WLayout::OutIn, st.trunk_at(), &L.fc1_b), param(L.fc1_b), mlp, I,
           false, cancel);
    activate(pool, c.activation, mlp, T * I);
    linear(pool, st.ws, T, H, I, mlp, I, bind(L.fc2_w, WLayout::OutIn, st.trunk_at(), &L.fc2_b), param(L.fc2_b), x, H,
           true, cancel);
    if (!pre) layer_norm_at(pool, st, st.trunk_at(), T, H, x, H, ln2w, ln2b, c.norm_eps, x, H);
    if (cancel) cancel->check();
  }
}

void final_opt(Model& m, ForwardState& st, const float* in, int64_t R, float* out) {
  const ModelConfig& c = m.config();
  const ModelWeights& w = m.weights();
  const int64_t H = c.hidden_size, E = c.word_embed_proj_dim;
  const float* src = in;
  float* tmp = st.h.data();  // free after the trunk; holds (R, H) with R <= T
  if (c.opt_final_layer_norm) {
    float* dst = E != H ? tmp : out;
    layer_norm_at(m.pool(), st, st.head_at(), R, H, in, H, w.final_norm_w, w.final_norm_b, c.norm_eps, dst, H);
    src = dst;
  }
  if (E != H) {
    linear(m.pool(), st.ws, R, E, H, src, H, bind(w.project_out, WLayout::OutIn, st.head_at()), nullptr, out, E, false);
  } else if (src != out) {
    std::copy_n(src, R * H, out);
  }
}

}  // namespace cpu
}  // namespace dpzo
