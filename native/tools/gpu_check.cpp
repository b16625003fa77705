// defines: mode_gpu_check, mode_gpu_bench (native/tools/gpu_check.h) — the CUDA backend against the CPU
// backend (the reference: the CPU's own code paths) on random checkpoints, and its speed on one larger
// random Llama shape. Needs no Node.js: bench/gpu/run.sh runs it on a GPU machine.
#include "gpu_check.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/fileio.h"
#include "core/safetensors.h"
#include "dpzo/backend.h"
#include "dpzo/config.h"
#include "dpzo/errors.h"
#include "dpzo/model.h"
#include "dpzo/perturb.h"
#include "dpzo/random_init.h"
#ifdef DPZO_HAVE_CUDA
#include "cuda_backend.h"
#endif

using namespace dpzo;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string flag(const std::map<std::string, std::string>& f, const char* k, const std::string& def) {
  auto it = f.find(k);
  return it == f.end() ? def : it->second;
}
int64_t flag_int(const std::map<std::string, std::string>& f, const char* k, int64_t def) {
  auto it = f.find(k);
  if (it == f.end()) return def;
  char* end = nullptr;
  const long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (!end || *end || v <= 0)
    throw Error(err::kArgument, std::string("dpzo_check: --") + k + " must be a positive integer");
  return v;
}
std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t b = 0;
  while (b <= s.size()) {
    const size_t e = std::min(s.find(',', b), s.size());
    if (e > b) out.push_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

// splitmix64: a fast seeded stream; uniform(−√3σ, √3σ) has standard deviation σ
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  float uniform() { return static_cast<float>((next() >> 40) * (1.0 / 16777216.0)); }  // [0, 1)
  float around(float sigma) { return (2.0f * uniform() - 1.0f) * 1.7320508f * sigma; }
};

struct Shape {
  std::string family = "llama";
  int64_t vocab = 512, hidden = 64, layers = 2, heads = 4, kv_heads = 2, inter = 160, positions = 128;
  std::string model_type = "llama";  // llama family: llama or qwen3 (q_norm / k_norm)
  int64_t head_dim = 0;              // llama family: 0 = hidden / heads (config.json without head_dim)
  std::string rope_scaling;          // llama family: config.json's rope_scaling object, empty for none
};

// config.json as transformers writes it for the family (test/helpers/checkpoints.ts has the same fields)
std::string config_json(const Shape& s, DType dt) {
  const std::string torch_dtype = dt == DType::BF16 ? "bfloat16" : dt == DType::F16 ? "float16" : "float32";
  auto n = [](int64_t v) { return std::to_string(v); };
  if (s.family == "gpt2")
    return "{\"model_type\":\"gpt2\",\"architectures\":[\"GPT2LMHeadModel\"],\"activation_function\":\"gelu_new\","
           "\"vocab_size\":" +
           n(s.vocab) + ",\"n_embd\":" + n(s.hidden) + ",\"n_layer\":" + n(s.layers) + ",\"n_head\":" + n(s.heads) +
           ",\"n_inner\":" + n(s.inter) + ",\"n_positions\":" + n(s.positions) + ",\"n_ctx\":" + n(s.positions) +
           ",\"layer_norm_epsilon\":1e-05,\"torch_dtype\":\"" + torch_dtype + "\"}\n";
  if (s.family == "opt")
    return "{\"model_type\":\"opt\",\"architectures\":[\"OPTForCausalLM\"],\"activation_function\":\"relu\","
           "\"vocab_size\":" +
           n(s.vocab) + ",\"hidden_size\":" + n(s.hidden) + ",\"word_embed_proj_dim\":" + n(s.hidden) +
           ",\"num_hidden_layers\":" + n(s.layers) + ",\"num_attention_heads\":" + n(s.heads) +
           ",\"ffn_dim\":" + n(s.inter) + ",\"max_position_embeddings\":" + n(s.positions) +
           ",\"do_layer_norm_before\":true,\"enable_bias\":true,\"layer_norm_elementwise_affine\":true,"
           "\"_remove_final_layer_norm\":false,\"bos_token_id\":2,\"eos_token_id\":2,\"pad_token_id\":1,"
           "\"torch_dtype\":\"" +
           torch_dtype + "\"}\n";
  const bool qwen3 = s.model_type == "qwen3";
  return std::string(qwen3 ? "{\"model_type\":\"qwen3\",\"architectures\":[\"Qwen3ForCausalLM\"],"
                             "\"use_sliding_window\":false,"
                           : "{\"model_type\":\"llama\",\"architectures\":[\"LlamaForCausalLM\"],") +
         (s.head_dim > 0 ? "\"head_dim\":" + n(s.head_dim) + "," : "") +
         (s.rope_scaling.empty() ? "" : "\"rope_scaling\":" + s.rope_scaling + ",") +
         "\"hidden_act\":\"silu\",\"vocab_size\":" + n(s.vocab) + ",\"hidden_size\":" + n(s.hidden) +
         ",\"intermediate_size\":" + n(s.inter) + ",\"num_hidden_layers\":" + n(s.layers) +
         ",\"num_attention_heads\":" + n(s.heads) + ",\"num_key_value_heads\":" + n(s.kv_heads) +
         ",\"max_position_embeddings\":" + n(s.positions) +
         ",\"rms_norm_eps\":1e-05,\"rope_theta\":10000.0,\"tie_word_embeddings\":false,\"attention_bias\":false,"
         "\"mlp_bias\":false,\"bos_token_id\":1,\"eos_token_id\":2,\"torch_dtype\":\"" +
         torch_dtype + "\"}\n";
}

