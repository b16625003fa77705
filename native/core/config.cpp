// defines: parse_config, expected_tensors (from the family table, dpzo/family.h),
// family_name (see dpzo/config.h).
// Defaults follow the transformers config classes (GPT2Config, OPTConfig,
// LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config); options that would change the
// graph in ways the engine does not implement are rejected, never ignored.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "core/json.h"
#include "dpzo/config.h"
#include "dpzo/errors.h"
#include "dpzo/family.h"

namespace dpzo {

const char* family_name(Family f) {
  switch (f) {
    case Family::GPT2:
    case Family::OPT:
    case Family::LLAMA:
      return family_spec(f).name;
  }
  return "unknown";
}

namespace {

constexpr int64_t kMaxDim = 2147483647;

// Typed access to config.json fields; every failure names the file and field.
class Fields {
 public:
  Fields(const json::Value& obj, const std::string& path) : obj_(obj), path_(path) {}

  [[noreturn]] void bad(const std::string& key, const std::string& what) const {
    throw Error(err::kConfig, path_ + ": field '" + key + "' " + what);
  }

  // Present, possibly null.
  const json::Value* raw(const std::string& key) const { return obj_.get(key); }

  // Present and not null.
  const json::Value* get(const std::string& key) const {
    const json::Value* v = obj_.get(key);
    return v && !v->is_null() ? v : nullptr;
  }

  int64_t require_int(const std::string& key, int64_t min) const {
    const json::Value* v = obj_.get(key);
    if (!v) bad(key, "is missing");
    if (v->is_null()) bad(key, "is null");
    return check_int(key, *v, min);
  }

  int64_t optional_int(const std::string& key, int64_t dflt, int64_t min) const {
    const json::Value* v = get(key);
    return v ? check_int(key, *v, min) : dflt;
  }

  double optional_positive(const std::string& key, double dflt) const {
    const json::Value* v = get(key);
    if (!v) return dflt;
    if (!v->is_number() || !(v->number > 0) || !std::isfinite(v->number))
      bad(key, "must be a positive number, got " + show(*v));
    return v->number;
  }

  // Absent: the default. null: false, as transformers reads it (Python None is falsy wherever a config
  // flag is tested: a null tie_word_embeddings unties the head, a null do_layer_norm_before is post-LN).
  bool optional_bool(const std::string& key, bool dflt) const {
    const json::Value* v = raw(key);
    if (!v) return dflt;
    if (v->is_null()) return false;
    if (!v->is_bool()) bad(key, "must be true or false, got " + show(*v));
    return v->boolean;
  }

  std::string optional_string(const std::string& key, const std::string& dflt) const {
    const json::Value* v = get(key);
    if (!v) return dflt;
    if (!v->is_string()) bad(key, "must be a string, got " + show(*v));
    return v->string;
  }

  // A token id: an integer, or a list whose first element is used (eos lists); -1 when absent.
  int64_t token_id(const std::string& key) const {
    const json::Value* v = get(key);
    if (!v) return -1;
    if (v->is_array()) {
      if (v->array.empty()) return -1;
      return check_int(key, v->array[0], 0);
    }
    return check_int(key, *v, 0);
  }

  static std::string show(const json::Value& v) {
    std::string s;
    try {
      s = json::write(v);
    } catch (const Error&) {
      s = "?";
    }
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
  }

