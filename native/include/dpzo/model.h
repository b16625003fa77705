// defines: Model (weights of one checkpoint in one host buffer, resolved into
// typed per-layer views, run by one Backend), TensorInfo, LoadOptions
// (CancelToken: dpzo/cancel.h). The parameter-space contract of ARCHITECTURE §2 lives here:
// canonical order = names sorted by byte order, tied weights once, global
// index over trainable tensors only. Model validates and keeps the parameter
// bookkeeping; all compute goes through its Backend (dpzo/backend.h).
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dpzo/backend.h"
#include "dpzo/cancel.h"
#include "dpzo/config.h"
#include "dpzo/dtype.h"
#include "dpzo/forward.h"
#include "dpzo/thread_pool.h"
#include "dpzo/weights.h"

namespace dpzo {

struct TensorInfo {
  std::string name;            // canonical name (see config.h)
  std::string file_name;       // name as found in the file (gpt2 may lack "transformer.")
  std::vector<int64_t> shape;  // Hugging Face shape, as stored
  int64_t numel = 0;
  int64_t offset = 0;  // element offset into Model::data() (model dtype elements)
  bool trainable = false;
  int64_t global_offset = -1;  // first global index g in the trainable space; -1 if frozen
  void* data = nullptr;        // = (char*)Model::data() + offset * dtype_size
};

struct LoadOptions {
  int threads = 0;                          // 0 = hardware concurrency
  int dtype = -1;                           // -1 = as stored in the file; else a DType to convert to
  std::vector<std::string> trainable;       // name patterns ('*' wildcard, or a plain substring); empty = all
  const BackendFactory* backend = nullptr;  // from select_backend(); null = the CPU backend
  int device_index = 0;                     // the N of "cuda:N" (select_backend)
  // A model from config.json alone, no weights file read: matrices ~ N(0, 0.02²), norm gains 1, biases 0,
  // from the Philox directions keyed by `seed` (dpzo/random_init.h); same seed, same dtype: the same bits on
  // every backend. For benchmarks of shapes not on disk.
  bool random_init = false;
  uint64_t seed = 0;
};

class Model {
 public:
  // Loads a Hugging Face directory: config.json + model.safetensors, or the
  // shards named in model.safetensors.index.json. Validates everything. With
  // opts.random_init, config.json alone (no weights file is opened).
  static std::unique_ptr<Model> load(const std::string& dir, const LoadOptions& opts);
  ~Model();

