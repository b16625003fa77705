// defines: Model::load (ModelLoader: names checked against the family table,
// the parameter layout, the trainable mask, typed weight views, the backend),
// the validation of perturb/update/decay before the backend runs them,
// get_parameter, save, weights_hash and MemoryTracker (see dpzo/model.h).
// Compute lives behind the Backend (cpu/cpu_backend.cpp, cuda/backend.cpp).
#include <cmath>
#include <cstdio>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "core/fileio.h"
#include "core/json.h"
#include "core/safetensors.h"
#include "core/sha256.h"
#include "dpzo/errors.h"
#include "dpzo/family.h"
#include "dpzo/model.h"
#include "dpzo/perturb.h"
#include "dpzo/random_init.h"
#include "dpzo/thread_pool.h"

namespace dpzo {

namespace {

constexpr int64_t kAlignBytes = 64;           // every tensor starts on a cache line
constexpr int64_t kCopyChunkBytes = 8 << 20;  // unit of parallel copy work
constexpr int64_t kMaxConfigBytes = 16 << 20;

// '*' matches any run of characters (dots included), over the whole name.
bool glob_match(const char* p, const char* s) {
  const char* star = nullptr;
  const char* resume = nullptr;
  while (*s) {
    if (*p == '*') {
      star = p++;
      resume = s;
    } else if (*p == *s) {
      ++p;
      ++s;
    } else if (star) {
      p = star + 1;
      s = ++resume;
    } else {
      return false;
    }
  }
  while (*p == '*') ++p;
  return *p == 0;
}

bool pattern_matches(const std::string& pat, const std::string& name) {
  if (pat.find('*') != std::string::npos) return glob_match(pat.c_str(), name.c_str());
  return name.find(pat) != std::string::npos;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// config.json as saved: the file's own text, byte for byte, except that a top-level torch_dtype (or transformers
// >= 4.56's dtype) naming another dtype than the weights written is made to name theirs. A float32 model from a
// bfloat16 base was saved under "torch_dtype": "bfloat16", which transformers' torch_dtype="auto" loads in
// bfloat16, rounding the training away.
std::string saved_config(const std::string& raw, DType dt) {
  const std::string name = dt == DType::BF16 ? "bfloat16" : dt == DType::F16 ? "float16" : "float32";
  const json::Value root = json::parse(raw, err::kConfig, "config.json");
  std::vector<std::pair<size_t, size_t>> stale;  // [start, end) of each string literal to replace
  for (const auto& [key, v] : root.object) {
    if ((key != "torch_dtype" && key != "dtype") || !v.is_string() || v.string == name) continue;
    size_t end = v.offset + 1;  // past the opening quote, to the closing one
    while (end < raw.size() && raw[end] != '"') end += raw[end] == '\\' ? 2 : 1;
    stale.emplace_back(v.offset, end + 1);
  }
  std::string out = raw;
  for (auto it = stale.rbegin(); it != stale.rend(); ++it) {
    std::string literal;
    json::write_string(literal, name);
    out.replace(it->first, it->second - it->first, literal);
  }
  return out;
}

std::string u128_str(unsigned __int128 v) {
  if (v == 0) return "0";
  std::string out;
  for (; v; v /= 10) out.insert(out.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
  return out;
}

float load_elem(const uint8_t* p, DType t) {
  if (t == DType::F32) {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, p, 2);
  return t == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
}

void store_elem(uint8_t* p, DType t, float v) {
  if (t == DType::F32) {
    std::memcpy(p, &v, 4);
    return;
  }
  uint16_t h = t == DType::F16 ? f32_to_f16(v) : f32_to_bf16(v);
  std::memcpy(p, &h, 2);
}

// n elements from src (dtype sd, any alignment) to dst (dtype dd), RNE on narrowing.
void convert(const uint8_t* src, DType sd, uint8_t* dst, DType dd, int64_t n) {
  if (sd == dd) {
    std::memcpy(dst, src, static_cast<size_t>(n) * static_cast<size_t>(dtype_size(sd)));
    return;
  }
  const int ss = dtype_size(sd), ds = dtype_size(dd);
  for (int64_t i = 0; i < n; ++i) store_elem(dst + i * ds, dd, load_elem(src + i * ss, sd));
}

// The largest |x| of n elements of dtype t, as the bits of |x| (sign cleared): for IEEE formats the
// order of those bits is the order of the magnitudes, and NaN/Inf are exactly the values at or above
// the all-ones exponent, so one integer max (which vectorises) answers both "finite?" and "how large?".
uint32_t max_abs_bits(const uint8_t* p, DType t, int64_t n) {
  if (t == DType::F32) {
    uint32_t m = 0;
    for (int64_t i = 0; i < n; ++i) {
      uint32_t u;
      std::memcpy(&u, p + 4 * i, 4);
      m = std::max(m, u & 0x7fffffffu);
    }
    return m;
  }
  uint16_t m = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    m = std::max<uint16_t>(m, h & 0x7fff);
  }
  return m;
}

// Bits of |x| from max_abs_bits at or above which x is NaN or infinite.
uint32_t non_finite_bits(DType t) { return t == DType::F32 ? 0x7f800000u : t == DType::F16 ? 0x7c00u : 0x7f80u; }

float abs_from_bits(uint32_t bits, DType t) {
  if (t == DType::F32) {
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  return t == DType::F16 ? f16_to_f32(static_cast<uint16_t>(bits)) : bf16_to_f32(static_cast<uint16_t>(bits));
}

// Elements of n (dtype t) that are NaN or infinite (only called to word an error).
int64_t count_non_finite(const uint8_t* p, DType t, int64_t n) {
  const uint32_t bad = non_finite_bits(t);
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) count += max_abs_bits(p + i * dtype_size(t), t, 1) >= bad;
  return count;
}

// Maps a range's pages in one call instead of one fault per page (Linux >= 5.14;
// elsewhere a no-op and the copy simply faults them in).
void prefault(const void* p, int64_t bytes, bool write) {
#if defined(MADV_POPULATE_READ) && defined(MADV_POPULATE_WRITE)
  const uintptr_t page = 4096;
  uintptr_t b = reinterpret_cast<uintptr_t>(p) & ~(page - 1);
  uintptr_t e = reinterpret_cast<uintptr_t>(p) + static_cast<uintptr_t>(bytes);
  if (bytes > 0) ::madvise(reinterpret_cast<void*>(b), e - b, write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
#else
  (void)p;
  (void)bytes;
  (void)write;
#endif
}

struct Source {
  const SafetensorsFile* file;
  const StTensor* tensor;
};

}  // namespace

struct ModelLoader {
  // Opens model.safetensors, or every shard named in model.safetensors.index.json.
  static std::vector<std::unique_ptr<SafetensorsFile>> open_weights(const std::string& dir, std::string& where) {
    std::vector<std::unique_ptr<SafetensorsFile>> files;
    const std::string single = fileio::path_join(dir, "model.safetensors");
    const std::string index = fileio::path_join(dir, "model.safetensors.index.json");
    if (fileio::is_file(single)) {
      where = single;
      files.push_back(std::make_unique<SafetensorsFile>(single));
      return files;
    }
    if (!fileio::is_file(index))
      throw Error(err::kTensorMissing, dir +
                                           ": no model.safetensors or model.safetensors.index.json "
                                           "(other weight formats are not read; convert them to safetensors)");
    where = index;
    json::Value root = json::parse(fileio::read_file(index, kSafetensorsMaxHeader, err::kSafetensorsHeader),
                                   err::kSafetensorsHeader, index);
    const json::Value* wm = root.get("weight_map");
    if (!root.is_object() || !wm || !wm->is_object())
      throw Error(err::kSafetensorsHeader, index + ": \"weight_map\" missing or not an object");
    // an empty map lists no shard: it read as a model with no tensors ("check num_hidden_layers")
    if (wm->object.empty())
      throw Error(err::kSafetensorsHeader, index + ": \"weight_map\" is empty (it lists no shard)");
    std::vector<std::string> shards;
    std::unordered_map<std::string, size_t> shard_idx;
    for (const auto& [tensor, v] : wm->object) {
      if (!v.is_string())
        throw Error(err::kSafetensorsHeader, index + ": weight_map entry " + quoted(tensor) + " is not a file name");
      const std::string& s = v.string;
      if (s.empty() || s == "." || s == ".." || s.find('/') != std::string::npos || s.find('\\') != std::string::npos)
        throw Error(err::kSafetensorsHeader,
                    index + ": shard name " + quoted(s) + " must be a plain file name in the model directory");
      if (shard_idx.emplace(s, shards.size()).second) {
        std::string path = fileio::path_join(dir, s);
        if (!fileio::is_file(path))
          throw Error(err::kShardMissing,
                      index + ": shard " + quoted(s) + " (holding tensor " + quoted(tensor) + ") not found: " + path);
        shards.push_back(s);
      }
    }
    for (const auto& s : shards) files.push_back(std::make_unique<SafetensorsFile>(fileio::path_join(dir, s)));
    for (const auto& [tensor, v] : wm->object) {
      const SafetensorsFile& f = *files[shard_idx[v.string]];
      if (!f.find(tensor))
        throw Error(err::kTensorMissing, index + ": weight_map puts tensor " + quoted(tensor) + " in " + f.path() +
                                             ", which does not contain it");
    }
    return files;
  }

  static std::unique_ptr<Model> load(const std::string& dir, const LoadOptions& opts) {
    if (opts.threads < 0 || opts.threads > kMaxThreads)
      throw Error(err::kArgument, "threads must be in [0, " + std::to_string(kMaxThreads) +
                                      "] (0 = one per core), got " + std::to_string(opts.threads));
    if (opts.dtype < -1 || opts.dtype > 2)
      throw Error(err::kArgument,
                  "dtype must be -1 (as stored), 0 (F32), 1 (F16) or 2 (BF16), got " + std::to_string(opts.dtype));
    const std::string cfg_path = fileio::path_join(dir, "config.json");
    if (!fileio::is_file(cfg_path))
      throw Error(err::kConfigMissing, cfg_path + ": not found" + (fileio::is_dir(dir) ? "" : " (no such directory)"));

    std::unique_ptr<Model> m(new Model());
    m->dir_ = dir;
    m->cfg_ = parse_config(fileio::read_file(cfg_path, kMaxConfigBytes, err::kConfig), cfg_path);
    const ModelConfig& cfg = m->cfg_;
    const FamilySpec& spec = family_spec(cfg.family);

    const BackendFactory& factory = opts.backend ? *opts.backend : cpu_backend_factory();
    std::string where;
    std::vector<std::unique_ptr<SafetensorsFile>> files;
    if (!opts.random_init) files = open_weights(dir, where);
    // the configuration must be plausible against the files before anything is sized from it: a
    // num_hidden_layers of 10^9 would otherwise build a billion-entry tensor list before any check (a
    // random init has no files: it is held to the largest model anyone runs, 2^40 parameters in 2^16 layers)
    if (opts.random_init) {
      const unsigned __int128 need = expected_parameter_count(cfg);
      if (need > (static_cast<unsigned __int128>(1) << 40) || cfg.num_layers > (1 << 16))
        throw Error(err::kConfig, cfg_path + ": describes " + u128_str(need) + " parameters in " +
                                      std::to_string(cfg.num_layers) +
                                      " layers; a random init builds at most 2^40 parameters in 65536 layers");
    } else {
      unsigned __int128 have = 0;
      for (const auto& f : files) have += f->data_size();
      const unsigned __int128 need = expected_parameter_count(cfg);
      if (need * 2 > have)  // 2 bytes: the smallest supported dtype
        throw Error(err::kConfig, cfg_path + ": describes " + u128_str(need) + " parameters (at least " +
                                      u128_str(need * 2) + " bytes), but " + where + " holds " + u128_str(have) +
                                      " bytes of tensor data; check num_hidden_layers and the sizes");
    }

    // expected canonical names -> spec index
    std::vector<TensorSpec> specs = expected_tensors(cfg);
    std::sort(specs.begin(), specs.end(), [](const TensorSpec& a, const TensorSpec& b) { return a.name < b.name; });
    std::unordered_map<std::string, size_t> spec_idx;
    for (size_t i = 0; i < specs.size(); ++i) spec_idx.emplace(specs[i].name, i);
    std::vector<Source> src(specs.size(), Source{nullptr, nullptr});

    // map every tensor in the file(s) to a canonical name, a tied head copy, a known buffer, or an error
    std::unordered_map<std::string, const SafetensorsFile*> seen;
    Source head{nullptr, nullptr};
    // per kind (attention, MLP): the first bias the config switches off, for the notice, and how many
    std::string unused_first[3];
    int64_t unused_count[3] = {0, 0, 0};
    const std::string prefix = spec.base_prefix;
    for (const auto& f : files) {
      for (const StTensor& t : f->tensors()) {
        auto dup = seen.emplace(t.name, f.get());
        if (!dup.second)
          throw Error(err::kSafetensorsHeader, "tensor " + quoted(t.name) + " is stored twice, in " +
                                                   dup.first->second->path() + " and " + f->path());
        auto it = spec_idx.find(t.name);
        if (it == spec_idx.end()) it = spec_idx.find(prefix + t.name);
        if (it != spec_idx.end()) {
          Source& s = src[it->second];
          if (s.tensor)
            throw Error(err::kSafetensorsHeader, f->path() + ": tensor " + quoted(specs[it->second].name) +
                                                     " appears twice, as " + quoted(s.tensor->name) + " and " +
                                                     quoted(t.name));
          s = Source{f.get(), &t};
        } else if (t.name == kHeadName && cfg.tie_word_embeddings) {
          f->require_supported(t);
          std::vector<int64_t> want{cfg.vocab_size, cfg.word_embed_proj_dim};
          if (t.shape != want)
            throw Error(err::kTensorShape, f->path() + ": tensor " + quoted(t.name) + " (tied to " + spec.embedding +
                                               ") has shape " + shape_str(t.shape) + ", expected " + shape_str(want));
          head = Source{f.get(), &t};
        } else if (const UnusedBias u = unused_bias(cfg, spec, t.name); u != UnusedBias::None) {
          // transformers loads such a checkpoint without them (its "unused weights" warning): so do we
          const int k = static_cast<int>(u);
          if (unused_first[k].empty()) unused_first[k] = t.name;
          ++unused_count[k];
        } else if (!is_known_buffer(spec, t.name)) {
          throw Error(err::kTensorUnknown, f->path() + ": unexpected tensor " + quoted(t.name) + " for a " + spec.name +
                                               " model as configured by " + cfg_path);
        }
      }
    }
    for (size_t i = 0; i < specs.size() && !opts.random_init; ++i) {
      const Source& s = src[i];
      if (!s.tensor) {
        std::string alt = specs[i].name.compare(0, prefix.size(), prefix) == 0
                              ? " (nor " + quoted(specs[i].name.substr(prefix.size())) + ")"
                              : "";
        throw Error(err::kTensorMissing, where + ": tensor " + quoted(specs[i].name) + alt + " not found");
      }
      s.file->require_supported(*s.tensor);
      if (s.tensor->shape != specs[i].shape)
        throw Error(err::kTensorShape, s.file->path() + ": tensor " + quoted(s.tensor->name) + " has shape " +
                                           shape_str(s.tensor->shape) + ", expected " + shape_str(specs[i].shape) +
                                           " from " + cfg_path);
    }
    // one line per load, as transformers warns of unused weights: the logits differ from a model that used them
    for (const UnusedBias u : {UnusedBias::Attention, UnusedBias::Mlp}) {
      const int k = static_cast<int>(u);
      if (unused_count[k] > 0)
        std::fprintf(stderr, "dpzo: notice: %s: %s\n", where.c_str(),
                     unused_bias_notice(cfg, u, unused_count[k], unused_first[k], cfg_path).c_str());
    }

    // model dtype: as requested, else the file's if uniform, else F32
    DType dt = DType::F32;
    if (opts.dtype >= 0) {
      dt = static_cast<DType>(opts.dtype);
    } else if (!src.empty() && !opts.random_init) {
      dt = src[0].tensor->dtype;
      for (const Source& s : src)
        if (s.tensor->dtype != dt) dt = DType::F32;
    }
    m->dtype_ = dt;
    const int64_t esize = dtype_size(dt);
    const int64_t align = kAlignBytes / esize;

    // layout: canonical order, each tensor 64-byte aligned
    int64_t cursor = 0;
    m->tensors_.reserve(specs.size());
    for (size_t i = 0; i < specs.size(); ++i) {
      TensorInfo ti;
      ti.name = specs[i].name;
      ti.file_name = opts.random_init ? specs[i].name : src[i].tensor->name;
      ti.shape = specs[i].shape;
      ti.numel = 1;
      for (int64_t d : ti.shape) ti.numel *= d;
      cursor = (cursor + align - 1) / align * align;
      ti.offset = cursor;
      cursor += ti.numel;
      m->num_parameters_ += ti.numel;
      m->tensors_.push_back(std::move(ti));
      m->file_order_.push_back(m->tensors_.back().file_name);
    }
    if (head.tensor) {
      m->file_had_tied_head_ = true;
      m->file_order_.push_back(kHeadName);
    }
    int64_t bytes = (cursor * esize + kAlignBytes - 1) / kAlignBytes * kAlignBytes;
    if (bytes == 0) bytes = kAlignBytes;
    if (factory.streams_weights) {
      // the weights go to the backend's memory: the host buffer is address space only (never touched, so
      // never resident, and NORESERVE so that a model larger than RAM + swap can still be laid out); it is
      // filled from the device only when the host reads weights (Backend::sync_host)
      void* p = ::mmap(nullptr, static_cast<size_t>(bytes), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      m->data_ = p == MAP_FAILED ? nullptr : p;
      m->data_mapped_ = m->data_ != nullptr;
    } else {
      m->data_ = std::aligned_alloc(kAlignBytes, static_cast<size_t>(bytes));
    }
    if (!m->data_)
      throw Error(err::kIo, dir + ": cannot allocate " + std::to_string(bytes) + " bytes for the parameters");
    m->data_bytes_ = bytes;
    if (!factory.streams_weights) m->mem_.alloc(bytes);
    uint8_t* base = static_cast<uint8_t*>(m->data_);
    for (auto& ti : m->tensors_) ti.data = base + ti.offset * esize;
    m->pool_ = std::make_unique<ThreadPool>(opts.threads);
    assign_trainable(*m, opts.trainable);
    m->weights_ = resolve_weights(m->cfg_, m->tensors_, dt);
    if (factory.streams_weights) m->backend_ = factory.create(*m, opts.device_index);
    if (opts.random_init) {
      init_random(*m, factory.streams_weights, opts.seed);
    } else if (factory.streams_weights) {
      stream_weights(*m, src);
    } else {
      read_weights(*m, src, bytes);
    }
    files.clear();  // close
    if (!factory.streams_weights) m->backend_ = factory.create(*m, opts.device_index);
    return m;
  }

  // The trainable elements' max |θ| bound from each tensor's max |x| bits (max_abs_bound_, dpzo/model.h).
  static void set_bound(Model& m, const std::vector<std::atomic<uint32_t>>& max_bits) {
    for (size_t i = 0; i < m.tensors_.size(); ++i)
      if (m.tensors_[i].trainable)
        m.max_abs_bound_ = std::max<double>(m.max_abs_bound_, abs_from_bits(max_bits[i].load(), m.dtype_));
  }

  // A tensor whose max |x| bits say NaN or Inf refuses the load, counting the bad values of `data`.
  static void check_finite(const Model& m, size_t i, uint32_t bits, const uint8_t* data) {
    if (bits < non_finite_bits(m.dtype_)) return;
    const TensorInfo& t = m.tensors_[i];
    const int64_t bad = count_non_finite(data, m.dtype_, t.numel);
    throw Error(err::kNonFinite, m.dir_ + ": tensor " + quoted(t.file_name) + " holds " + std::to_string(bad) +
                                     " NaN or infinite values of " + std::to_string(t.numel) +
                                     "; refusing to load it (a run would release nothing but noise)");
  }

  // Elements [begin, end) of a tensor from its source into dst (model dtype), converting through the
  // runner's staging buffer when the dtypes differ; returns their max |x| bits.
  static uint32_t read_range(const Model& m, const Source& s, int64_t begin, int64_t end, uint8_t* dst,
                             std::vector<uint8_t>& buf) {
    const DType dt = m.dtype_;
    const StTensor& st = *s.tensor;
    const int64_t ss = dtype_size(st.dtype);
    const int64_t n = end - begin;
    const uint64_t from = static_cast<uint64_t>(begin * ss), len = static_cast<uint64_t>(n * ss);
    if (st.dtype == dt) {
      s.file->read(st, from, len, dst);
    } else {
      if (buf.size() < len) buf.resize(static_cast<size_t>(len));
      s.file->read(st, from, len, buf.data());
      convert(buf.data(), st.dtype, dst, dt, n);
    }
    return max_abs_bits(dst, dt, n);
  }

  // Streaming load (a backend with streams_weights): one tensor at a time read into one host staging
  // buffer (chunks in parallel), checked finite, handed to the backend; the host peak is the largest tensor
  // (plus the conversion buffers when the file's dtype differs), not the model.
  static void stream_weights(Model& m, const std::vector<Source>& src) {
    const int64_t es = dtype_size(m.dtype_);
    const int64_t chunk = std::max<int64_t>(1, kCopyChunkBytes / es);
    std::vector<std::atomic<uint32_t>> max_bits(m.tensors_.size());
    std::vector<uint8_t> staging;
    std::vector<std::vector<uint8_t>> conv(static_cast<size_t>(m.pool_->size()));
    std::atomic<int64_t> conv_bytes{0};
    for (size_t i = 0; i < m.tensors_.size(); ++i) {
      const TensorInfo& t = m.tensors_[i];
      const size_t need = static_cast<size_t>(t.numel * es);
      if (staging.size() < need) {
        m.mem_.free(static_cast<int64_t>(staging.size()));
        staging.resize(need);
        m.mem_.alloc(static_cast<int64_t>(need));
      }
      src[i].file->will_need(*src[i].tensor);
      const int64_t n_chunks = (t.numel + chunk - 1) / chunk;
      m.pool_->run(n_chunks, [&](int64_t k, int runner) {
        const int64_t b = k * chunk, e = std::min(t.numel, b + chunk);
        std::vector<uint8_t>& buf = conv[static_cast<size_t>(runner)];
        const size_t before = buf.size();
        const uint32_t mb = read_range(m, src[i], b, e, staging.data() + b * es, buf);
        if (buf.size() != before) {
          m.mem_.alloc(static_cast<int64_t>(buf.size() - before));
          conv_bytes += static_cast<int64_t>(buf.size() - before);
        }
        std::atomic<uint32_t>& slot = max_bits[i];
        for (uint32_t cur = slot.load(std::memory_order_relaxed); mb > cur && !slot.compare_exchange_weak(cur, mb);) {
        }
      });
      check_finite(m, i, max_bits[i].load(), staging.data());
      m.backend_->write_tensor(i, staging.data());
    }
    m.mem_.free(static_cast<int64_t>(staging.size()) + conv_bytes.load());
    set_bound(m, max_bits);
  }

  // Random initialisation (dpzo/random_init.h): on the backend's side when it holds the weights, else
  // into the host buffer, chunks in parallel, padding zeroed.
  static void init_random(Model& m, bool on_backend, uint64_t seed) {
    std::vector<uint64_t> first(m.tensors_.size());
    uint64_t i0 = 0;
    for (size_t i = 0; i < m.tensors_.size(); ++i) {
      first[i] = i0;
      i0 += static_cast<uint64_t>(m.tensors_[i].numel);
    }
    if (on_backend) {
      for (size_t i = 0; i < m.tensors_.size(); ++i) m.backend_->init_tensor(i, seed, first[i]);
    } else {
      const int64_t es = dtype_size(m.dtype_);
      uint8_t* base = static_cast<uint8_t*>(m.data_);
      std::memset(base, 0, static_cast<size_t>(m.data_bytes_));  // padding zeroed for determinism
      const int64_t chunk = std::max<int64_t>(1, kCopyChunkBytes / es);
      struct Task {
        size_t tensor;
        int64_t begin, end;
      };
      std::vector<Task> tasks;
      for (size_t i = 0; i < m.tensors_.size(); ++i)
        for (int64_t b = 0; b < m.tensors_[i].numel; b += chunk)
          tasks.push_back({i, b, std::min(m.tensors_[i].numel, b + chunk)});
      m.pool_->run(static_cast<int64_t>(tasks.size()), [&](int64_t k, int) {
        const Task& t = tasks[static_cast<size_t>(k)];
        const TensorInfo& ti = m.tensors_[t.tensor];
        init_fill_host(init_kind(ti.name, ti.shape), seed, first[t.tensor] + static_cast<uint64_t>(t.begin),
                       t.end - t.begin, m.dtype_, static_cast<uint8_t*>(ti.data) + t.begin * es);
      });
    }
    // an upper bound of max |θ| over the trainable elements: |z| <= 5.77 (ARCHITECTURE §2), plus rounding
    for (const TensorInfo& t : m.tensors_)
      if (t.trainable) {
        const InitKind k = init_kind(t.name, t.shape);
        m.max_abs_bound_ = std::max(m.max_abs_bound_, k == InitKind::kOnes     ? 1.0
                                                      : k == InitKind::kNormal ? kInitStd * 5.8 * 1.01
                                                                               : 0.0);
      }
  }

  // The host path: every tensor copied (and converted) straight into the Model's buffer, chunked over the
  // pool; padding zeroed for determinism.
  static void read_weights(Model& m, const std::vector<Source>& src, int64_t bytes) {
    const DType dt = m.dtype_;
    const int64_t esize = dtype_size(dt);
    uint8_t* base = static_cast<uint8_t*>(m.data_);
    struct Task {
      size_t tensor;
      int64_t begin, end;
    };
    std::vector<Task> tasks;
    const int64_t chunk = std::max<int64_t>(1, kCopyChunkBytes / esize);
    int64_t prev_end = 0;
    for (size_t i = 0; i < m.tensors_.size(); ++i) {
      const TensorInfo& ti = m.tensors_[i];
      std::memset(base + prev_end * esize, 0, static_cast<size_t>((ti.offset - prev_end) * esize));
      prev_end = ti.offset + ti.numel;
      src[i].file->will_need(*src[i].tensor);
      for (int64_t b = 0; b < ti.numel; b += chunk) tasks.push_back({i, b, std::min(ti.numel, b + chunk)});
    }
    std::memset(base + prev_end * esize, 0, static_cast<size_t>(bytes - prev_end * esize));
    // pread (never an mmap: a file truncated meanwhile must be an error, not SIGBUS), straight into place when the
    // dtypes agree; every element is checked finite on the way, since a NaN or Inf weight would silently turn
    // every loss into NaN and a DP run would spend its whole budget on nothing
    std::vector<std::atomic<uint32_t>> max_bits(m.tensors_.size());
    // one staging buffer per runner, reused: a fresh 16 MB buffer per chunk costs its page faults every time
    std::vector<std::vector<uint8_t>> staging(static_cast<size_t>(m.pool_->size()));
    m.pool_->run(static_cast<int64_t>(tasks.size()), [&](int64_t k, int runner) {
      const Task& t = tasks[static_cast<size_t>(k)];
      uint8_t* dst = static_cast<uint8_t*>(m.tensors_[t.tensor].data) + t.begin * esize;
      prefault(dst, (t.end - t.begin) * esize, true);
      const uint32_t mb = read_range(m, src[t.tensor], t.begin, t.end, dst, staging[static_cast<size_t>(runner)]);
      std::atomic<uint32_t>& slot = max_bits[t.tensor];
      for (uint32_t cur = slot.load(std::memory_order_relaxed); mb > cur && !slot.compare_exchange_weak(cur, mb);) {
      }
    });
    for (size_t i = 0; i < m.tensors_.size(); ++i)
      check_finite(m, i, max_bits[i].load(), static_cast<const uint8_t*>(m.tensors_[i].data));
    set_bound(m, max_bits);
  }

  static void assign_trainable(Model& m, const std::vector<std::string>& patterns) {
    for (auto& t : m.tensors_) t.trainable = patterns.empty();
    for (const std::string& p : patterns) {
      if (p.empty()) throw Error(err::kArgument, "trainable pattern is empty");
      bool any = false;
      for (auto& t : m.tensors_) {
        if (pattern_matches(p, t.name) || pattern_matches(p, t.file_name)) {
          t.trainable = true;
          any = true;
        }
      }
      if (!any) {
        std::string hint = m.cfg_.tie_word_embeddings && pattern_matches(p, kHeadName)
                               ? std::string(" (the LM head is tied to ") + family_spec(m.cfg_.family).embedding + ")"
                               : "";
        throw Error(err::kArgument, "trainable pattern " + quoted(p) + " matches no parameter of " + m.dir_ + hint);
      }
    }
    int64_t g = 0;
    for (auto& t : m.tensors_) {
      t.global_offset = t.trainable ? g : -1;
      if (t.trainable) g += t.numel;
    }
    m.num_trainable_ = g;
  }
};

std::unique_ptr<Model> Model::load(const std::string& dir, const LoadOptions& opts) {
  return ModelLoader::load(dir, opts);
}

Model::~Model() {
  backend_.reset();  // its buffers may refer to the weights; drop it first
  if (data_mapped_)
    ::munmap(data_, static_cast<size_t>(data_bytes_));
  else
    std::free(data_);
}

const TensorInfo* Model::find(const std::string& name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const TensorInfo& t, const std::string& n) { return t.name < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

const TensorInfo& Model::tensor(const std::string& name) const {
  const TensorInfo* t = find(name);
  if (!t) throw Error(err::kTensorUnknown, quoted(name) + " is not a parameter of the model in " + dir_);
  return *t;
}

// In place, rounded to nearest: a walk of perturbs drifts in F16/BF16, which is why the trainer evaluates
// its forwards at virtual points instead (ARCHITECTURE §2) and only the update writes θ.
void Model::perturb(uint64_t seed, float scale) { apply(&seed, &scale, 1, 1.0f, Rounding::kNearest); }

void Model::update(const uint64_t* seeds, const float* coeffs, int n, float decay) {
  apply(seeds, coeffs, n, decay, Rounding::kStochastic);
}

std::vector<Segment> Model::trainable_segments() const {
  std::vector<Segment> segs;
  for (const auto& t : tensors_)
    if (t.trainable && t.numel > 0)
      segs.push_back(Segment{t.data, dtype_, t.numel, static_cast<uint64_t>(t.global_offset), t.shape.size() >= 2});
  return segs;
}

namespace {
void check_decay(const char* what, float factor) {
  if (!std::isfinite(factor) || factor <= 0.0f || factor > 1.0f)
    throw Error(err::kArgument, std::string(what) + ": factor must be in (0, 1] (got " + std::to_string(factor) + ")");
}
}  // namespace

void Model::apply(const uint64_t* seeds, const float* coeffs, int n, float decay, Rounding rounding) {
  if (n < 0) throw Error(err::kArgument, "update: negative number of (seed, coefficient) pairs");
  check_decay("update: decay", decay);
  if (n == 0 && decay == 1.0f) return;
  std::vector<Segment> segs = trainable_segments();
  if (segs.empty()) return;
  // |z| <= sqrt(-2 ln 2^-24) = 5.77 for the Philox directions (ARCHITECTURE §2: u >= 2^-24)
  constexpr double kMaxAbsZ = 5.8;
  double reach = 0;
  for (int k = 0; k < n; ++k) {
    if (!std::isfinite(coeffs[k]))
      throw Error(err::kArgument, "update: coefficient " + std::to_string(k) + " is not finite");
    reach += std::fabs(static_cast<double>(coeffs[k])) * kMaxAbsZ;
  }
  // 1% headroom for the float32 rounding of the sum and of the final narrowing; a decay factor <= 1 only
  // shrinks the result, so the bound of the undecayed sum holds for it too
  const double limit = dtype_max(dtype_) * 0.99;
  if (max_abs_bound_ + reach > limit) max_abs_bound_ = scan_max_abs();  // the bound may only be loose
  if (max_abs_bound_ + reach > limit)
    throw Error(err::kNonFinite, "update refused before writing anything: max |θ| = " + std::to_string(max_abs_bound_) +
                                     " plus Σ|c|·max|z| = " + std::to_string(reach) + " could exceed the " +
                                     dtype_name(dtype_) + " range (" + std::to_string(dtype_max(dtype_)) +
                                     "); the perturbation (zo-eps) or the step is too large");
  backend_->update(segs, seeds, coeffs, n, decay, rounding);
  max_abs_bound_ += reach;
}

double Model::scan_max_abs() {
  backend_->sync_host();  // a device backend's updates reach the host copy only on demand
  std::vector<const TensorInfo*> ts;
  for (const auto& t : tensors_)
    if (t.trainable && t.numel > 0) ts.push_back(&t);
  std::vector<double> part(ts.size(), 0.0);
  pool_->run(static_cast<int64_t>(ts.size()), [&](int64_t i, int) {
    const TensorInfo& t = *ts[static_cast<size_t>(i)];
    part[static_cast<size_t>(i)] =
        abs_from_bits(max_abs_bits(static_cast<const uint8_t*>(t.data), dtype_, t.numel), dtype_);
  });
  double m = 0;
  for (double v : part) m = std::max(m, v);
  return m;
}

void Model::check_dense(const char* what, int64_t n) const {
  if (dtype_ != DType::F32)
    throw Error(err::kDtype,
                std::string(what) + ": dense steps write float32 weights only; this model holds " + dtype_name(dtype_));
  if (std::string(backend_->name()) != "cpu")
    throw Error(err::kDevice, std::string(what) + ": the " + backend_->name() + " backend has no dense step yet");
  if (n >= 0 && n != num_trainable_)
    throw Error(err::kArgument, std::string(what) + ": " + std::to_string(n) + " values for " +
                                    std::to_string(num_trainable_) + " trainable parameters");
}

std::vector<float> Model::get_trainable() const {
  check_dense("getTrainable", -1);
  std::vector<float> out(static_cast<size_t>(num_trainable_));
  std::vector<Segment> segs = trainable_segments();
  pool_->run(static_cast<int64_t>(segs.size()), [&](int64_t s, int) {
    const Segment& seg = segs[static_cast<size_t>(s)];
    std::memcpy(out.data() + seg.g0, seg.data, static_cast<size_t>(seg.count) * 4);
  });
  return out;
}

void Model::set_trainable(const float* values, int64_t n) {
  check_dense("setTrainable", n);
  // checked whole before the first write: a refused call leaves θ as it was
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(values[i]))
      throw Error(err::kArgument, "setTrainable: values[" + std::to_string(i) + "] is not finite");
  std::vector<Segment> segs = trainable_segments();
  pool_->run(static_cast<int64_t>(segs.size()), [&](int64_t s, int) {
    const Segment& seg = segs[static_cast<size_t>(s)];
    std::memcpy(seg.data, values + seg.g0, static_cast<size_t>(seg.count) * 4);
  });
  max_abs_bound_ = scan_max_abs();
}

void Model::add_dense(const float* delta, int64_t n, float decay) {
  check_dense("addDense", n);
  check_decay("addDense: decay", decay);
  double reach = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(delta[i]))
      throw Error(err::kArgument, "addDense: delta[" + std::to_string(i) + "] is not finite");
    reach = std::max(reach, std::fabs(static_cast<double>(delta[i])));
  }
  const double limit = dtype_max(dtype_) * 0.99;
  if (max_abs_bound_ + reach > limit) max_abs_bound_ = scan_max_abs();
  if (max_abs_bound_ + reach > limit)
    throw Error(err::kNonFinite,
                "addDense refused before writing anything: max |θ| + max |Δ| could exceed the float32 range");
  std::vector<Segment> segs = trainable_segments();
  pool_->run(static_cast<int64_t>(segs.size()), [&](int64_t s, int) {
    const Segment& seg = segs[static_cast<size_t>(s)];
    float* w = static_cast<float*>(seg.data);
    const float* d = delta + seg.g0;
    const float f = seg.decay ? decay : 1.0f;
    // one rounding for the sum, one for the factor: the order of update()'s f·(θ + Σ c·z)
    if (f == 1.0f)
      for (int64_t e = 0; e < seg.count; ++e) w[e] = w[e] + d[e];
    else
      for (int64_t e = 0; e < seg.count; ++e) w[e] = f * (w[e] + d[e]);
  });
  max_abs_bound_ += reach;
}

void Model::decay(float factor) {
  check_decay("decay", factor);
  if (factor == 1.0f) return;
  backend_->scale(trainable_segments(), factor);
}

std::vector<LossOutput> Model::per_example_loss(const PackedBatch& batch, const ForwardOptions& opts,
                                                const CancelToken* cancel) {
  return backend_->per_example_loss(batch, opts, cancel);
}

LossGradient Model::loss_and_gradient(const PackedBatch& batch, const GradientOptions& opts,
                                      const CancelToken* cancel) {
  if (dtype_ != DType::F32)
    throw Error(err::kDtype, std::string("lossAndGradient: the backward pass runs on float32 weights only; this model "
                                         "holds ") +
                                 dtype_name(dtype_) + " (load it with dtype 'float32')");
  return backend_->loss_and_gradient(batch, opts, cancel);
}

GradNorms Model::per_example_grad_norms(const PackedBatch& batch, const GradNormOptions& opts,
                                        const CancelToken* cancel) {
  if (dtype_ != DType::F32)
    throw Error(err::kDtype, std::string("perExampleGradNorms: the backward pass runs on float32 weights only; this "
                                         "model holds ") +
                                 dtype_name(dtype_) + " (load it with dtype 'float32')");
  return backend_->per_example_grad_norms(batch, opts, cancel);
}

void Backend::write_tensor(size_t, const void*) {
  throw Error(err::kDevice, std::string("the ") + name() + " backend does not take streamed weights");
}

void Backend::init_tensor(size_t, uint64_t, uint64_t) {
  throw Error(err::kDevice, std::string("the ") + name() + " backend does not initialise weights itself");
}

GradNorms Backend::per_example_grad_norms(const PackedBatch&, const GradNormOptions&, const CancelToken*) {
  throw Error(err::kDevice, std::string("perExampleGradNorms: the ") + name() +
                                " backend has no backward pass yet (load the model with device 'cpu')");
}

LossGradient Backend::loss_and_gradient(const PackedBatch&, const GradientOptions&, const CancelToken*) {
  throw Error(err::kDevice, std::string("lossAndGradient: the ") + name() +
                                " backend has no backward pass yet (load the model with device 'cpu')");
}

std::vector<float> Model::logits(const PackedBatch& batch, const std::vector<int64_t>& positions,
                                 const CancelToken* cancel) {
  return backend_->logits(batch, positions, cancel);
}

std::vector<int32_t> Model::generate(const std::vector<int32_t>& prompt, int n, int32_t eos_id,
                                     const CancelToken* cancel) {
  return backend_->generate(prompt, n, eos_id, cancel);
}

std::vector<float> Model::get_parameter(const std::string& name) const {
  const FamilySpec& spec = family_spec(cfg_.family);
  const TensorInfo* t = find(name);
  if (!t) t = find(spec.base_prefix + name);  // the file-name form (base-model checkpoints)
  if (!t && name == kHeadName && cfg_.tie_word_embeddings) t = find(spec.embedding);
  if (!t) throw Error(err::kTensorUnknown, quoted(name) + " is not a parameter of the model in " + dir_);
  backend_->sync_host();
  std::vector<float> out(static_cast<size_t>(t->numel));
  const uint8_t* p = static_cast<const uint8_t*>(t->data);
  if (dtype_ == DType::F32) {
    std::memcpy(out.data(), p, out.size() * 4);
  } else {
    for (int64_t i = 0; i < t->numel; ++i) out[static_cast<size_t>(i)] = load_elem(p + i * 2, dtype_);
  }
  return out;
}

void Model::save(const std::string& dir) const {
  backend_->sync_host();
  fileio::mkdir_p(dir);
  std::vector<StTensorOut> out;
  out.reserve(tensors_.size() + 1);
  for (const auto& t : tensors_) out.push_back(StTensorOut{t.file_name, dtype_, t.shape, t.data});
  if (file_had_tied_head_) {
    const TensorInfo& emb = tensor(family_spec(cfg_.family).embedding);
    out.push_back(StTensorOut{kHeadName, dtype_, emb.shape, emb.data});
  }
  // transformers refuses safetensors files whose metadata lacks format=pt
  write_safetensors(fileio::path_join(dir, "model.safetensors"), std::move(out), {{"format", "pt"}});
  fileio::AtomicWriter w(fileio::path_join(dir, "config.json"));
  const std::string config = saved_config(cfg_.raw_json, dtype_);
  w.write(config.data(), config.size());
  w.commit();
}

std::string Model::weights_hash() const {
  backend_->sync_host();
  Sha256 h;
  const int64_t es = dtype_size(dtype_);
  for (const auto& t : tensors_) h.update(t.data, static_cast<size_t>(t.numel * es));
  return h.hex_digest();
}

MemoryStats Model::memory() const { return backend_->memory(); }

void MemoryTracker::alloc(int64_t bytes, bool device) {
  std::lock_guard<std::mutex> lk(mu_);
  if (device) {
    s_.device_current += bytes;
    s_.device_peak = std::max(s_.device_peak, s_.device_current);
  } else {
    s_.host_current += bytes;
    s_.host_peak = std::max(s_.host_peak, s_.host_current);
  }
}

void MemoryTracker::free(int64_t bytes, bool device) {
  std::lock_guard<std::mutex> lk(mu_);
  if (device)
    s_.device_current -= bytes;
  else
    s_.host_current -= bytes;
}

MemoryStats MemoryTracker::snapshot() const {
  std::lock_guard<std::mutex> lk(mu_);
  return s_;
}

}  // namespace dpzo
