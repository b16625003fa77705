// defines: Family, ModelConfig (a normalised config.json), TensorSpec and the
// per-family list of expected tensors (names canonical, shapes as in the file).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "dpzo/rope_table.h"

namespace dpzo {

enum class Family : int { GPT2 = 0, OPT = 1, LLAMA = 2 };
const char* family_name(Family f);  // "gpt2" | "opt" | "llama"

enum class Activation : int { GELU_TANH = 0, GELU = 1, RELU = 2, SILU = 3 };

// Everything the graphs need, normalised across families. Field names follow
// Hugging Face's config attribute names where one exists.
struct ModelConfig {
  Family family = Family::LLAMA;
  std::string model_type;  // as in config.json
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;        // gpt2 n_embd, opt hidden_size, llama hidden_size
  int64_t num_layers = 0;         // gpt2 n_layer, opt/llama num_hidden_layers
  int64_t num_heads = 0;          // gpt2 n_head, opt/llama num_attention_heads
  int64_t num_kv_heads = 0;       // llama num_key_value_heads (default num_heads); = num_heads elsewhere
  int64_t head_dim = 0;           // llama head_dim (default hidden/heads)
  int64_t intermediate_size = 0;  // gpt2 n_inner (default 4*hidden), opt ffn_dim, llama intermediate_size
  int64_t max_positions = 0;      // gpt2 n_positions, opt/llama max_position_embeddings (capped by a sliding window)
  double norm_eps = 1e-5;         // gpt2 layer_norm_epsilon, llama rms_norm_eps; opt 1e-5
  double rope_theta = 10000.0;    // llama only
  RopeScaling rope_scaling;       // llama only: rope_scaling / rope_parameters (linear, llama3)
  bool tie_word_embeddings = true;
  bool attention_bias = false;  // llama: q/k/v/o bias (attention_bias; when false, bias tensors are left unused)
  bool qkv_bias_only = false;   // qwen2: bias on q,k,v but not o (whatever config.json says)
  bool mlp_bias = false;        // llama mlp_bias
  bool qk_norm = false;         // qwen3: an RMSNorm (q_norm, k_norm) over each head of q and k, before RoPE
  Activation activation = Activation::SILU;
  // OPT
  bool do_layer_norm_before = true;
  int64_t word_embed_proj_dim = 0;   // == hidden_size unless project_in/out exist
  bool opt_final_layer_norm = true;  // OPTDecoder.final_layer_norm present
  int64_t position_offset = 0;       // OPT learned positions are offset by 2
  // token ids (−1 when absent)
  int64_t bos_token_id = -1;
  int64_t eos_token_id = -1;
  std::string raw_json;  // config.json verbatim, written back on save
};

// Parse and normalise config.json text; `path` is only used in messages.
// Throws ERR_CONFIG / ERR_MODEL_TYPE naming the field.
ModelConfig parse_config(const std::string& json_text, const std::string& path);

struct TensorSpec {
  std::string name;            // canonical Hugging Face name (gpt2: with "transformer." prefix)
  std::vector<int64_t> shape;  // as stored in the file (gpt2 Conv1D weights are (in, out))
};

// The tensors a checkpoint of this config must contain (tied head excluded).
std::vector<TensorSpec> expected_tensors(const ModelConfig& cfg);
// Σ numel of expected_tensors(cfg), computed from one block (cheap for any num_layers, never wraps).
unsigned __int128 expected_parameter_count(const ModelConfig& cfg);

}  // namespace dpzo