// A random checkpoint: embeddings ~ 1, matrices ~ 1/√fan_in, norm gains ~ 1 ± 0.1, biases ~ 0.02. With
// shards > 1, the tensors in that many files named by model.safetensors.index.json (as transformers shards).
void write_checkpoint(const std::string& dir, const Shape& s, DType dt, uint64_t seed, int shards = 1) {
  fileio::mkdir_p(dir);
  const std::string cfg_text = config_json(s, dt);
  const ModelConfig cfg = parse_config(cfg_text, dir + "/config.json");
  std::vector<std::vector<uint8_t>> bufs;
  std::vector<StTensorOut> out;
  Rng rng{seed};
  for (const TensorSpec& t : expected_tensors(cfg)) {
    int64_t numel = 1;
    for (int64_t d : t.shape) numel *= d;
    const bool vec = t.shape.size() == 1, bias = t.name.find("bias") != std::string::npos;
    const bool emb = t.name.find("embed") != std::string::npos || t.name.find("wte") != std::string::npos ||
                     t.name.find("wpe") != std::string::npos;
    const float sigma = vec ? (bias ? 0.02f : 0.1f) : emb ? 1.0f : 1.0f / std::sqrt(static_cast<float>(t.shape[1]));
    const float center = vec && !bias ? 1.0f : 0.0f;
    bufs.emplace_back(static_cast<size_t>(numel * dtype_size(dt)));
    uint8_t* p = bufs.back().data();
    for (int64_t i = 0; i < numel; ++i) {
      const float v = center + rng.around(sigma);
      if (dt == DType::F32)
        reinterpret_cast<float*>(p)[i] = v;
      else
        reinterpret_cast<uint16_t*>(p)[i] = dt == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
    }
    out.push_back(StTensorOut{t.name, dt, t.shape, p});
  }
  if (shards <= 1) {
    write_safetensors(dir + "/model.safetensors", std::move(out), {{"format", "pt"}});
  } else {
    std::string index = "{\"metadata\":{},\"weight_map\":{";
    const size_t per = (out.size() + static_cast<size_t>(shards) - 1) / static_cast<size_t>(shards);
    for (int k = 0; k < shards; ++k) {
      char name[64];
      std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", k + 1, shards);
      std::vector<StTensorOut> part;
      for (size_t i = k * per; i < std::min(out.size(), (k + 1) * per); ++i) {
        index += std::string(index.back() == '{' ? "" : ",") + "\"" + out[i].name + "\":\"" + name + "\"";
        part.push_back(out[i]);
      }
      write_safetensors(dir + "/" + name, std::move(part), {{"format", "pt"}});
    }
    index += "}}\n";
    fileio::AtomicWriter iw(dir + "/model.safetensors.index.json");
    iw.write(index.data(), index.size());
    iw.commit();
  }
  fileio::AtomicWriter w(dir + "/config.json");
  w.write(cfg_text.data(), cfg_text.size());
  w.commit();
}

// Four sequences of different lengths, tokens drawn from the vocabulary.
PackedBatch random_batch(int64_t vocab, uint64_t seed, std::vector<int64_t> lens = {17, 5, 40, 23}) {
  PackedBatch b;
  Rng rng{seed};
  b.offsets.push_back(0);
  for (int64_t len : lens) {
    for (int64_t t = 0; t < len; ++t) b.tokens.push_back(static_cast<int32_t>(rng.next() % vocab));
    b.offsets.push_back(static_cast<int64_t>(b.tokens.size()));
  }
  return b;
}

struct Table {
  int failures = 0;
  void row(const std::string& cse, const std::string& check, double value, double limit, const char* unit = "") {
    const bool ok = std::isfinite(value) && value <= limit;
    failures += !ok;
    std::printf("| %-15s | %-40s | %11.3g%s | %9.3g | %-4s |\n", cse.c_str(), check.c_str(), value, unit, limit,
                ok ? "ok" : "FAIL");
    std::fflush(stdout);
  }
  void info(const std::string& cse, const std::string& check, const std::string& value) {
    std::printf("| %-15s | %-40s | %11s | %9s | %-4s |\n", cse.c_str(), check.c_str(), value.c_str(), "", "info");
    std::fflush(stdout);
  }
};

double max_rel(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  if (a.size() != b.size()) return INFINITY;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    m = std::max(m, std::fabs(a[i] - b[i]) / std::max(1e-30, std::fabs(a[i])));
  }
  return m;
}
double max_abs(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  if (a.size() != b.size()) return INFINITY;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  }
  return m;
}

const BackendFactory& device_under_test(bool& real) {
#ifdef DPZO_HAVE_CUDA
  real = cuda::available();
  if (real) return cuda_backend_factory();
#endif
  real = false;
  return cpu_backend_factory();
}

std::unique_ptr<Model> load(const std::string& dir, const BackendFactory& f) {
  LoadOptions o;
  o.backend = &f;
  return Model::load(dir, o);
}

int64_t ulp_distance(float a, float b) {
  auto key = [](float x) {
    const int32_t i = static_cast<int32_t>(f32_bits(x));
    return i < 0 ? static_cast<int64_t>(INT32_MIN) - i : static_cast<int64_t>(i);
  };
  return std::llabs(key(a) - key(b));
}

void check_directions(Table& tab, bool real) {
  const int64_t m = 1 << 22;
  const uint64_t seed = 0x243f6a8885a308d3ull, g0 = 1000003;
  std::vector<float> cpu(static_cast<size_t>(m)), dev(static_cast<size_t>(m));
  fill_direction(seed, g0, m, cpu.data());
#ifdef DPZO_HAVE_CUDA
  if (real) {
    float* d = static_cast<float*>(cuda::device_alloc(static_cast<size_t>(m) * 4));
    cuda::fill_direction(seed, g0, m, d);
    cuda::copy_to_host(dev.data(), d, static_cast<size_t>(m) * 4);
    cuda::device_free(d);
  }
#endif
  if (!real) fill_direction(seed, g0, m, dev.data());
  int64_t worst = 0;
  for (int64_t i = 0; i < m; ++i) worst = std::max(worst, ulp_distance(cpu[i], dev[i]));
  tab.row("directions", "z CUDA vs CPU, 4M elements (max ulp)", static_cast<double>(worst), 2);
}

// The batch and both backends' losses at θ, for bench/gpu/hf_compare.py (transformers on the same files).
void write_losses(const std::string& path, const PackedBatch& b, const std::vector<double>& cpu,
                  const std::vector<double>& dev, bool real) {
  auto ints = [](const auto& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s + "]";
  };
  auto reals = [](const std::vector<double>& v) {
    std::string s = "[";
    char buf[32];
    for (size_t i = 0; i < v.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%.17g", v[i]);
      s += (i ? "," : "") + std::string(buf);
    }
    return s + "]";
  };
  const std::string text = "{\"tokens\":" + ints(b.tokens) + ",\"offsets\":" + ints(b.offsets) +
                           ",\"cpu_loss\":" + reals(cpu) + ",\"device_loss\":" + reals(dev) + ",\"device\":\"" +
                           (real ? "cuda" : "cpu") + "\"}\n";
  fileio::AtomicWriter w(path);
  w.write(text.data(), text.size());
  w.commit();
}

