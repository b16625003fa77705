// defines: WeightView, LayerWeights, ModelWeights — every parameter tensor of a
// loaded model resolved once, at load, into typed per-layer fields (the way
// llm.c's ParameterTensors names its weights), so the forward graphs read
// `w.layers[l].q_w` instead of building names and searching for them. The
// family table (dpzo/family.h) says which field each file tensor fills.
#pragma once
#include <cstdint>
#include <vector>

#include "dpzo/dtype.h"

namespace dpzo {

// One parameter tensor inside the model's weight buffer. An absent optional
// tensor (a bias the config switches off) has data == nullptr.
struct WeightView {
  void* data = nullptr;
  DType dtype = DType::F32;
  int rank = 0;                // 1 or 2, as in the Hugging Face shape
  int64_t rows = 0, cols = 0;  // Hugging Face shape; a rank-1 tensor has rows = numel, cols = 1
  int64_t numel = 0;
  // ARCHITECTURE §2: the global index g of element 0 in the trainable space (element e of the tensor is
  // g + e), so a perturbation or update can address this tensor alone; -1 when the tensor is frozen.
  int64_t global_offset = -1;

  bool present() const { return data != nullptr; }
  bool trainable() const { return global_offset >= 0; }
};

// The weights of one transformer block. Each family fills the fields it has (family.cpp says which):
//   gpt2  norm1/norm2 = ln_1/ln_2, qkv = attn.c_attn, o = attn.c_proj, fc1/fc2 = mlp.c_fc/mlp.c_proj
//   opt   norm1/norm2 = self_attn_layer_norm/final_layer_norm, q/k/v/o = self_attn.{q,k,v,out}_proj, fc1/fc2
//   llama norm1/norm2 = input_layernorm/post_attention_layernorm, q/k/v/o = self_attn.{q,k,v,o}_proj,
//         gate/up/down = mlp.{gate,up,down}_proj, q_norm/k_norm = self_attn.{q,k}_norm (qwen3: per-head RMSNorm)
struct LayerWeights {
  WeightView norm1_w, norm1_b, norm2_w, norm2_b;
  WeightView qkv_w, qkv_b;
  WeightView q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b;
  WeightView q_norm_w, k_norm_w;
  WeightView fc1_w, fc1_b, fc2_w, fc2_b;
  WeightView gate_w, gate_b, up_w, up_b, down_w, down_b;
};

// The weights outside the blocks, and the blocks.
struct ModelWeights {
  WeightView tok_emb;                     // wte / embed_tokens
  WeightView pos_emb;                     // gpt2 wpe, opt embed_positions (learned positions)
  WeightView project_in, project_out;     // opt, when word_embed_proj_dim != hidden_size
  WeightView final_norm_w, final_norm_b;  // ln_f / final_layer_norm / norm
  WeightView lm_head;                     // the head; a tied head is the embedding's view
  std::vector<LayerWeights> layers;
};

}  // namespace dpzo