 private:
  int64_t check_int(const std::string& key, const json::Value& v, int64_t min) const {
    if (!v.is_number() || !v.is_integer) bad(key, "must be an integer, got " + show(v));
    if (v.integer < min) bad(key, "must be >= " + std::to_string(min) + ", got " + show(v));
    // every size and id fits an int32: products of two then fit int64 with room, and no real model is larger
    if (v.integer > kMaxDim) bad(key, "must be <= " + std::to_string(kMaxDim) + ", got " + show(v));
    return v.integer;
  }
  const json::Value& obj_;
  const std::string& path_;
};

Activation parse_activation(const Fields& f, const std::string& key, const std::string& dflt) {
  std::string a = f.optional_string(key, dflt);
  // gelu_new, gelu_fast and gelu_pytorch_tanh are all the tanh approximation
  if (a == "gelu_new" || a == "gelu_pytorch_tanh" || a == "gelu_fast") return Activation::GELU_TANH;
  if (a == "gelu") return Activation::GELU;
  if (a == "relu") return Activation::RELU;
  if (a == "silu" || a == "swish") return Activation::SILU;
  f.bad(key, "= '" + a + "' is not supported (gelu_new, gelu_pytorch_tanh, gelu_fast, gelu, relu, silu)");
}

void parse_gpt2(const Fields& f, ModelConfig& c) {
  c.family = Family::GPT2;
  c.vocab_size = f.require_int("vocab_size", 1);
  c.hidden_size = f.require_int("n_embd", 1);
  c.num_layers = f.require_int("n_layer", 1);
  c.num_heads = f.require_int("n_head", 1);
  c.max_positions = f.require_int("n_positions", 1);
  c.intermediate_size = f.optional_int("n_inner", 4 * c.hidden_size, 1);
  if (c.intermediate_size > kMaxDim)
    f.bad("n_embd", "is too large (4 × n_embd exceeds " + std::to_string(kMaxDim) + ")");
  c.norm_eps = f.optional_positive("layer_norm_epsilon", 1e-5);
  c.activation = parse_activation(f, "activation_function", "gelu_new");
  c.tie_word_embeddings = f.optional_bool("tie_word_embeddings", true);
  if (c.hidden_size % c.num_heads != 0)
    f.bad("n_embd",
          "(" + std::to_string(c.hidden_size) + ") must be divisible by n_head (" + std::to_string(c.num_heads) + ")");
  c.num_kv_heads = c.num_heads;
  c.head_dim = c.hidden_size / c.num_heads;
  c.attention_bias = c.mlp_bias = true;
  if (!f.optional_bool("scale_attn_weights", true)) f.bad("scale_attn_weights", "= false (or null) is not supported");
  if (f.optional_bool("scale_attn_by_inverse_layer_idx", false))
    f.bad("scale_attn_by_inverse_layer_idx", "= true is not supported");
  if (f.optional_bool("add_cross_attention", false)) f.bad("add_cross_attention", "= true is not supported");
}

void parse_opt(const Fields& f, ModelConfig& c) {
  c.family = Family::OPT;
  c.vocab_size = f.require_int("vocab_size", 1);
  c.hidden_size = f.require_int("hidden_size", 1);
  c.num_layers = f.require_int("num_hidden_layers", 1);
  c.num_heads = f.require_int("num_attention_heads", 1);
  c.intermediate_size = f.require_int("ffn_dim", 1);
  c.max_positions = f.require_int("max_position_embeddings", 1);
  c.do_layer_norm_before = f.optional_bool("do_layer_norm_before", true);
  c.word_embed_proj_dim = f.optional_int("word_embed_proj_dim", c.hidden_size, 1);
  c.activation = parse_activation(f, "activation_function", "relu");
  // OPT has no attention/mlp bias switches of its own beyond enable_bias; reuse the llama flags
  bool bias = f.optional_bool("enable_bias", true);
  c.attention_bias = c.mlp_bias = bias;
  if (!f.optional_bool("layer_norm_elementwise_affine", true))
    f.bad("layer_norm_elementwise_affine", "= false or null (layer norms without weights) is not supported");
  c.opt_final_layer_norm = c.do_layer_norm_before && !f.optional_bool("_remove_final_layer_norm", false);
  c.tie_word_embeddings = f.optional_bool("tie_word_embeddings", true);
  c.norm_eps = 1e-5;      // nn.LayerNorm's default, which OPT uses
  c.position_offset = 2;  // OPTLearnedPositionalEmbedding reserves 2 rows
  if (c.hidden_size % c.num_heads != 0)
    f.bad("hidden_size", "(" + std::to_string(c.hidden_size) + ") must be divisible by num_attention_heads (" +
                             std::to_string(c.num_heads) + ")");
  c.num_kv_heads = c.num_heads;
  c.head_dim = c.hidden_size / c.num_heads;
}

// %g of x, for a message
std::string shortest(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

// A rope_scaling / rope_parameters block's frequency rescaling (dpzo/rope_table.h): "default" (or none),
// "linear", "llama3", "yarn" and "dynamic", computed as transformers does; any other (longrope, su, …) is refused.
// `max_positions` is max_position_embeddings, the original context where a block gives none.
RopeScaling parse_rope_scaling(const Fields& f, const std::string& key, const json::Value& rs, int64_t max_positions) {
  const json::Value* t = rs.get("rope_type");
  if (!t || t->is_null()) t = rs.get("type");
  RopeScaling out;
  if (!t || t->is_null() || (t->is_string() && t->string == "default")) return out;
  // a field of the block: absent or null → the default (or, when required, a refusal), else a positive number
  const auto number = [&](const char* name, bool required, double dflt) {
    const json::Value* v = rs.get(name);
    if (!v || v->is_null()) {
      if (required) f.bad(key, std::string("needs ") + name + " for rope_type " + Fields::show(*t));
      return dflt;
    }
    if (!v->is_number() || !(v->number > 0) || !std::isfinite(v->number))
      f.bad(key, std::string(name) + " must be a positive number, got " + Fields::show(*v));
    return v->number;
  };
  if (t->is_string() && t->string == "linear") {
    out.kind = RopeScaling::LINEAR;
    out.factor = number("factor", true, 1.0);
    return out;
  }
  if (t->is_string() && t->string == "llama3") {
    out.kind = RopeScaling::LLAMA3;
    out.factor = number("factor", true, 1.0);
    out.low_freq_factor = number("low_freq_factor", true, 1.0);
    out.high_freq_factor = number("high_freq_factor", true, 4.0);
    out.original_max_positions = number("original_max_position_embeddings", true, 8192.0);
    // the band between the two wavelengths is interpolated over high − low: it must not be empty
    if (!(out.high_freq_factor > out.low_freq_factor))
      f.bad(key, "high_freq_factor must exceed low_freq_factor (llama3 rope scaling)");
    return out;
  }
  if (t->is_string() && t->string == "dynamic") {
    // transformers rescales the base only for a sequence longer than max_position_embeddings, and then from the
    // longest sequence of the batch (one example's loss would depend on another's length): dpzo never does, and
    // refuses sequences past the original context instead (parse_llama caps max_positions there)
    if (!rs.get("factor")) f.bad(key, "needs factor for rope_type " + Fields::show(*t));
    number("factor", false, 1.0);
    out.kind = RopeScaling::DYNAMIC;
    // the cap: max_position_embeddings, or a smaller original context where the config names one
    out.original_max_positions = number("original_max_position_embeddings", false, static_cast<double>(max_positions));
    if (const json::Value* top = f.get("original_max_position_embeddings"))
      if (top->is_number() && top->number > 0 && top->number < out.original_max_positions)
        out.original_max_positions = top->number;
    return out;
  }
  if (t->is_string() && t->string == "yarn") {
    out.kind = RopeScaling::YARN;
    // the pretraining context: a top-level original_max_position_embeddings first (transformers'
    // standardize_rope_params gives it priority), then the block's, then max_position_embeddings
    const json::Value* top = f.get("original_max_position_embeddings");
    if (top && (!top->is_number() || !(top->number > 0) || !std::isfinite(top->number)))
      f.bad("original_max_position_embeddings", "must be a positive number, got " + Fields::show(*top));
    out.original_max_positions =
        top ? top->number : number("original_max_position_embeddings", false, static_cast<double>(max_positions));
    // factor is required; a null one is the ratio of the two contexts (DeepSeek-V3's reading)
    if (!rs.get("factor")) f.bad(key, "needs factor for rope_type " + Fields::show(*t));
    out.factor = number("factor", false, static_cast<double>(max_positions) / out.original_max_positions);
    // beta_fast / beta_slow: `or 32` / `or 1` in transformers, so 0 is the default too
    const auto beta = [&](const char* name, double dflt) {
      const json::Value* v = rs.get(name);
      return v && v->is_number() && v->number == 0 ? dflt : number(name, false, dflt);
    };
    out.beta_fast = beta("beta_fast", 32.0);
    out.beta_slow = beta("beta_slow", 1.0);
    if (!(out.beta_fast > out.beta_slow))
      f.bad(key, "beta_fast (" + shortest(out.beta_fast) + ") must exceed beta_slow (" + shortest(out.beta_slow) +
                     ") for rope_type \"yarn\"");
    if (const json::Value* tr = rs.get("truncate")) {
      if (!tr->is_null() && !tr->is_bool()) f.bad(key, "truncate must be true or false, got " + Fields::show(*tr));
      out.truncate = !tr->is_null() && tr->boolean;  // null is Python's None: falsy
    }
    // get_mscale(s, m) = 0.1·m·ln s + 1 for s > 1, else 1 (Peng et al. 2023's temperature √(1/t))
    const auto get_mscale = [](double scale, double m) { return scale <= 1 ? 1.0 : 0.1 * m * std::log(scale) + 1.0; };
    const auto scale_field = [&](const char* name) {
      const json::Value* v = rs.get(name);
      if (!v || v->is_null()) return 0.0;
      if (!v->is_number() || !(v->number >= 0) || !std::isfinite(v->number))
        f.bad(key, std::string(name) + " must be a non-negative number, got " + Fields::show(*v));
      return v->number;
    };
    const double mscale = scale_field("mscale"), mscale_all_dim = scale_field("mscale_all_dim");
    if (rs.get("attention_factor") && !rs.get("attention_factor")->is_null()) {
      out.attention_factor = number("attention_factor", false, 1.0);
    } else if (mscale != 0 && mscale_all_dim != 0) {  // Python truthiness: 0 or None falls through
      out.attention_factor = get_mscale(out.factor, mscale) / get_mscale(out.factor, mscale_all_dim);
    } else {
      out.attention_factor = get_mscale(out.factor, 1.0);
    }
    return out;
  }
  f.bad(key, "has unsupported rope_type " + Fields::show(*t) + " (supported: default, linear, llama3, yarn, dynamic)");
  return out;
}

// Qwen2Config: sliding_window holds only with use_sliding_window (else None), and windows only the layers
// whose layer_types entry is "sliding_attention"; without an explicit layer_types list those are the layers
// i >= max_window_layers (default 28). Every released Qwen2/2.5 checkpoint has use_sliding_window false.
void parse_qwen2_window(const Fields& f, ModelConfig& c) {
  const bool use = f.optional_bool("use_sliding_window", false);
  const int64_t window = !use ? 0 : f.raw("sliding_window") ? f.optional_int("sliding_window", 0, 1) : 4096;
  bool sliding = false;  // some layer is windowed
  if (const json::Value* lt = f.get("layer_types")) {
    if (!lt->is_array()) f.bad("layer_types", "must be a list, got " + Fields::show(*lt));
    if (static_cast<int64_t>(lt->array.size()) != c.num_layers)
      f.bad("layer_types", "has " + std::to_string(lt->array.size()) + " entries, expected num_hidden_layers (" +
                               std::to_string(c.num_layers) + ")");
    for (const json::Value& v : lt->array) {
      if (v.is_string() && v.string == "sliding_attention") {
        sliding = true;
      } else if (!v.is_string() || v.string != "full_attention") {
        f.bad("layer_types", "entry " + Fields::show(v) + " is not supported (full_attention, sliding_attention)");
      }
    }
    // transformers builds no sliding mask without a window: it refuses such a model rather than run it
    if (sliding && window == 0)
      f.bad("layer_types",
            "names sliding_attention, but there is no window (use_sliding_window false or "
            "sliding_window null)");
  } else if (window > 0) {
    sliding = c.num_layers > f.optional_int("max_window_layers", 28, 0);
  }
  if (sliding && window < c.max_positions) c.max_positions = window;
}

void parse_llama(const Fields& f, ModelConfig& c) {
  c.family = Family::LLAMA;
  const bool qwen2 = c.model_type == "qwen2";
  // Qwen3 is Qwen2's config with an explicit head_dim, q_norm/k_norm, and LlamaConfig's attention_bias (q/k/v/o)
  const bool qwen3 = c.model_type == "qwen3";
  c.vocab_size = f.require_int("vocab_size", 1);
  c.hidden_size = f.require_int("hidden_size", 1);
  c.intermediate_size = f.require_int("intermediate_size", 1);
  c.num_layers = f.require_int("num_hidden_layers", 1);
  c.num_heads = f.require_int("num_attention_heads", 1);
  c.max_positions = f.require_int("max_position_embeddings", 1);
  const bool mistral = c.model_type == "mistral";
  // an absent num_key_value_heads takes the config class's default (MistralConfig 8, Qwen2Config and Qwen3Config
  // 32); a null one, as LlamaConfig's default, means num_attention_heads
  const json::Value* nkv = f.raw("num_key_value_heads");
  const int64_t nkv_default = !nkv && mistral ? 8 : !nkv && (qwen2 || qwen3) ? 32 : c.num_heads;
  c.num_kv_heads = f.optional_int("num_key_value_heads", nkv_default, 1);
  if (c.num_heads % c.num_kv_heads != 0)
    f.bad("num_key_value_heads", "(" + std::to_string(c.num_kv_heads) +
                                     (nkv ? "" : ", the " + c.model_type + " default") +
                                     ") must divide num_attention_heads (" + std::to_string(c.num_heads) + ")");
  if (f.get("head_dim")) {
    c.head_dim = f.require_int("head_dim", 1);
  } else if (qwen3 && !f.raw("head_dim")) {
    c.head_dim = 128;  // Qwen3Config's default, whatever hidden_size / num_attention_heads is
  } else {
    if (c.hidden_size % c.num_heads != 0)
      f.bad("hidden_size", "(" + std::to_string(c.hidden_size) + ") must be divisible by num_attention_heads (" +
                               std::to_string(c.num_heads) + ") when head_dim is absent");
    c.head_dim = c.hidden_size / c.num_heads;
  }
  if (c.head_dim % 2 != 0) f.bad("head_dim", "must be even for rotary embeddings, got " + std::to_string(c.head_dim));
  // each factor is <= 2^31 - 1, so the products below cannot wrap in int64
  if (c.num_heads * c.head_dim > kMaxDim)
    f.bad("num_attention_heads",
          "× head_dim = " + std::to_string(c.num_heads * c.head_dim) + " exceeds " + std::to_string(kMaxDim));
  c.norm_eps = f.optional_positive("rms_norm_eps", 1e-6);
  c.tie_word_embeddings = f.optional_bool("tie_word_embeddings", false);
  std::string act = f.optional_string("hidden_act", "silu");
  if (act != "silu" && act != "swish")
    f.bad("hidden_act", "= '" + act + "' is not supported (the gated MLP needs silu)");
  c.activation = Activation::SILU;

  // rope_theta, or transformers v5's rope_parameters {rope_type, rope_theta}
  c.rope_theta = f.optional_positive("rope_theta", 10000.0);
  if (const json::Value* rp = f.get("rope_parameters")) {
    if (!rp->is_object()) f.bad("rope_parameters", "must be an object, got " + Fields::show(*rp));
    // per-layer-type parameters ({"full_attention": {...}, ...}) belong to models with mixed attention
    for (const auto& [key, v] : rp->object)
      if (v.is_object())
        f.bad("rope_parameters", "has per-layer-type parameters ('" + key + "'), which are not supported");
    // rope_type (or the legacy "type" as in rope_scaling) and its fields
    c.rope_scaling = parse_rope_scaling(f, "rope_parameters", *rp, c.max_positions);
    if (const json::Value* th = rp->get("rope_theta")) {
      if (!th->is_number() || !(th->number > 0)) f.bad("rope_parameters", "rope_theta must be a positive number");
      c.rope_theta = th->number;
    }
    // transformers 5 reads partial_rotary_factor from here (the top-level one is only its default)
    if (const json::Value* prf = rp->get("partial_rotary_factor"))
      if (!prf->is_null() && !(prf->is_number() && prf->number == 1.0))
        f.bad("rope_parameters", "partial_rotary_factor other than 1 is not supported, got " + Fields::show(*prf));
  }
  // the older rope_scaling block; where both are given, transformers 5 takes rope_scaling's
  if (const json::Value* rs = f.get("rope_scaling")) {
    if (!rs->is_object()) f.bad("rope_scaling", "must be an object or null, got " + Fields::show(*rs));
    const RopeScaling scaling = parse_rope_scaling(f, "rope_scaling", *rs, c.max_positions);
    if (scaling.kind != RopeScaling::NONE || !f.get("rope_parameters")) c.rope_scaling = scaling;
  }
  if (const json::Value* prf = f.get("partial_rotary_factor")) {
    if (!prf->is_number() || prf->number != 1.0) f.bad("partial_rotary_factor", "other than 1 is not supported");
  }
  // yarn's correction range divides by ln θ (transformers fails there too)
  if (c.rope_scaling.kind == RopeScaling::YARN && c.rope_theta == 1.0)
    f.bad("rope_theta", "must not be 1 with rope_type \"yarn\" (its correction range divides by ln rope_theta)");
  // dynamic NTK equals the default RoPE up to the original context only: longer sequences are refused
  if (c.rope_scaling.kind == RopeScaling::DYNAMIC && c.rope_scaling.original_max_positions < c.max_positions)
    c.max_positions = std::max<int64_t>(1, static_cast<int64_t>(c.rope_scaling.original_max_positions));

  // attention_bias and mlp_bias are LlamaConfig fields: MistralAttention/MistralMLP have no bias at all and
  // Qwen2's has bias on q, k, v only, whatever config.json says (transformers ignores the fields there)
  if (qwen2) {
    c.qkv_bias_only = true;  // Qwen2 attention: bias on q, k, v; none on o
    c.attention_bias = false;
  } else if (!mistral) {
    c.attention_bias = f.optional_bool("attention_bias", false);  // Qwen3Attention: q/k/v/o bias, as Llama's
  }
  if (!qwen2 && !qwen3 && !mistral) c.mlp_bias = f.optional_bool("mlp_bias", false);
  c.qk_norm = qwen3;  // Qwen3Attention.q_norm / k_norm: RMSNorm(head_dim, eps = rms_norm_eps)

  // Sliding-window attention equals full attention for sequences no longer than the window, so a window
  // on any layer caps the accepted sequence length (and no windowed kernel is needed). An absent
  // sliding_window is the config class's default 4096 (MistralConfig, Qwen2Config); null means no window.
  if (mistral) {
    // MistralAttention windows every layer
    const int64_t window = f.raw("sliding_window") ? f.optional_int("sliding_window", 0, 1) : 4096;
    if (window > 0 && window < c.max_positions) c.max_positions = window;
  } else if (qwen2 || qwen3) {
    parse_qwen2_window(f, c);  // Qwen3Config windows layers exactly as Qwen2Config
  }
}

}  // namespace

ModelConfig parse_config(const std::string& json_text, const std::string& path) {
  json::Value root = json::parse(json_text, err::kConfig, path);
  if (!root.is_object()) throw Error(err::kConfig, path + ": the top level must be a JSON object");
  Fields f(root, path);
  ModelConfig c;
  const json::Value* mt = root.get("model_type");
  if (!mt) f.bad("model_type", "is missing");
  if (!mt->is_string()) f.bad("model_type", "must be a string, got " + Fields::show(*mt));
  c.model_type = mt->string;
  if (c.model_type == "gpt2") {
    parse_gpt2(f, c);
  } else if (c.model_type == "opt") {
    parse_opt(f, c);
  } else if (c.model_type == "llama" || c.model_type == "mistral" || c.model_type == "qwen2" ||
             c.model_type == "qwen3") {
    parse_llama(f, c);
  } else {
    throw Error(err::kModelType, path + ": model_type '" + c.model_type +
                                     "' is not supported (supported: gpt2, opt, llama, mistral, qwen2, qwen3)");
  }
  if (c.family != Family::OPT) c.word_embed_proj_dim = c.hidden_size;
  c.bos_token_id = f.token_id("bos_token_id");
  c.eos_token_id = f.token_id("eos_token_id");
  c.raw_json = json_text;
  return c;
}

namespace {

// The tensors of a model with the first `layers` blocks, from the family table: expected_tensors lists all
// of them; expected_parameter_count needs only 0 and 1, so a huge num_hidden_layers costs nothing.
std::vector<TensorSpec> list_tensors(const ModelConfig& c, int64_t layers) {
  const FamilySpec& spec = family_spec(c.family);
  std::vector<TensorSpec> out;
  auto shape = [&](int rank, const Dim* dims) {
    std::vector<int64_t> s;
    for (int i = 0; i < rank; ++i) s.push_back(dim_size(dims[i], c));
    return s;
  };
  for (const GlobalTensor& t : spec.globals)
    if (tensor_present(t.when, c)) out.push_back({t.name, shape(t.rank, t.shape)});
  for (int64_t i = 0; i < layers; ++i)
    for (const LayerTensor& t : spec.layer)
      if (tensor_present(t.when, c)) out.push_back({layer_tensor_name(spec, i, t), shape(t.rank, t.shape)});
  return out;
}

}  // namespace

std::vector<TensorSpec> expected_tensors(const ModelConfig& c) { return list_tensors(c, c.num_layers); }

unsigned __int128 expected_parameter_count(const ModelConfig& c) {
  auto count = [](const std::vector<TensorSpec>& specs) {
    unsigned __int128 n = 0;
    for (const TensorSpec& t : specs) {
      unsigned __int128 e = 1;
      for (int64_t d : t.shape) e *= static_cast<uint64_t>(d);  // dims <= 2^32, at most 2 per tensor
      n += e;
    }
    return n;
  };
  const unsigned __int128 base = count(list_tensors(c, 0));
  const unsigned __int128 per_layer = count(list_tensors(c, 1)) - base;
  return base + per_layer * static_cast<uint64_t>(c.num_layers);
}

}  // namespace dpzo