// Greedy decoding by full recomputation (logits at the last position of the whole sequence each step): the
// reference of the KV-cached generate.
std::vector<int32_t> recomputed_greedy(Model& m, std::vector<int32_t> seq, int n) {
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    const int64_t T = static_cast<int64_t>(seq.size());
    const std::vector<float> z = m.logits(PackedBatch{seq, {0, T}, {}, {}}, {T - 1}, nullptr);
    const int32_t best = static_cast<int32_t>(std::max_element(z.begin(), z.end()) - z.begin());
    out.push_back(best);
    seq.push_back(best);
  }
  return out;
}

// The shape of a gpu-check case: a family, or one of its variants.
Shape case_shape(const std::string& family) {
  Shape s;
  s.family = family;
  if (family == "llama-wide") {  // the MLP is the largest tensor: in BF16 its virtual reads come in row chunks
    s.family = "llama";
    s.inter = 2048;
  }
  if (family == "llama-h128") {  // 128-wide heads with GQA: the tiled attention kernel's larger tiles
    s.family = "llama";
    s.hidden = 256;
    s.heads = 2;
    s.kv_heads = 1;
  }
  if (family == "qwen3") {  // Qwen3: per-head q_norm / k_norm, head_dim (32) ≠ hidden / heads (16), GQA
    s.family = "llama";
    s.model_type = "qwen3";
    s.head_dim = 32;
    // and Qwen's long-context YaRN scaling: the device rotates by the host's table, attention factor (1.139) folded in
    s.rope_scaling = "{\"rope_type\":\"yarn\",\"factor\":4.0,\"original_max_position_embeddings\":32}";
  }
  if (s.family != "llama") s.kv_heads = s.heads;
  return s;
}

void check_case(Table& tab, const std::string& root, const std::string& family, DType dt, bool real) {
  const Shape s = case_shape(family);
  const std::string name = family + "-" + dtype_name(dt);
  const std::string dir = root + "/" + name;
  write_checkpoint(dir, s, dt, 42);
  const BackendFactory& dev = device_under_test(real);
  auto cpu = load(dir, cpu_backend_factory());
  auto gpu = load(dir, dev);
  const PackedBatch b = random_batch(s.vocab, 7);
  // 0. the host copy of the weights gives its pages back once they are on the device (cuda/host_copy.h)
  if (real) tab.row(name, "host bytes held after the upload", static_cast<double>(gpu->memory().host_current), 16384);
  // 1. at θ
  const double tol = 1e-4;
  const LossOutput lc = cpu->per_example_loss(b, {}, nullptr)[0], lg = gpu->per_example_loss(b, {}, nullptr)[0];
  tab.info(name, "CPU loss of sequence 0 (nats)", std::to_string(lc.loss[0]));
  write_losses(dir + "/dpzo_losses.json", b, lc.loss, lg.loss, real);
  tab.row(name, "loss at theta (max rel err)", max_rel(lc.loss, lg.loss), tol);
  // 2. at the + and − points of a DP-ZO step
  ForwardOptions pts;
  pts.points = {{{1234567}, {1e-2f}}, {{1234567}, {-1e-2f}}};
  const auto vc = cpu->per_example_loss(b, pts, nullptr), vg = gpu->per_example_loss(b, pts, nullptr);
  tab.row(name, "loss at theta+eps*z (max rel err)", max_rel(vc[0].loss, vg[0].loss), tol);
  tab.row(name, "loss at theta-eps*z (max rel err)", max_rel(vc[1].loss, vg[1].loss), tol);
  // 3. all rows, candidates
  ForwardOptions all;
  all.all_rows = true;
  PackedBatch lb = b;
  lb.labels.assign(b.tokens.size(), -100);
  for (size_t i = 1; i + 1 < b.offsets.size(); i += 2) lb.labels[b.offsets[i] - 1] = b.tokens[b.offsets[i] - 1];
  tab.row(name, "loss, labels + all_rows (max rel err)",
          max_rel(cpu->per_example_loss(lb, all, nullptr)[0].loss, gpu->per_example_loss(lb, all, nullptr)[0].loss),
          tol);
  PackedBatch cb = b;
  cb.candidates = {3, 11, 200};
  cb.labels.assign(b.tokens.size(), -100);
  for (size_t i = 1; i < b.offsets.size(); ++i) cb.labels[b.offsets[i] - 1] = cb.candidates[i % 3];
  const auto cc = cpu->per_example_loss(cb, pts, nullptr), cg = gpu->per_example_loss(cb, pts, nullptr);
  tab.row(name, "cand. loss at theta+eps*z (max rel err)", max_rel(cc[0].loss, cg[0].loss), tol);
  tab.row(name, "candidate logits at +eps*z (max abs err)", max_abs(cc[0].candidate_logits, cg[0].candidate_logits),
          1e-3);
  // 4. logits and greedy tokens
  const std::vector<int64_t> at = {0, 16, 30, 84};
  tab.row(name, "logits (max abs err)", max_abs(cpu->logits(b, at, nullptr), gpu->logits(b, at, nullptr)), 1e-3);
  const std::vector<int32_t> prompt(b.tokens.begin(), b.tokens.begin() + 9);
  const auto tc = cpu->generate(prompt, 6, -1, nullptr), tg = gpu->generate(prompt, 6, -1, nullptr);
  tab.row(name, "greedy tokens differ CPU vs device (0/1)", tc != tg, 0);
  tab.row(name, "KV-cached vs recomputed tokens differ", tg != recomputed_greedy(*gpu, prompt, 6), 0);

  // 5. a virtual point equals the in-place perturb followed by a forward at θ (F32: the same weights)
  if (dt == DType::F32) {
    auto moved = load(dir, dev);
    moved->perturb(1234567, 1e-2f);
    tab.row(name, "virtual = in-place perturb, same backend",
            max_rel(vg[0].loss, moved->per_example_loss(b, {}, nullptr)[0].loss), 0.0);
  }
  // 6. perturb (nearest) and update (stochastic rounding, decay) bit for bit
  cpu->perturb(99, 1e-3f);
  gpu->perturb(99, 1e-3f);
  tab.row(name, "perturb: weights hash differs (0/1)", cpu->weights_hash() != gpu->weights_hash(), 0);
  const uint64_t seeds[3] = {5, 6, 1ull << 40};
  const float coeffs[3] = {-2e-3f, 1e-3f, 5e-4f};
  cpu->update(seeds, coeffs, 3, 0.999f);
  gpu->update(seeds, coeffs, 3, 0.999f);
  tab.row(name, "update + decay + SR: hash differs (0/1)", cpu->weights_hash() != gpu->weights_hash(), 0);
  cpu->decay(0.99f);
  gpu->decay(0.99f);
  tab.row(name, "decay alone: hash differs (0/1)", cpu->weights_hash() != gpu->weights_hash(), 0);
  tab.row(name, "loss after the update (max rel err)",
          max_rel(cpu->per_example_loss(b, {}, nullptr)[0].loss, gpu->per_example_loss(b, {}, nullptr)[0].loss), tol);
  const MemoryStats ms = gpu->memory();
  tab.info(name, "device bytes now / peak", std::to_string(ms.device_current) + " / " + std::to_string(ms.device_peak));
}

