// defines: Model (weights of one checkpoint in one host buffer), TensorInfo,
// LoadOptions, MemoryStats, CancelToken. The parameter-space contract of
// ARCHITECTURE §2 lives here: canonical order = names sorted by byte order,
// tied weights once, global index over trainable tensors only.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dpzo/config.h"
#include "dpzo/dtype.h"
#include "dpzo/thread_pool.h"

namespace dpzo {

struct TensorInfo {
  std::string name;            // canonical name (see config.h)
  std::string file_name;       // name as found in the file (gpt2 may lack "transformer.")
  std::vector<int64_t> shape;  // Hugging Face shape, as stored
  int64_t numel = 0;
  int64_t offset = 0;          // element offset into Model::data() (model dtype elements)
  bool trainable = false;
  int64_t global_offset = -1;  // first global index g in the trainable space; -1 if frozen
  void* data = nullptr;        // = (char*)Model::data() + offset * dtype_size
};

struct LoadOptions {
  int threads = 0;                     // 0 = hardware concurrency
  int dtype = -1;                      // -1 = as stored in the file; else a DType to convert to
  std::vector<std::string> trainable;  // name patterns ('*' wildcard, or a plain substring); empty = all
};

struct MemoryStats {
  int64_t host_current = 0, host_peak = 0;
  int64_t device_current = 0, device_peak = 0;
};

// Set from another thread (e.g. the JS side) to stop long native work; checked
// between layers / chunks, which then throw Error(ERR_CANCELLED).
struct CancelToken {
  std::atomic<bool> cancelled{false};
  void check() const;  // throws ERR_CANCELLED when set
};

struct ForwardState;  // activations arena, owned by the forward code (cpu/forward_*.cpp)

class Model {
 public:
  // Loads a Hugging Face directory: config.json + model.safetensors, or the
  // shards named in model.safetensors.index.json. Validates everything.
  static std::unique_ptr<Model> load(const std::string& dir, const LoadOptions& opts);
  ~Model();

  const ModelConfig& config() const { return cfg_; }
  DType dtype() const { return dtype_; }
  const std::string& dir() const { return dir_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // canonical order
  const TensorInfo* find(const std::string& name) const;               // canonical name; nullptr if absent
  const TensorInfo& tensor(const std::string& name) const;             // throws ERR_TENSOR_UNKNOWN
  void* data() { return data_; }
  int64_t num_parameters() const { return num_parameters_; }
  int64_t num_trainable() const { return num_trainable_; }
  ThreadPool& pool() { return *pool_; }
  int threads() const { return pool_->size(); }

  // Parameter space (cpu/perturb.cpp): θ += scale·z(seed); θ += Σ c_k z(s_k) in one pass.
  void perturb(uint64_t seed, float scale);
  void update(const uint64_t* seeds, const float* coeffs, int n);
  // Decoupled weight decay θ ← factor·θ on trainable tensors of rank ≥ 2 only
  // (biases and norm weights are 1-D and never decayed, as in Hugging Face).
  void decay(float factor);

  // A copy of a tensor in float32, in its Hugging Face shape/order.
  std::vector<float> get_parameter(const std::string& name) const;
  // Writes config.json + model.safetensors (same names, same dtype as loaded)
  // atomically (temp files renamed into place).
  void save(const std::string& dir) const;
  // SHA-256 (hex) of the parameter bytes in canonical order, for run.json.
  std::string weights_hash() const;

  MemoryStats memory() const;
  // Memory accounting for buffers the model owns (weights, activations).
  void track_alloc(int64_t bytes, bool device = false);
  void track_free(int64_t bytes, bool device = false);

  // Lazily created by the forward code; freed with the model.
  std::unique_ptr<ForwardState, void (*)(ForwardState*)> forward_state{nullptr, nullptr};

 private:
  Model() = default;
  ModelConfig cfg_;
  DType dtype_ = DType::F32;
  std::string dir_;
  std::vector<TensorInfo> tensors_;
  std::vector<std::string> file_order_;  // names as written in the source file(s), for save
  bool file_had_tied_head_ = false;      // the file stored a copy of the tied head; save writes it back
  void* data_ = nullptr;
  int64_t data_bytes_ = 0;
  int64_t num_parameters_ = 0;
  int64_t num_trainable_ = 0;
  std::unique_ptr<ThreadPool> pool_;
  MemoryStats mem_;
  // An upper bound on max |θ| over trainable elements (exact at load, then raised by each
  // update by Σ|c|·max|z|): lets update() refuse a step that could overflow the dtype before
  // it writes anything. Rescanned when it gets close to the limit, so it never refuses wrongly.
  double max_abs_bound_ = 0;
  double scan_max_abs();
  friend struct ModelLoader;
};

}  // namespace dpzo