  const ModelConfig& config() const { return cfg_; }
  DType dtype() const { return dtype_; }
  const std::string& dir() const { return dir_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // canonical order
  const TensorInfo* find(const std::string& name) const;               // canonical name; nullptr if absent
  const TensorInfo& tensor(const std::string& name) const;             // throws ERR_TENSOR_UNKNOWN
  // Every tensor as a typed view, resolved once at load from the family table (dpzo/family.h).
  const ModelWeights& weights() const { return weights_; }
  int64_t num_parameters() const { return num_parameters_; }
  int64_t num_trainable() const { return num_trainable_; }
  ThreadPool& pool() const { return *pool_; }
  int threads() const { return pool_->size(); }
  const char* backend_name() const { return backend_->name(); }

  // Parameter space: θ += scale·z(seed); θ ← f·(θ + Σ c_k z(s_k)) in one pass, where f = `decay` applies
  // to trainable tensors of rank ≥ 2 only (decoupled weight decay: biases and norm weights are 1-D and never
  // decayed, as in Hugging Face) and decay = 1 is the plain update. Validated here, run by the backend.
  // F16/BF16: perturb rounds to nearest; update rounds stochastically, keyed by seeds[0] (ARCHITECTURE §2).
  void perturb(uint64_t seed, float scale);
  void update(const uint64_t* seeds, const float* coeffs, int n, float decay = 1.0f);
  // A dense step (gradient methods: `dpzo pretrain`, DP-SGD): θ[g] ← f·(θ[g] + delta[g]) over the trainable
  // parameters in canonical order (n = num_trainable()), f = `decay` on weight matrices as in update(). CPU
  // backend, float32 weights (what the backward pass runs on); delta must be finite.
  void add_dense(const float* delta, int64_t n, float decay = 1.0f);
  // The trainable parameters as one flat float32 vector in canonical order (the layout of add_dense's
  // delta), and its exact inverse: θ[g] ← values[g], bit for bit (a DP-SGD checkpoint restored on resume and
  // export; never θ + (c − θ) in float arithmetic). Same conditions as add_dense: CPU backend, float32
  // weights, n = num_trainable(), every value finite.
  std::vector<float> get_trainable() const;
  void set_trainable(const float* values, int64_t n);
  // Decoupled weight decay alone: θ ← factor·θ on the same tensors.
  void decay(float factor);

  // The forward, through the backend (dpzo/backend.h).
  std::vector<LossOutput> per_example_loss(const PackedBatch& batch, const ForwardOptions& opts,
                                           const CancelToken* cancel);
  // Forward + backward at θ: per-example losses and the gradient of their weighted sum (dpzo/forward.h),
  // F32 weights only (ERR_DTYPE otherwise).
  LossGradient loss_and_gradient(const PackedBatch& batch, const GradientOptions& opts, const CancelToken* cancel);
  // Per-example gradient norms (dpzo/forward.h GradNorms), F32 weights only (ERR_DTYPE otherwise).
  GradNorms per_example_grad_norms(const PackedBatch& batch, const GradNormOptions& opts, const CancelToken* cancel);
  std::vector<float> logits(const PackedBatch& batch, const std::vector<int64_t>& positions, const CancelToken* cancel);
  std::vector<int32_t> generate(const std::vector<int32_t>& prompt, int n, int32_t eos_id, const CancelToken* cancel);

  // A copy of a tensor in float32, in its Hugging Face shape/order.
  std::vector<float> get_parameter(const std::string& name) const;
  // Writes config.json + model.safetensors (same names, same dtype as loaded)
  // atomically (temp files renamed into place).
  void save(const std::string& dir) const;
  // SHA-256 (hex) of the parameter bytes in canonical order, for run.json.
  std::string weights_hash() const;

  // Current and peak bytes held (weights and the backend's arenas), as the backend reports them.
  MemoryStats memory() const;
  // Where the weights and the backend's buffers are accounted.
  MemoryTracker& memory_tracker() { return mem_; }

 private:
  Model() = default;
  void apply(const uint64_t* seeds, const float* coeffs, int n, float decay, Rounding rounding);
  ModelConfig cfg_;
  DType dtype_ = DType::F32;
  std::string dir_;
  std::vector<TensorInfo> tensors_;
  std::vector<std::string> file_order_;  // names as written in the source file(s), for save
  bool file_had_tied_head_ = false;      // the file stored a copy of the tied head; save writes it back
  void* data_ = nullptr;
  int64_t data_bytes_ = 0;
  bool data_mapped_ = false;  // an unpopulated mmap (a backend that streams weights), else aligned_alloc
  int64_t num_parameters_ = 0;
  int64_t num_trainable_ = 0;
  std::unique_ptr<ThreadPool> pool_;
  MemoryTracker mem_;
  ModelWeights weights_;
  std::unique_ptr<Backend> backend_;  // ~Model drops it before freeing the weights it runs on
  // An upper bound on max |θ| over trainable elements (exact at load, then raised by each
  // update by Σ|c|·max|z|): lets update() refuse a step that could overflow the dtype before
  // it writes anything. Rescanned when it gets close to the limit, so it never refuses wrongly.
  double max_abs_bound_ = 0;
  double scan_max_abs();
  std::vector<Segment> trainable_segments() const;
  // The conditions of a dense write (F32 weights, CPU backend, n = num_trainable(); n < 0: no length).
  void check_dense(const char* what, int64_t n) const;
  friend struct ModelLoader;
};

}  // namespace dpzo