// Streaming load (item of issue 12): a sharded checkpoint goes to the device one tensor at a time, so the
// host peak is the largest tensor, not the model; the losses equal the CPU's on the same shards.
void check_streaming(Table& tab, const std::string& root, bool real) {
  Shape s;
  s.layers = 6;
  const std::string dir = root + "/llama-sharded";
  write_checkpoint(dir, s, DType::F32, 43, 3);
  const BackendFactory& dev = device_under_test(real);
  auto cpu = load(dir, cpu_backend_factory());
  auto gpu = load(dir, dev);
  int64_t largest = 0, total = 0;
  for (const TensorInfo& t : gpu->tensors()) {
    largest = std::max(largest, t.numel * 4);
    total += t.numel * 4;
  }
  const MemoryStats ms = gpu->memory();
  tab.info("llama-sharded", "weights bytes / largest tensor bytes",
           std::to_string(total) + " / " + std::to_string(largest));
  if (real) {
    tab.row("llama-sharded", "host peak during load / largest tensor", static_cast<double>(ms.host_peak) / largest,
            1.0);
    tab.row("llama-sharded", "host peak during load / weights", static_cast<double>(ms.host_peak) / total, 0.25);
  }
  const PackedBatch b = random_batch(s.vocab, 8);
  ForwardOptions pts;
  pts.points = {{{77}, {1e-2f}}, {{77}, {-1e-2f}}};
  tab.row("llama-sharded", "loss at theta (max rel err)",
          max_rel(cpu->per_example_loss(b, {}, nullptr)[0].loss, gpu->per_example_loss(b, {}, nullptr)[0].loss), 1e-4);
  const auto vc = cpu->per_example_loss(b, pts, nullptr), vg = gpu->per_example_loss(b, pts, nullptr);
  tab.row("llama-sharded", "loss at theta+eps*z (max rel err)", max_rel(vc[0].loss, vg[0].loss), 1e-4);
  tab.row("llama-sharded", "weights hash differs (0/1)", cpu->weights_hash() != gpu->weights_hash(), 0);
  // converted on the way (F32 file, BF16 model): the staging path through the conversion buffers (one per
  // thread, at most an 8 MiB chunk each: one thread here, so that a tiny model can show the bound)
  LoadOptions o;
  o.threads = 1;
  o.dtype = static_cast<int>(DType::BF16);
  o.backend = &cpu_backend_factory();
  auto cpu16 = Model::load(dir, o);
  o.backend = &dev;
  auto gpu16 = Model::load(dir, o);
  const int64_t peak16 = gpu16->memory().host_peak;  // before weights_hash refills the host copy
  tab.row("llama-sharded", "F32 file as BF16: hash differs (0/1)", cpu16->weights_hash() != gpu16->weights_hash(), 0);
  if (real)
    tab.row("llama-sharded", "F32 as BF16: host peak / weights", static_cast<double>(peak16) / (total / 2), 0.5);
}

// Random initialisation from config.json alone (dpzo/random_init.h): no weights file exists; the same seed
// gives the same bits on both backends, another seed other bits; matrices have standard deviation 0.02.
void check_random_init(Table& tab, const std::string& root, DType dt, bool real) {
  Shape s;
  const std::string name = std::string("rand-init-") + dtype_name(dt);
  const std::string dir = root + "/" + name;
  fileio::mkdir_p(dir);
  const std::string cfg = config_json(s, dt);
  fileio::AtomicWriter w(dir + "/config.json");
  w.write(cfg.data(), cfg.size());
  w.commit();
  tab.row(name, "a weights file exists (0/1)",
          fileio::is_file(dir + "/model.safetensors") || fileio::is_file(dir + "/model.safetensors.index.json"), 0);
  auto make = [&](const BackendFactory& f, uint64_t seed) {
    LoadOptions o;
    o.backend = &f;
    o.random_init = true;
    o.seed = seed;
    o.dtype = static_cast<int>(dt);
    return Model::load(dir, o);
  };
  const BackendFactory& dev = device_under_test(real);
  auto cpu = make(cpu_backend_factory(), 2024), gpu = make(dev, 2024), other = make(cpu_backend_factory(), 2025);
  tab.row(name, "same seed: CPU, device hash differ (0/1)", cpu->weights_hash() != gpu->weights_hash(), 0);
  tab.row(name, "other seed: hash equal (0/1)", cpu->weights_hash() == other->weights_hash(), 0);
  // every matrix has standard deviation 0.02 (q_proj checked), every norm gain is 1, every bias 0
  double worst_std = 0, worst_vec = 0;
  for (const TensorInfo& t : gpu->tensors()) {
    const std::vector<float> v = gpu->get_parameter(t.name);
    const InitKind k = init_kind(t.name, t.shape);
    if (k == InitKind::kNormal && t.name.find("q_proj") != std::string::npos) {
      double sq = 0;
      for (float x : v) sq += static_cast<double>(x) * x;
      worst_std = std::max(worst_std, std::fabs(std::sqrt(sq / v.size()) / 0.02 - 1));
    } else if (k != InitKind::kNormal) {
      worst_vec = std::max(worst_vec, max_abs(v, std::vector<float>(v.size(), k == InitKind::kOnes ? 1.0f : 0.0f)));
    }
  }
  tab.row(name, "|std of q_proj / 0.02 - 1| (worst)", worst_std, 0.05);
  tab.row(name, "max |norm gain - 1|, |bias| (1-D)", worst_vec, 0);
  const PackedBatch b = random_batch(s.vocab, 9);
  tab.row(name, "loss at theta (max rel err)",
          max_rel(cpu->per_example_loss(b, {}, nullptr)[0].loss, gpu->per_example_loss(b, {}, nullptr)[0].loss), 1e-4);
}

