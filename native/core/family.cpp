// defines: the family tables (family_spec), dim_size, tensor_present,
// layer_tensor_name, is_known_buffer, unused_bias, unused_bias_notice and resolve_weights (see dpzo/family.h).
#include "dpzo/family.h"

#include <algorithm>
#include <cstring>

#include "dpzo/errors.h"
#include "dpzo/model.h"

namespace dpzo {

int64_t dim_size(Dim d, const ModelConfig& c) {
  switch (d) {
    case Dim::Vocab:
      return c.vocab_size;
    case Dim::Hidden:
      return c.hidden_size;
    case Dim::Hidden3:
      return 3 * c.hidden_size;
    case Dim::Inner:
      return c.intermediate_size;
    case Dim::Positions:
      return c.max_positions;
    case Dim::PositionRows:
      return c.max_positions + c.position_offset;
    case Dim::EmbedProj:
      return c.word_embed_proj_dim;
    case Dim::QueryDim:
      return c.num_heads * c.head_dim;
    case Dim::KvDim:
      return c.num_kv_heads * c.head_dim;
    case Dim::HeadDim:
      return c.head_dim;
  }
  return 0;
}

bool tensor_present(When w, const ModelConfig& c) {
  switch (w) {
    case When::Always:
      return true;
    case When::Untied:
      return !c.tie_word_embeddings;
    case When::Projected:
      return c.word_embed_proj_dim != c.hidden_size;
    case When::FinalNorm:
      return c.opt_final_layer_norm;
    case When::AttnBias:
      return c.attention_bias;
    case When::QkvBias:
      return c.attention_bias || c.qkv_bias_only;
    case When::MlpBias:
      return c.mlp_bias;
    case When::QkNorm:
      return c.qk_norm;
  }
  return false;
}

namespace {

using D = Dim;
using W = When;
using G = ModelWeights;
using L = LayerWeights;

// GPT-2: learned positions, pre-LN blocks, Conv1D weights stored (in, out), tied head by default.
FamilySpec make_gpt2() {
  return FamilySpec{
      Family::GPT2,
      "gpt2",
      "transformer.",
      "transformer.h.",
      "transformer.wte.weight",
      {
          {"transformer.wte.weight", 2, {D::Vocab, D::Hidden}, W::Always, &G::tok_emb},
          {"transformer.wpe.weight", 2, {D::Positions, D::Hidden}, W::Always, &G::pos_emb},
          {"transformer.ln_f.weight", 1, {D::Hidden}, W::Always, &G::final_norm_w},
          {"transformer.ln_f.bias", 1, {D::Hidden}, W::Always, &G::final_norm_b},
          {kHeadName, 2, {D::Vocab, D::Hidden}, W::Untied, &G::lm_head},
      },
      {
          {"ln_1.weight", 1, {D::Hidden}, W::Always, &L::norm1_w},
          {"ln_1.bias", 1, {D::Hidden}, W::Always, &L::norm1_b},
          {"attn.c_attn.weight", 2, {D::Hidden, D::Hidden3}, W::Always, &L::qkv_w},  // Conv1D: (in, out)
          {"attn.c_attn.bias", 1, {D::Hidden3}, W::Always, &L::qkv_b},
          {"attn.c_proj.weight", 2, {D::Hidden, D::Hidden}, W::Always, &L::o_w},
          {"attn.c_proj.bias", 1, {D::Hidden}, W::Always, &L::o_b},
          {"ln_2.weight", 1, {D::Hidden}, W::Always, &L::norm2_w},
          {"ln_2.bias", 1, {D::Hidden}, W::Always, &L::norm2_b},
          {"mlp.c_fc.weight", 2, {D::Hidden, D::Inner}, W::Always, &L::fc1_w},
          {"mlp.c_fc.bias", 1, {D::Inner}, W::Always, &L::fc1_b},
          {"mlp.c_proj.weight", 2, {D::Inner, D::Hidden}, W::Always, &L::fc2_w},
          {"mlp.c_proj.bias", 1, {D::Hidden}, W::Always, &L::fc2_b},
      },
      {".attn.bias", ".attn.masked_bias"},
  };
}

// OPT: learned positions offset by 2, pre- or post-LN, optional project_in/out and final norm.
FamilySpec make_opt() {
  return FamilySpec{
      Family::OPT,
      "opt",
      "model.",
      "model.decoder.layers.",
      "model.decoder.embed_tokens.weight",
      {
          {"model.decoder.embed_tokens.weight", 2, {D::Vocab, D::EmbedProj}, W::Always, &G::tok_emb},
          {"model.decoder.embed_positions.weight", 2, {D::PositionRows, D::Hidden}, W::Always, &G::pos_emb},
          {"model.decoder.project_in.weight", 2, {D::Hidden, D::EmbedProj}, W::Projected, &G::project_in},
          {"model.decoder.project_out.weight", 2, {D::EmbedProj, D::Hidden}, W::Projected, &G::project_out},
          {"model.decoder.final_layer_norm.weight", 1, {D::Hidden}, W::FinalNorm, &G::final_norm_w},
          {"model.decoder.final_layer_norm.bias", 1, {D::Hidden}, W::FinalNorm, &G::final_norm_b},
          {kHeadName, 2, {D::Vocab, D::EmbedProj}, W::Untied, &G::lm_head},
      },
      {
          {"self_attn.q_proj.weight", 2, {D::Hidden, D::Hidden}, W::Always, &L::q_w},
          {"self_attn.q_proj.bias", 1, {D::Hidden}, W::AttnBias, &L::q_b},
          {"self_attn.k_proj.weight", 2, {D::Hidden, D::Hidden}, W::Always, &L::k_w},
          {"self_attn.k_proj.bias", 1, {D::Hidden}, W::AttnBias, &L::k_b},
          {"self_attn.v_proj.weight", 2, {D::Hidden, D::Hidden}, W::Always, &L::v_w},
          {"self_attn.v_proj.bias", 1, {D::Hidden}, W::AttnBias, &L::v_b},
          {"self_attn.out_proj.weight", 2, {D::Hidden, D::Hidden}, W::Always, &L::o_w},
          {"self_attn.out_proj.bias", 1, {D::Hidden}, W::AttnBias, &L::o_b},
          {"self_attn_layer_norm.weight", 1, {D::Hidden}, W::Always, &L::norm1_w},
          {"self_attn_layer_norm.bias", 1, {D::Hidden}, W::Always, &L::norm1_b},
          {"fc1.weight", 2, {D::Inner, D::Hidden}, W::Always, &L::fc1_w},
          {"fc1.bias", 1, {D::Inner}, W::MlpBias, &L::fc1_b},
          {"fc2.weight", 2, {D::Hidden, D::Inner}, W::Always, &L::fc2_w},
          {"fc2.bias", 1, {D::Hidden}, W::MlpBias, &L::fc2_b},
          {"final_layer_norm.weight", 1, {D::Hidden}, W::Always, &L::norm2_w},
          {"final_layer_norm.bias", 1, {D::Hidden}, W::Always, &L::norm2_b},
      },
      {},
  };
}

// Llama (Mistral, Qwen2, Qwen3): RMSNorm without bias, GQA projections, SwiGLU MLP, optional biases, Qwen3's
// per-head q/k norms. Listed in module order (Qwen3Attention: q/k/v/o_proj, then q_norm, k_norm); the canonical
// parameter index does not depend on it (ARCHITECTURE §2: tensors sorted by name).
FamilySpec make_llama() {
  return FamilySpec{
      Family::LLAMA,
      "llama",
      "model.",
      "model.layers.",
      "model.embed_tokens.weight",
      {
          {"model.embed_tokens.weight", 2, {D::Vocab, D::Hidden}, W::Always, &G::tok_emb},
          {"model.norm.weight", 1, {D::Hidden}, W::Always, &G::final_norm_w},
          {kHeadName, 2, {D::Vocab, D::Hidden}, W::Untied, &G::lm_head},
      },
      {
          {"input_layernorm.weight", 1, {D::Hidden}, W::Always, &L::norm1_w},
          {"self_attn.q_proj.weight", 2, {D::QueryDim, D::Hidden}, W::Always, &L::q_w},
          {"self_attn.k_proj.weight", 2, {D::KvDim, D::Hidden}, W::Always, &L::k_w},
          {"self_attn.v_proj.weight", 2, {D::KvDim, D::Hidden}, W::Always, &L::v_w},
          {"self_attn.o_proj.weight", 2, {D::Hidden, D::QueryDim}, W::Always, &L::o_w},
          {"self_attn.q_proj.bias", 1, {D::QueryDim}, W::QkvBias, &L::q_b},
          {"self_attn.k_proj.bias", 1, {D::KvDim}, W::QkvBias, &L::k_b},
          {"self_attn.v_proj.bias", 1, {D::KvDim}, W::QkvBias, &L::v_b},
          {"self_attn.o_proj.bias", 1, {D::Hidden}, W::AttnBias, &L::o_b},
          {"self_attn.q_norm.weight", 1, {D::HeadDim}, W::QkNorm, &L::q_norm_w},
          {"self_attn.k_norm.weight", 1, {D::HeadDim}, W::QkNorm, &L::k_norm_w},
          {"post_attention_layernorm.weight", 1, {D::Hidden}, W::Always, &L::norm2_w},
          {"mlp.gate_proj.weight", 2, {D::Inner, D::Hidden}, W::Always, &L::gate_w},
          {"mlp.up_proj.weight", 2, {D::Inner, D::Hidden}, W::Always, &L::up_w},
          {"mlp.down_proj.weight", 2, {D::Hidden, D::Inner}, W::Always, &L::down_w},
          {"mlp.gate_proj.bias", 1, {D::Inner}, W::MlpBias, &L::gate_b},
          {"mlp.up_proj.bias", 1, {D::Inner}, W::MlpBias, &L::up_b},
          {"mlp.down_proj.bias", 1, {D::Hidden}, W::MlpBias, &L::down_b},
      },
      {"rotary_emb.inv_freq"},
  };
}

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

const TensorInfo* find_sorted(const std::vector<TensorInfo>& ts, const std::string& name) {
  auto it = std::lower_bound(ts.begin(), ts.end(), name,
                             [](const TensorInfo& t, const std::string& n) { return t.name < n; });
  return it != ts.end() && it->name == name ? &*it : nullptr;
}

// The view of tensor `name`, or an absent view when it is optional and switched off.
WeightView view_of(const std::vector<TensorInfo>& ts, const std::string& name, bool required, DType dtype) {
  WeightView v;
  const TensorInfo* t = find_sorted(ts, name);
  if (!t) {
    if (required) throw Error(err::kTensorMissing, "the model needs tensor '" + name + "', which is not loaded");
    return v;
  }
  v.data = t->data;
  v.dtype = dtype;
  v.rank = static_cast<int>(t->shape.size());
  v.rows = t->shape.empty() ? 0 : t->shape[0];
  v.cols = t->shape.size() == 2 ? t->shape[1] : 1;
  v.numel = t->numel;
  v.global_offset = t->global_offset;
  return v;
}

}  // namespace

const FamilySpec& family_spec(Family f) {
  static const FamilySpec gpt2 = make_gpt2(), opt = make_opt(), llama = make_llama();
  switch (f) {
    case Family::GPT2:
      return gpt2;
    case Family::OPT:
      return opt;
    case Family::LLAMA:
      return llama;
  }
  throw Error(err::kModelType, "unknown model family " + std::to_string(static_cast<int>(f)));
}

std::string layer_tensor_name(const FamilySpec& spec, int64_t layer, const LayerTensor& t) {
  return spec.layer_prefix + std::to_string(layer) + "." + t.suffix;
}

bool is_known_buffer(const FamilySpec& spec, const std::string& name) {
  for (const char* s : spec.buffer_suffixes)
    if (ends_with(name, s)) return true;
  return false;
}

UnusedBias unused_bias(const ModelConfig& c, const FamilySpec& spec, const std::string& name) {
  // gpt2 and opt always build their biases (or refuse a checkpoint without them): only llama-family modules drop
  if (c.family != Family::LLAMA) return UnusedBias::None;
  const std::string base = spec.base_prefix;
  const std::string full = name.compare(0, base.size(), base) == 0 ? name : base + name;
  const std::string lp = spec.layer_prefix;
  if (full.compare(0, lp.size(), lp) != 0) return UnusedBias::None;
  // "<layer_prefix><i>.<suffix>" for a block i of this model
  size_t pos = lp.size(), end = pos;
  while (end < full.size() && end - pos < 10 && full[end] >= '0' && full[end] <= '9') ++end;
  if (end == pos || end >= full.size() || full[end] != '.' || (full[pos] == '0' && end - pos > 1))
    return UnusedBias::None;
  if (std::stoll(full.substr(pos, end - pos)) >= c.num_layers) return UnusedBias::None;
  const std::string suffix = full.substr(end + 1);
  for (const LayerTensor& t : spec.layer) {
    if (suffix != t.suffix || tensor_present(t.when, c)) continue;
    if (t.when == When::AttnBias || t.when == When::QkvBias) return UnusedBias::Attention;
    if (t.when == When::MlpBias) return UnusedBias::Mlp;
  }
  return UnusedBias::None;
}

std::string unused_bias_notice(const ModelConfig& c, UnusedBias kind, int64_t count, const std::string& first,
                               const std::string& cfg_path) {
  const bool attention = kind == UnusedBias::Attention;
  std::string why;
  if (c.model_type == "llama") {
    why =
        cfg_path + (attention ? " has attention_bias false, so LlamaAttention has no bias (set it to true to use them)"
                              : " has mlp_bias false, so LlamaMLP has no bias (set it to true to use them)");
  } else if (c.model_type == "qwen3") {
    why = attention ? cfg_path + " has attention_bias false, so Qwen3Attention has no bias (set it to true to use them)"
                    : "model_type qwen3 has no MLP bias (Qwen3MLP reads no mlp_bias from " + cfg_path + ")";
  } else if (c.model_type == "qwen2") {
    why = attention
              ? "model_type qwen2 has bias on q/k/v only (Qwen2Attention reads no attention_bias from " + cfg_path + ")"
              : "model_type qwen2 has no MLP bias (Qwen2MLP reads no mlp_bias from " + cfg_path + ")";
  } else {
    why = attention ? "model_type mistral has no attention bias (MistralAttention reads no attention_bias from " +
                          cfg_path + ")"
                    : "model_type mistral has no MLP bias (MistralMLP reads no mlp_bias from " + cfg_path + ")";
  }
  return std::to_string(count) + (attention ? " attention" : " MLP") + " bias tensors ('" + first +
         "', ...) are not used: " + why;
}

ModelWeights resolve_weights(const ModelConfig& cfg, const std::vector<TensorInfo>& tensors, DType dtype) {
  const FamilySpec& spec = family_spec(cfg.family);
  ModelWeights w;
  for (const GlobalTensor& t : spec.globals)
    if (tensor_present(t.when, cfg)) w.*t.slot = view_of(tensors, t.name, true, dtype);
  if (!w.lm_head.present()) w.lm_head = w.tok_emb;  // tied
  w.layers.resize(static_cast<size_t>(cfg.num_layers));
  for (int64_t l = 0; l < cfg.num_layers; ++l)
    for (const LayerTensor& t : spec.layer)
      if (tensor_present(t.when, cfg))
        w.layers[static_cast<size_t>(l)].*t.slot = view_of(tensors, layer_tensor_name(spec, l, t), true, dtype);
  return w;
}

}  // namespace dpzo
