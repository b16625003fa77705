// defines: Backend, the one seam between a Model and the hardware that runs it
// (ARCHITECTURE §2 "Backends"): the seeded update with fused weight decay, the
// plain scale, the fused forward + per-example loss, logits, greedy decoding,
// the backward (CPU only for now) and the memory report. The CPU backend
// (cpu/cpu_backend.cpp) and the CUDA backend (cuda/backend.cpp) implement it; Model and the N-API layer see only
// this header. BackendFactory + the registry (core/registry.cpp) choose one.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dpzo/forward.h"
#include "dpzo/perturb.h"

namespace dpzo {

class Model;
struct CancelToken;

struct MemoryStats {
  int64_t host_current = 0, host_peak = 0;
  int64_t device_current = 0, device_peak = 0;
};

// Current and peak bytes a model holds (weights, activations), host and device. Owned by the Model;
// the backend reports its arenas into it and answers Backend::memory() from it.
class MemoryTracker {
 public:
  void alloc(int64_t bytes, bool device = false);
  void free(int64_t bytes, bool device = false);
  MemoryStats snapshot() const;

 private:
  mutable std::mutex mu_;
  MemoryStats s_;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // "cpu" | "cuda": what lib/model reports as Model.backend.
  virtual const char* name() const = 0;

  // θ ← f·(θ + Σ_k coeffs[k]·z(seeds[k], g)) over every element of `segs`, in one pass over memory, where
  // f = `decay` on segments with seg.decay and 1 elsewhere (f = 1: no multiply at all). The sum runs in
  // float32 with one fma per pair, k ascending; the decay multiplies that float32 sum once; F16/BF16 round
  // once on store: with kStochastic (the update) with the rounding words keyed by seeds[0] (ARCHITECTURE §2;
  // with no pairs, to nearest), with kNearest (the in-place perturb) to nearest; F32 always to nearest.
  // Arguments are already validated by Model::update.
  virtual void update(const std::vector<Segment>& segs, const uint64_t* seeds, const float* coeffs, int n_pairs,
                      float decay, Rounding rounding) = 0;
  // θ ← factor·θ on the segments with seg.decay (decoupled weight decay alone).
  virtual void scale(const std::vector<Segment>& segs, float factor) = 0;

  // Fused forward + per-example loss (dpzo/forward.h), batch validated here: one output per virtual point of
  // opts, in order, or one at θ when opts has none. θ is never written.
  virtual std::vector<LossOutput> per_example_loss(const PackedBatch& batch, const ForwardOptions& opts,
                                                   const CancelToken* cancel) = 0;
  // Fused forward + backward at θ (dpzo/forward.h GradientOptions): per-example losses and the gradient of
  // their weighted sum over the trainable parameters. Backends without a backward say so (ERR_DEVICE).
  virtual LossGradient loss_and_gradient(const PackedBatch& batch, const GradientOptions& opts,
                                         const CancelToken* cancel);
  // Per-example gradient norms at θ (dpzo/forward.h GradNormOptions) from one forward + backward.
  // Backends without a backward say so (ERR_DEVICE).
  virtual GradNorms per_example_grad_norms(const PackedBatch& batch, const GradNormOptions& opts,
                                           const CancelToken* cancel);
  // Full-vocabulary logits at packed positions (row-major, n × vocab).
  virtual std::vector<float> logits(const PackedBatch& batch, const std::vector<int64_t>& positions,
                                    const CancelToken* cancel) = 0;
  // Greedy decoding: up to n tokens after `prompt` (stops at eos_id when >= 0).
  virtual std::vector<int32_t> generate(const std::vector<int32_t>& prompt, int n, int32_t eos_id,
                                        const CancelToken* cancel) = 0;

  // Streaming load and random initialisation, for backends whose factory has streams_weights (the weights
  // live in their own memory; the Model's host buffer stays unpopulated until sync_host). Model::load calls
  // one of them for every tensor, in canonical order, before any other call. write_tensor: tensor `index`
  // of Model::tensors(), its numel values in the model's dtype at `bytes` (host memory, reused by the loader
  // after the call). init_tensor: the tensor initialised on the backend's side (dpzo/random_init.h), its
  // first element being element `first` of all tensors in canonical order.
  virtual void write_tensor(size_t index, const void* bytes);
  virtual void init_tensor(size_t index, uint64_t seed, uint64_t first);

  virtual MemoryStats memory() const = 0;
  // Makes the host copy of the weights current before Model reads it (get_parameter, save, weights_hash).
  // The CPU backend computes on the host copy itself: nothing to do.
  virtual void sync_host() {}
};

// How to build one kind of backend. `unavailable` answers why it cannot run models on device `index` here
// ("" = it can); `create` builds it for a model on that device, or throws Error(ERR_DEVICE) with that reason.
// streams_weights: the backend keeps the weights in its own memory (a GPU); Model::load then creates it
// before reading any weight and hands it one tensor at a time (Backend::write_tensor / init_tensor), so
// the host never holds more than one tensor of the checkpoint.
struct BackendFactory {
  const char* name;
  std::string (*unavailable)(int index);
  std::unique_ptr<Backend> (*create)(Model& model, int index);
  bool streams_weights = false;
};

// The CPU backend: always compiled, always available.
const BackendFactory& cpu_backend_factory();
// The CUDA backend: defined in cuda/backend.cpp, linked only into builds that compiled cuda/
// (the registry references it only under DPZO_HAVE_CUDA).
const BackendFactory& cuda_backend_factory();

// CUDA devices this process can use: 0 when the build has no CUDA backend or the runtime sees none
// (registry.cpp; under DPZO_HAVE_CUDA it asks cuda/backend.cpp's cuda_device_count()). Never throws.
int usable_cuda_devices() noexcept;
#ifdef DPZO_HAVE_CUDA
int cuda_device_count() noexcept;
#endif

// The registry (core/registry.cpp). Backends compiled into this build, in order of preference
// for device "auto" (cuda before cpu).
std::vector<const BackendFactory*> compiled_backends();
// "cpu" or "cpu,cuda": the names above, cpu first.
std::string compiled_backend_names();
// device "cpu" | "cuda" | "cuda:N" | "auto": "auto" is the first available backend (device 0); "cuda" is
// "cuda:0"; "cuda" / "cuda:N" throw ERR_DEVICE when not compiled in or not available (naming why, and that
// cpu/auto work); anything else (N not a decimal integer in [0, 1023]) is ERR_ARGUMENT naming the value.
// *index receives N (0 for cpu, auto and plain cuda) when given.
const BackendFactory& select_backend(const std::string& device, int* index = nullptr);

// One CUDA device as the runtime reports it (dpzo info).
struct DeviceInfo {
  std::string name;
  int64_t total_bytes = 0;
};
// The CUDA devices this process sees (empty without a CUDA build or device). Never throws.
std::vector<DeviceInfo> cuda_devices() noexcept;
#ifdef DPZO_HAVE_CUDA
std::vector<DeviceInfo> cuda_device_list() noexcept;
#endif

}  // namespace dpzo