// KV-cached greedy decoding on random-initialised, strongly perturbed models of every family (they decode
// less degenerately than the check checkpoints, so a wrong position or cache row changes the tokens):
// distinct tokens, equal to the full recomputation and to the CPU's.
void check_generate(Table& tab, const std::string& root, const std::string& family, bool real) {
  Shape s;
  s.family = family;
  if (family != "llama") s.kv_heads = s.heads;
  const std::string dir = root + "/" + family + "-generate";
  fileio::mkdir_p(dir);
  const std::string cfg = config_json(s, DType::F32);
  fileio::AtomicWriter w(dir + "/config.json");
  w.write(cfg.data(), cfg.size());
  w.commit();
  auto make = [&](const BackendFactory& f) {
    LoadOptions o;
    o.backend = &f;
    o.random_init = true;
    o.seed = 31;
    return Model::load(dir, o);
  };
  auto cpu = make(cpu_backend_factory()), gpu = make(device_under_test(real));
  // a large in-place perturbation (the same bits on both backends) moves the model away from the
  // near-identity map that makes a tied head repeat its input token
  cpu->perturb(77, 0.3f);
  gpu->perturb(77, 0.3f);
  const PackedBatch b = random_batch(s.vocab, 11);
  const std::vector<int32_t> prompt(b.tokens.begin(), b.tokens.begin() + 7);
  const int n = 12;
  const std::vector<int32_t> tg = gpu->generate(prompt, n, -1, nullptr);
  std::vector<int32_t> distinct(tg);
  std::sort(distinct.begin(), distinct.end());
  const std::string name = family + "-generate";
  tab.info(name, "distinct tokens of 12 generated",
           std::to_string(std::unique(distinct.begin(), distinct.end()) - distinct.begin()));
  tab.row(name, "KV-cached vs recomputed tokens differ", tg != recomputed_greedy(*gpu, prompt, n), 0);
  tab.row(name, "greedy tokens differ CPU vs device (0/1)", tg != cpu->generate(prompt, n, -1, nullptr), 0);
  // the device's KV cache grows by doubling from room for the prompt (3 → 6 → 12 → 24 → 48 positions), each
  // growth copying every layer's cached rows to the new stride: a long decoding from a short prompt crosses
  // four growths and still gives the CPU's tokens
  const std::vector<int32_t> short_prompt(prompt.begin(), prompt.begin() + 3);
  const int n_long = 45;
  const std::vector<int32_t> tl = gpu->generate(short_prompt, n_long, -1, nullptr);
  distinct = tl;
  std::sort(distinct.begin(), distinct.end());
  tab.info(name, "distinct tokens of 45 (cache grown 4x)",
           std::to_string(std::unique(distinct.begin(), distinct.end()) - distinct.begin()));
  tab.row(name, "4x-grown cache: CPU tokens differ (0/1)",
          tl.size() != static_cast<size_t>(n_long) || tl != cpu->generate(short_prompt, n_long, -1, nullptr), 0);
}

// The device memory of generate's KV cache on a long-context Llama (65,536 positions; the full context's cache
// is 2 layers × 65,536 × 128 floats = 67 MB): an eos after one token adds nothing to the peak of a one-token
// generation (the cache was sized for the whole context up front), and the peak counts the cache as it grows
// (48 positions after 45 tokens from a 3-token prompt, the 24-position one beside it while it is copied).
void check_generate_memory(Table& tab, const std::string& root, bool real) {
  Shape s;
  s.positions = 65536;
  const std::string dir = root + "/llama-generate-long";
  fileio::mkdir_p(dir);
  const std::string cfg = config_json(s, DType::F32);
  fileio::AtomicWriter w(dir + "/config.json");
  w.write(cfg.data(), cfg.size());
  w.commit();
  const BackendFactory& dev = device_under_test(real);
  if (!real) return;  // the CPU compared with itself has no device memory
  // the device peak of a fresh model after `run`
  auto peak_after = [&](const std::function<void(Model&)>& run) {
    LoadOptions o;
    o.backend = &dev;
    o.random_init = true;
    o.seed = 31;
    std::unique_ptr<Model> m = Model::load(dir, o);
    run(*m);
    return static_cast<double>(m->memory().device_peak);
  };
  const std::string name = "llama-gen-kv";
  const std::vector<int32_t> prompt = {1, 2, 3};
  const double row_bytes = static_cast<double>(s.layers) * ((s.heads + 2 * s.kv_heads) * (s.hidden / s.heads)) * 4;
  int32_t first = -1;
  const double one = peak_after([&](Model& m) { first = m.generate(prompt, 1, -1, nullptr).at(0); });
  std::vector<int32_t> got;
  const double eos = peak_after([&](Model& m) { got = m.generate(prompt, INT32_MAX, first, nullptr); });
  tab.row(name, "eos after 1 token ends it (0/1)", got != std::vector<int32_t>{first}, 0);
  tab.row(name, "eos after 1: peak - 1-token peak (B)", eos - one, 64 * row_bytes);
  const double grown = peak_after([&](Model& m) { got = m.generate(prompt, 45, -1, nullptr); });
  tab.row(name, "45 tokens generated (0/1)", got.size() != 45, 0);
  tab.row(name, "48-pos cache not counted in peak (0/1)", grown - one < (48 - 3) * row_bytes, 0);
  tab.row(name, "45 tokens: added peak / 48-pos cache", (grown - one) / (48 * row_bytes), 2);
}

