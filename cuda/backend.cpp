// defines: cuda_backend_factory (dpzo/backend.h) — the CUDA Backend: the model's weights on the device in
// their stored dtype (cuda/device_weights.h), the seeded update/perturb with fused decay and stochastic
// rounding (philox_perturb.cu, bit-identical to the CPU's), and the fused forward + per-example loss at θ
// or at virtual points, logits and greedy decoding (cuda/forward.h). The Model's host buffer of weights
// gives its pages back after the upload and is refilled from the device only when the host needs it
// (cuda/host_copy.h). No backward on this backend yet (ERR_DEVICE).
// Batches are validated by the CPU's own code (cpu/forward_state.h, cpu/virtual_point.h), so both
// backends refuse the same inputs with the same messages.
#include <memory>
#include <string>

#include "cpu/forward_state.h"
#include "cpu/virtual_point.h"
#include "cuda_backend.h"
#include "device_weights.h"
#include "dpzo/backend.h"
#include "dpzo/errors.h"
#include "dpzo/model.h"
#include "forward.h"
#include "host_copy.h"

namespace dpzo {
namespace {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(Model& m) : m_(m), dw_(m, m.memory_tracker()), fwd_(m, dw_, m.memory_tracker()), host_(m, dw_) {
    host_.release();
  }

  const char* name() const override { return "cuda"; }

  void update(const std::vector<Segment>& segs, const uint64_t* seeds, const float* coeffs, int n_pairs, float decay,
              Rounding rounding) override {
    const bool sr = rounding == Rounding::kStochastic && n_pairs > 0;
    host_.release();  // first: a failure half-way leaves the device as the only truth
    cuda::axpy_directions(on_device(segs), seeds, coeffs, n_pairs, decay, sr ? &seeds[0] : nullptr);
  }

  void scale(const std::vector<Segment>& segs, float factor) override {
    host_.release();
    // no pairs: θ ← f·θ on the decayed segments, rounded to nearest, as cpu/scale.cpp
    cuda::axpy_directions(on_device(segs), nullptr, nullptr, 0, factor, nullptr);
  }

  std::vector<LossOutput> per_example_loss(const PackedBatch& batch, const ForwardOptions& opts,
                                           const CancelToken* cancel) override {
    cpu::validate_loss_batch(m_, batch);
    const cpu::VirtualSet vs = cpu::make_virtual_set(opts.points);
    return fwd_.loss(batch, vs.point_seeds, vs.point_coeffs, opts.all_rows, cancel);
  }

  std::vector<float> logits(const PackedBatch& batch, const std::vector<int64_t>& positions,
                            const CancelToken* cancel) override {
    PackedBatch b{batch.tokens, batch.offsets, {}, {}};
    cpu::validate_loss_batch(m_, b);  // offsets and token ranges (no labels: nothing else is checked)
    for (size_t i = 0; i < positions.size(); ++i)
      if (positions[i] < 0 || positions[i] >= static_cast<int64_t>(batch.tokens.size()))
        throw Error(err::kBatch, "logits position " + std::to_string(positions[i]) + " (entry " + std::to_string(i) +
                                     ") is outside the packed batch of " + std::to_string(batch.tokens.size()) +
                                     " tokens");
    return fwd_.logits(b, positions, cancel);
  }

  // Greedy decoding by re-running the whole sequence for each new token (no KV cache on this backend yet):
  // quadratic, but the same tokens as the CPU's cached decoding up to float rounding.
  std::vector<int32_t> generate(const std::vector<int32_t>& prompt, int n, int32_t eos_id,
                                const CancelToken* cancel) override {
    if (prompt.empty()) throw Error(err::kBatch, "generate: the prompt is empty");
    if (n < 0) throw Error(err::kArgument, "generate: the number of new tokens must be >= 0");
    std::vector<int32_t> seq(prompt), out;
    const int64_t V = m_.config().vocab_size;
    for (int i = 0; i < n; ++i) {
      if (i > 0 && static_cast<int64_t>(seq.size()) >= m_.config().max_positions) break;  // context full
      const int64_t T = static_cast<int64_t>(seq.size());
      const std::vector<float> z = logits(PackedBatch{seq, {0, T}, {}, {}}, {T - 1}, cancel);
      int32_t best = 0;
      for (int64_t v = 1; v < V; ++v)
        if (z[v] > z[best]) best = static_cast<int32_t>(v);
      out.push_back(best);
      if (best == eos_id) break;
      seq.push_back(best);
    }
    return out;
  }

  MemoryStats memory() const override { return m_.memory_tracker().snapshot(); }

  void sync_host() override { host_.make_current(); }

 private:
  std::vector<Segment> on_device(std::vector<Segment> segs) const {
    for (Segment& s : segs) s.data = dw_.device_of(s.data);
    return segs;
  }

  Model& m_;
  cuda::DeviceWeights dw_;
  cuda::Forward fwd_;
  cuda::HostCopy host_;
};

std::string cuda_unavailable() {
  if (!cuda::available()) return "no CUDA device is visible to this process";
  return "";
}

std::unique_ptr<Backend> cuda_create(Model& m) {
  const std::string why = cuda_unavailable();
  if (!why.empty()) throw Error(err::kDevice, "device 'cuda': " + why);
  return std::make_unique<CudaBackend>(m);
}

}  // namespace

int cuda_device_count() noexcept { return cuda::device_count(); }

const BackendFactory& cuda_backend_factory() {
  static const BackendFactory f{"cuda", &cuda_unavailable, &cuda_create};
  return f;
}

}  // namespace dpzo
