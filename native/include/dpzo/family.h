// defines: FamilySpec, the one table per model family (gpt2, opt, llama) of
// everything the core knows about a family's checkpoint: tensor names, shapes
// (as dimensions of the config), which are per block, which the config may
// switch off, which typed field (dpzo/weights.h) each fills, and the names a
// loader must accept beside them (base-model prefix, tied head, buffers).
// config.cpp (expected tensors), model.cpp (loading, naming) and the forward
// graphs (through ModelWeights) all read this table and nothing else.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "dpzo/config.h"
#include "dpzo/weights.h"

namespace dpzo {

struct TensorInfo;  // dpzo/model.h

// A dimension of a tensor shape, resolved against a ModelConfig.
enum class Dim : uint8_t {
  Vocab,         // vocab_size
  Hidden,        // hidden_size
  Hidden3,       // 3·hidden_size (gpt2's fused q/k/v)
  Inner,         // intermediate_size
  Positions,     // max_position_embeddings
  PositionRows,  // max positions + the family's position offset (opt stores 2 extra rows)
  EmbedProj,     // word_embed_proj_dim (opt; = hidden elsewhere)
  QueryDim,      // num_heads·head_dim
  KvDim,         // num_kv_heads·head_dim
  HeadDim,       // head_dim (qwen3's q_norm / k_norm, shared by the heads)
};
int64_t dim_size(Dim d, const ModelConfig& c);

// When a tensor is in the checkpoint.
enum class When : uint8_t {
  Always,
  Untied,     // the LM head, when not tied to the embedding
  Projected,  // opt project_in/out: word_embed_proj_dim != hidden_size
  FinalNorm,  // opt: final_layer_norm (pre-LN and not removed)
  AttnBias,   // attention_bias (opt enable_bias): every attention projection's bias
  QkvBias,    // q/k/v bias: attention_bias or Qwen2's qkv-only
  MlpBias,    // mlp_bias (opt enable_bias)
  QkNorm,     // qwen3: q_norm / k_norm
};
bool tensor_present(When w, const ModelConfig& c);

struct GlobalTensor {
  const char* name;  // canonical Hugging Face name
  int rank;
  Dim shape[2];
  When when;
  WeightView ModelWeights::* slot;
};

struct LayerTensor {
  const char* suffix;  // after "<layer_prefix><i>."
  int rank;
  Dim shape[2];
  When when;
  WeightView LayerWeights::* slot;
};

struct FamilySpec {
  Family family;
  const char* name;          // "gpt2" | "opt" | "llama"
  const char* base_prefix;   // what a base-model checkpoint (GPT2Model, OPTModel, LlamaModel) omits
  const char* layer_prefix;  // canonical name of block i is layer_prefix + i + "." + suffix
  const char* embedding;     // the token embedding: the tied head's weight
  std::vector<GlobalTensor> globals;
  std::vector<LayerTensor> layer;
  std::vector<const char*> buffer_suffixes;  // non-parameter buffers some exporters save (masks, RoPE tables)
};

// The Hugging Face name of the LM head (every family).
inline constexpr const char* kHeadName = "lm_head.weight";

const FamilySpec& family_spec(Family f);

// Canonical name of a per-layer tensor.
std::string layer_tensor_name(const FamilySpec& spec, int64_t layer, const LayerTensor& t);
// True for a known non-parameter buffer of this family (ignored on load).
bool is_known_buffer(const FamilySpec& spec, const std::string& name);

// A bias tensor of a llama-family block that transformers' modules for this config do not have, so it leaves
// it unused ("weights not used" warning) and the loader skips it (not loaded, trained or saved): an attention
// (q/k/v/o) or MLP (gate/up/down) bias that tensor_present says is absent, of a block the model has.
enum class UnusedBias : uint8_t {
  None,       // not such a tensor (a used one, or an unknown name: the loader refuses those)
  Attention,  // llama/qwen3 attention_bias false; qwen2 o_proj (bias on q/k/v only); mistral (no bias at all)
  Mlp,        // llama mlp_bias false; mistral, qwen2 and qwen3 (no MLP bias, whatever config.json says)
};
// `name` with or without the base prefix.
UnusedBias unused_bias(const ModelConfig& cfg, const FamilySpec& spec, const std::string& name);
// The one notice line for `count` unused biases of a kind (first: one of them), naming the config switch.
std::string unused_bias_notice(const ModelConfig& cfg, UnusedBias kind, int64_t count, const std::string& first,
                               const std::string& cfg_path);

// Fills every slot from `tensors` (canonical order, as Model keeps them); the tied head becomes the
// embedding's view. Throws ERR_TENSOR_MISSING if a tensor the config requires is absent.
ModelWeights resolve_weights(const ModelConfig& cfg, const std::vector<TensorInfo>& tensors, DType dtype);

}  // namespace dpzo