// cuda:N: an index the runtime does not report is refused with ERR_DEVICE naming it, before any weight is read;
// the last index reported loads.
void check_device_index(Table& tab, const std::string& root, bool real) {
#ifdef DPZO_HAVE_CUDA
  if (!real) return;
  const std::string dir = root + "/llama-sharded";  // written by check_streaming
  const int n = cuda::device_count();
  LoadOptions o;
  o.backend = &cuda_backend_factory();
  o.device_index = n;
  std::string code, msg;
  try {
    Model::load(dir, o);
  } catch (const Error& e) {
    code = e.code();
    msg = e.what();
  }
  const std::string want = "cuda:" + std::to_string(n);
  tab.row("device-index", "cuda:<count> refused with ERR_DEVICE (0/1)",
          code != err::kDevice || msg.find(want) == std::string::npos, 0);
  o.device_index = n - 1;
  tab.row("device-index", "cuda:<count-1> loads (0/1)", Model::load(dir, o)->num_parameters() <= 0, 0);
#else
  (void)tab;
  (void)root;
  (void)real;
#endif
}

// Device memory of a DP-ZO step (issue 12: the peak within 5% of weights + one forward's activations): the
// weights W after the load, one forward at θ (activations A = its peak − W), then a pair at θ ± εz and an
// update; the ratio of that peak to W + A. The virtual points' float32 scratch (the largest weight's rows)
// is what the pair adds.
void check_step_memory(Table& tab, const std::string& root, const std::string& family, bool real) {
  Shape s;
  s.family = family;
  s.layers = 4;
  if (family != "llama") s.kv_heads = s.heads;
  const std::string dir = root + "/" + family + "-memory";
  write_checkpoint(dir, s, DType::BF16, 44);
  const BackendFactory& dev = device_under_test(real);
  if (!real) return;
  auto m = load(dir, dev);
  const int64_t W = m->memory().device_current;
  const PackedBatch b = random_batch(s.vocab, 10);
  m->per_example_loss(b, {}, nullptr);
  const int64_t A = m->memory().device_peak - W;
  ForwardOptions pts;
  pts.points = {{{5}, {1e-3f}}, {{5}, {-1e-3f}}};
  m->per_example_loss(b, pts, nullptr);
  const uint64_t seed = 5;
  const float coeff = -1e-4f;
  m->update(&seed, &coeff, 1, 1.0f);
  const int64_t P = m->memory().device_peak;
  const std::string name = family + "-BF16-step";
  tab.info(name, "device bytes: weights / one forward", std::to_string(W) + " / " + std::to_string(A));
  tab.info(name, "device peak of pair + update", std::to_string(P));
  tab.row(name, "step peak / (weights + one forward)", static_cast<double>(P) / static_cast<double>(W + A), 1.05);
}

// The tensor-core path (cuda/tensor_gemm.h) on a 16-bit model: BF16 activations at θ, split hi + lo weights at
// the points, so the losses are compared with the CPU's float32-activation losses at a BF16 tolerance
// (transformers' own BF16-vs-F32 differences on such checkpoints are 5e-4 … 1.4e-3 relative), and the DP-ZO
// difference ℓ⁺ − ℓ⁻ with the CPU's, relative to the largest CPU difference (informational, loose bound).
// `mode` is the DPZO_CUDA_GEMM the rows run with (auto, or tensor when the caller asked for it).
void check_tensor_case(Table& tab, const std::string& root, const std::string& family, DType dt, bool real,
                       const std::string& mode) {
#ifdef DPZO_HAVE_CUDA
  const Shape s = case_shape(family);
  const std::string name = family + "-" + dtype_name(dt) + "-tc";
  const std::string dir = root + "/" + name;
  write_checkpoint(dir, s, dt, 42);
  setenv("DPZO_CUDA_GEMM", mode.c_str(), 1);
  setenv("DPZO_CUDA_POINT_GEMM", "split", 1);
  auto cpu = load(dir, cpu_backend_factory());
  auto gpu = load(dir, device_under_test(real));
  const std::string path = cuda::last_gemm_path();
  tab.info(name, "GEMM path", path);
  if (path.rfind("tensor", 0) != 0) {
    // run.sh names a library (DPZO_CUBLASLT): then an inactive path is a failure, elsewhere a note
    const char* lib = std::getenv("DPZO_CUBLASLT");
    if (lib && *lib) tab.row(name, "tensor path active with DPZO_CUBLASLT (0/1)", 1, 0);
    return;
  }
  const PackedBatch b = random_batch(s.vocab, 7);
  const double tol = 2e-2;
  tab.row(name, "loss at theta, tensor (max rel err)",
          max_rel(cpu->per_example_loss(b, {}, nullptr)[0].loss, gpu->per_example_loss(b, {}, nullptr)[0].loss), tol);
  ForwardOptions pts;
  pts.points = {{{1234567}, {1e-2f}}, {{1234567}, {-1e-2f}}};
  const auto vc = cpu->per_example_loss(b, pts, nullptr), vg = gpu->per_example_loss(b, pts, nullptr);
  tab.row(name, "loss at theta+eps*z, split (max rel err)", max_rel(vc[0].loss, vg[0].loss), tol);
  tab.row(name, "loss at theta-eps*z, split (max rel err)", max_rel(vc[1].loss, vg[1].loss), tol);
  auto diff_err = [&](const std::vector<LossOutput>& dev) {
    double worst = 0, scale = 0;
    for (size_t i = 0; i < vc[0].loss.size(); ++i) scale = std::max(scale, std::fabs(vc[0].loss[i] - vc[1].loss[i]));
    for (size_t i = 0; i < vc[0].loss.size(); ++i)
      worst = std::max(worst, std::fabs((dev[0].loss[i] - dev[1].loss[i]) - (vc[0].loss[i] - vc[1].loss[i])));
    return worst / std::max(scale, 1e-30);
  };
  tab.row(name, "(l+ - l-) split vs CPU (err / max|CPU|)", diff_err(vg), 0.5);
  PackedBatch cb = b;
  cb.candidates = {3, 11, 200};
  cb.labels.assign(b.tokens.size(), -100);
  for (size_t i = 1; i < b.offsets.size(); ++i) cb.labels[b.offsets[i] - 1] = cb.candidates[i % 3];
  tab.row(name, "cand. loss at theta+eps*z (max rel err)",
          max_rel(cpu->per_example_loss(cb, pts, nullptr)[0].loss, gpu->per_example_loss(cb, pts, nullptr)[0].loss),
          tol);
  // the rounded points (DPZO_CUDA_POINT_GEMM=round, for measuring only): how much the split buys
  setenv("DPZO_CUDA_POINT_GEMM", "round", 1);
  auto rounded = load(dir, device_under_test(real));
  setenv("DPZO_CUDA_POINT_GEMM", "split", 1);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", diff_err(rounded->per_example_loss(b, pts, nullptr)));
  tab.info(name, "(l+ - l-) round vs CPU (err / max|CPU|)", buf);
#else
  (void)tab, (void)root, (void)family, (void)dt, (void)real, (void)mode;
#endif
}

}  // namespace

