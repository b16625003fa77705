// defines: cuda_backend_factory (dpzo/backend.h) — the CUDA Backend: the model's weights on the device in
// their stored dtype (cuda/device_weights.h), the seeded update/perturb with fused decay and stochastic
// rounding (philox_perturb.cu, bit-identical to the CPU's), and the fused forward + per-example loss at θ
// or at virtual points, logits and greedy decoding (cuda/forward.h). The Model's host buffer of weights
// gives its pages back after the upload and is refilled from the device only when the host needs it
// (cuda/host_copy.h). No backward on this backend yet (ERR_DEVICE).
// Batches and points are validated by the core (dpzo/batch_check.h, dpzo/virtual_set.h), the code the CPU
// backend calls too, so both backends refuse the same inputs with the same messages.
#include <memory>
#include <string>

#include "cuda_backend.h"
#include "device_weights.h"
#include "dpzo/backend.h"
#include "dpzo/batch_check.h"
#include "dpzo/errors.h"
#include "dpzo/model.h"
#include "dpzo/virtual_set.h"
#include "forward.h"
#include "host_copy.h"

namespace dpzo {
namespace {

class CudaBackend final : public Backend {
 public:
  CudaBackend(Model& m, int device)
      : device_((cuda::use_device(device), device)),
        m_(m),
        dw_(m, m.memory_tracker()),
        fwd_(m, dw_, m.memory_tracker()),
        host_(m, dw_) {}
  ~CudaBackend() override {
    try {
      cuda::use_device(device_);  // the buffers below are freed on their own device
    } catch (...) {
    }
  }

  const char* name() const override { return "cuda"; }

  void write_tensor(size_t index, const void* bytes) override {
    cuda::use_device(device_);
    dw_.upload(m_, index, bytes);
  }

  void init_tensor(size_t index, uint64_t seed, uint64_t first) override {
    cuda::use_device(device_);
    dw_.init(m_, index, seed, first);
  }

  void update(const std::vector<Segment>& segs, const uint64_t* seeds, const float* coeffs, int n_pairs, float decay,
              Rounding rounding) override {
    cuda::use_device(device_);
    const bool sr = rounding == Rounding::kStochastic && n_pairs > 0;
    host_.release();  // first: a failure half-way leaves the device as the only truth
    cuda::axpy_directions(on_device(segs), seeds, coeffs, n_pairs, decay, sr ? &seeds[0] : nullptr);
  }

  void scale(const std::vector<Segment>& segs, float factor) override {
    cuda::use_device(device_);
    host_.release();
    // no pairs: θ ← f·θ on the decayed segments, rounded to nearest, as cpu/scale.cpp
    cuda::axpy_directions(on_device(segs), nullptr, nullptr, 0, factor, nullptr);
  }

  std::vector<LossOutput> per_example_loss(const PackedBatch& batch, const ForwardOptions& opts,
                                           const CancelToken* cancel) override {
    cuda::use_device(device_);
    validate_loss_batch(m_, batch);
    const VirtualSet vs = make_virtual_set(opts.points);
    return fwd_.loss(batch, vs.point_seeds, vs.point_coeffs, opts.all_rows, cancel);
  }

  std::vector<float> logits(const PackedBatch& batch, const std::vector<int64_t>& positions,
                            const CancelToken* cancel) override {
    cuda::use_device(device_);
    PackedBatch b{batch.tokens, batch.offsets, {}, {}};
    validate_loss_batch(m_, b);  // offsets and token ranges (no labels: nothing else is checked)
    validate_positions(positions, static_cast<int64_t>(batch.tokens.size()));
    return fwd_.logits(b, positions, cancel);
  }

  // Greedy decoding with a KV cache on the device (cuda/forward.h): the prompt once, then one token per step.
  std::vector<int32_t> generate(const std::vector<int32_t>& prompt, int n, int32_t eos_id,
                                const CancelToken* cancel) override {
    cuda::use_device(device_);
    if (prompt.empty()) throw Error(err::kBatch, "generate: the prompt is empty");
    if (n < 0) throw Error(err::kArgument, "generate: the number of new tokens must be >= 0");
    validate_tokens(m_, prompt.data(), {0, static_cast<int64_t>(prompt.size())});
    return fwd_.generate(prompt, n, eos_id, cancel);
  }

  MemoryStats memory() const override { return m_.memory_tracker().snapshot(); }

  void sync_host() override {
    cuda::use_device(device_);
    host_.make_current();
  }

 private:
  std::vector<Segment> on_device(std::vector<Segment> segs) const {
    for (Segment& s : segs) s.data = dw_.device_of(s.data);
    return segs;
  }

  int device_;  // the N of cuda:N
  Model& m_;
  cuda::DeviceWeights dw_;
  cuda::Forward fwd_;
  cuda::HostCopy host_;
};

std::string cuda_unavailable(int index) {
  const int n = cuda::device_count();
  if (n <= 0) return "no CUDA device is visible to this process";
  if (index < 0 || index >= n)
    return "this process sees " + std::to_string(n) + " CUDA device" +
           (n == 1 ? " (cuda:0)" : "s (cuda:0 to cuda:" + std::to_string(n - 1) + ")");
  return "";
}

std::unique_ptr<Backend> cuda_create(Model& m, int index) {
  const std::string why = cuda_unavailable(index);
  if (!why.empty()) throw Error(err::kDevice, "device 'cuda:" + std::to_string(index) + "': " + why);
  return std::make_unique<CudaBackend>(m, index);
}

}  // namespace

int cuda_device_count() noexcept { return cuda::device_count(); }

std::vector<DeviceInfo> cuda_device_list() noexcept { return cuda::device_list(); }

const BackendFactory& cuda_backend_factory() {
  static const BackendFactory f{"cuda", &cuda_unavailable, &cuda_create, true};
  return f;
}

}  // namespace dpzo