int mode_gpu_check(const std::map<std::string, std::string>& flags) {
  const std::string root = flag(flags, "dir", "/tmp/dpzo-gpu-check");
  bool real = false;
  device_under_test(real);
#ifdef DPZO_HAVE_CUDA
  const std::string device = real ? cuda::device_name() : "";
#else
  const std::string device;
#endif
  std::printf("dpzo_check gpu-check: %s%s\n", real ? "CUDA backend vs CPU backend on " : "",
              real ? device.c_str()
                   : "NO CUDA DEVICE (or no CUDA build): the CPU backend compared with itself; this tests "
                     "the driver, not CUDA");
  std::printf("| %-15s | %-40s | %12s | %9s | %-4s |\n", "case", "check", "value", "limit", "");
  Table tab;
  // the exact rows (1e-4, bit for bit) run the SIMT GEMM whatever the environment says; the tensor rows
  // below run DPZO_CUDA_GEMM=auto, or tensor when the caller set that
  const char* asked = std::getenv("DPZO_CUDA_GEMM");
  const std::string tensor_mode = asked && std::string(asked) == "tensor" ? "tensor" : "auto";
  setenv("DPZO_CUDA_GEMM", "simt", 1);
  check_directions(tab, real);
  for (const std::string& fam : split(flag(flags, "families", "llama,llama-wide,qwen3,gpt2,opt")))
    for (const std::string& d : split(flag(flags, "dtypes", "f32,bf16"))) {
      const DType dt = d == "bf16" ? DType::BF16 : d == "f16" ? DType::F16 : DType::F32;
      try {
        check_case(tab, root, fam, dt, real);
      } catch (const Error& e) {
        tab.failures++;
        std::printf("| %-15s | FAILED with %s: %s\n", (fam + "-" + d).c_str(), e.code().c_str(), e.what());
      }
    }
  const std::vector<std::pair<std::string, std::function<void()>>> extra = {
      {"llama-sharded", [&] { check_streaming(tab, root, real); }},
      {"device-index", [&] { check_device_index(tab, root, real); }},
      {"random-init-F32", [&] { check_random_init(tab, root, DType::F32, real); }},
      {"random-init-BF16", [&] { check_random_init(tab, root, DType::BF16, real); }},
      {"llama-step", [&] { check_step_memory(tab, root, "llama", real); }},
      {"llama-generate", [&] { check_generate(tab, root, "llama", real); }},
      {"gpt2-generate", [&] { check_generate(tab, root, "gpt2", real); }},
      {"opt-generate", [&] { check_generate(tab, root, "opt", real); }},
      {"llama-gen-kv", [&] { check_generate_memory(tab, root, real); }},
      {"opt-step", [&] { check_step_memory(tab, root, "opt", real); }},
  };
  for (const auto& [what, run] : extra) {
    try {
      run();
    } catch (const Error& e) {
      tab.failures++;
      std::printf("| %-15s | FAILED with %s: %s\n", what.c_str(), e.code().c_str(), e.what());
    }
  }
  if (real)  // the tensor-core path of 16-bit models (nothing to compare when the CPU is compared with itself)
    for (const std::string& fam : split(flag(flags, "families", "llama,llama-wide,qwen3,gpt2,opt")))
      for (const std::string& d : split(flag(flags, "dtypes", "f32,bf16"))) {
        if (d != "bf16" && d != "f16") continue;
        const DType dt = d == "bf16" ? DType::BF16 : DType::F16;
        try {
          check_tensor_case(tab, root, fam, dt, real, tensor_mode);
        } catch (const Error& e) {
          tab.failures++;
          std::printf("| %-15s | FAILED with %s: %s\n", (fam + "-" + d + "-tc").c_str(), e.code().c_str(), e.what());
        }
      }
  setenv("DPZO_CUDA_GEMM", "simt", 1);
  std::printf("gpu-check: %d failed\n", tab.failures);
  return tab.failures == 0 ? 0 : 1;
}

int mode_gpu_bench(const std::map<std::string, std::string>& flags) {
  bool real = false;
  const BackendFactory& dev = device_under_test(real);
  Shape s;
  s.family = flag(flags, "family", "llama");
  if (s.family != "llama" && s.family != "opt" && s.family != "gpt2")
    throw Error(err::kArgument, "dpzo_check: --family must be llama, opt or gpt2");
  s.hidden = flag_int(flags, "hidden", 2048);
  s.layers = flag_int(flags, "layers", 8);
  s.heads = flag_int(flags, "heads", 32);
  s.kv_heads = flag_int(flags, "kv-heads", 8);
  s.inter = flag_int(flags, "inter", 5632);
  s.vocab = flag_int(flags, "vocab", 32000);
  s.positions = 2048;
  if (s.family != "llama") s.kv_heads = s.heads;
  const int64_t B = flag_int(flags, "batch", 16), S = flag_int(flags, "seq", 128);
  const std::string d = flag(flags, "dtype", "bf16");
  const DType dt = d == "bf16" ? DType::BF16 : d == "f16" ? DType::F16 : DType::F32;
  const std::string dir = flag(flags, "dir", "/tmp/dpzo-gpu-bench") + "/" + s.family + "-" + d;
  // --init random: config.json only, the weights built on the device (dpzo/random_init.h), so a shape larger
  // than the disk can be measured; --init file (default): a random checkpoint written, then streamed in
  const std::string init = flag(flags, "init", "file");
  if (init != "file" && init != "random") throw Error(err::kArgument, "dpzo_check: --init must be file or random");
  auto best_of = [](int n, auto&& f) {
    double best = INFINITY;
    for (int i = 0; i < n; ++i) {
      const auto t = Clock::now();
      f();
      best = std::min(best, since(t));
    }
    return best;
  };
  double t_copy = INFINITY;
  // the reference bandwidth first, before the model takes the card: a 4 GiB copy (far beyond the L2; two
  // such buffers would not fit beside a model near the card's size); --copy-mib for the host emulation
  const double copy_bytes = static_cast<double>(flag_int(flags, "copy-mib", 4096)) * (1 << 20);
#ifdef DPZO_HAVE_CUDA
  if (real) {
    void* a = cuda::device_alloc(static_cast<size_t>(copy_bytes));
    void* c = cuda::device_alloc(static_cast<size_t>(copy_bytes));
    cuda::copy_device_to_device(c, a, static_cast<size_t>(copy_bytes));
    t_copy = best_of(5, [&] {
      cuda::copy_device_to_device(c, a, static_cast<size_t>(copy_bytes));
      cuda::synchronize();
    });
    cuda::device_free(a);
    cuda::device_free(c);
  }
#endif
  auto t0 = Clock::now();
  if (init == "random") {
    fileio::mkdir_p(dir);
    const std::string cfg = config_json(s, dt);
    fileio::AtomicWriter w(dir + "/config.json");
    w.write(cfg.data(), cfg.size());
    w.commit();
  } else {
    write_checkpoint(dir, s, dt, 1);
  }
  const double t_write = since(t0);
  t0 = Clock::now();
  LoadOptions lo;
  lo.backend = &dev;
  lo.random_init = init == "random";
  lo.seed = 1;
  lo.dtype = static_cast<int>(dt);  // a random init is built in the requested dtype (config.json's is not read)
  auto m = Model::load(dir, lo);
  const double t_load = since(t0);
  const double params = static_cast<double>(m->num_parameters());
  // the model's own dtype (a random init once came up float32 whatever --dtype said; this reports what ran)
  const double bytes = params * dtype_size(m->dtype());
  if (m->dtype() != dt)
    throw Error(err::kArgument, "dpzo_check gpu-bench: the model loaded in another dtype than --dtype");
  const PackedBatch b = random_batch(s.vocab, 3, std::vector<int64_t>(static_cast<size_t>(B), S));
  // --reps R (default 3): timed repetitions; --warmup 0 skips the untimed first call (a model near the
  // card's size, where one forward takes seconds, is then measured in three forwards)
  const int reps = static_cast<int>(flag_int(flags, "reps", 3));
  const bool warmup = flag(flags, "warmup", "1") != "0";
  if (reps < 1) throw Error(err::kArgument, "dpzo_check: --reps must be at least 1");
  if (warmup) m->per_example_loss(b, {}, nullptr);  // arena growth
  const double t_fwd = best_of(reps, [&] { m->per_example_loss(b, {}, nullptr); });
  ForwardOptions pts;
  pts.points = {{{11}, {1e-3f}}, {{11}, {-1e-3f}}};
  if (warmup) m->per_example_loss(b, pts, nullptr);
  const double t_pair = best_of(reps, [&] { m->per_example_loss(b, pts, nullptr); });
  uint64_t seed = 100;
  const float coeff = 1e-4f;
  const double t_upd = best_of(reps + 2, [&] {
    ++seed;
    m->update(&seed, &coeff, 1, 1.0f);
  });
  const double tokens = static_cast<double>(B * S);
#ifdef DPZO_HAVE_CUDA
  const std::string device = real ? "CUDA " + cuda::device_name() : "";
#else
  const std::string device;
#endif
  const MemoryStats ms = m->memory();
  std::printf("dpzo_check gpu-bench on %s: %s H=%" PRId64 " L=%" PRId64 " heads=%" PRId64 "/%" PRId64 " I=%" PRId64
              " V=%" PRId64 " %s, %.3g parameters, batch %" PRId64 " x %" PRId64 "\n",
              real ? device.c_str() : "CPU (no CUDA device)", s.family.c_str(), s.hidden, s.layers, s.heads, s.kv_heads,
              s.inter, s.vocab, d.c_str(), params, B, S);
#ifdef DPZO_HAVE_CUDA
  if (real) std::printf("GEMM path: %s\n", cuda::last_gemm_path().c_str());
#endif
  std::printf("| %-44s | %12s |\n", "measure", "value");
  std::printf("| %-44s | %10.2f s |\n", init == "random" ? "write config.json" : "write random checkpoint", t_write);
  std::printf("| %-44s | %10.2f s |\n",
              init == "random" ? "random init on the device" : "load (streamed to the device)", t_load);
  std::printf("| %-44s | %9.2f ms |\n", "forward + loss at theta (best of --reps)", t_fwd * 1e3);
  std::printf("| %-44s | %12.3g |\n", "forward TFLOP/s (2*params*tokens, no attn)", 2 * params * tokens / t_fwd / 1e12);
  std::printf("| %-44s | %9.2f ms |\n", "losses at theta+-eps*z (DP-ZO pair, best of --reps)", t_pair * 1e3);
  std::printf("| %-44s | %9.2f ms |\n", "update, 1 pair (best of --reps + 2)", t_upd * 1e3);
  std::printf("| %-44s | %9.2f ms |\n", "DP-ZO step, 1 direction (pair + update)", (t_pair + t_upd) * 1e3);
  std::printf("| %-44s | %12.1f |\n", "update GB/s (read + write)", 2 * bytes / t_upd / 1e9);
  std::printf("| %-44s | %12.1f |\n", "device-to-device copy GB/s (read + write)", 2 * copy_bytes / t_copy / 1e9);
  std::printf("| %-44s | %12.3g |\n", "device bytes peak", static_cast<double>(ms.device_peak));
  std::printf("| %-44s | %12.3g |\n", "weights bytes", bytes);
  return 0;
}
