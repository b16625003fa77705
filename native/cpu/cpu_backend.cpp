// defines: the CPU Backend (dpzo/backend.h) — the seeded update with fused weight decay
// (cpu/perturb.cpp), the scale pass (cpu/scale.cpp), and the fused forward + per-example loss,
// logits and greedy decoding (cpu/forward.cpp), the forward + backward (cpu/backward.cpp) over the
// model's host weights, with the activation arenas this backend owns and reports into the model's
// MemoryTracker.
#include <memory>

#include "cpu/backward_state.h"
#include "cpu/forward_state.h"
#include "dpzo/backend.h"
#include "dpzo/errors.h"
#include "dpzo/model.h"
#include "dpzo/perturb.h"

namespace dpzo {
namespace {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(Model& m) : m_(m) {
    st_.mem = &m.memory_tracker();
    train_.mem = &m.memory_tracker();
  }

  const char* name() const override { return "cpu"; }

  void update(const std::vector<Segment>& segs, const uint64_t* seeds, const float* coeffs, int n_pairs, float decay,
              Rounding rounding) override {
    // stochastic: F16/BF16 keyed by the first seed as given (ARCHITECTURE §2); F32 always to nearest
    const bool sr = rounding == Rounding::kStochastic && n_pairs > 0;
    axpy_directions(segs, seeds, coeffs, n_pairs, m_.pool(), decay, sr ? &seeds[0] : nullptr);
  }

  void scale(const std::vector<Segment>& segs, float factor) override { scale_segments(segs, factor, m_.pool()); }

  std::vector<LossOutput> per_example_loss(const PackedBatch& batch, const ForwardOptions& opts,
                                           const CancelToken* cancel) override {
    return cpu::per_example_loss(m_, st_, batch, opts, cancel);
  }

  LossGradient loss_and_gradient(const PackedBatch& batch, const GradientOptions& opts,
                                 const CancelToken* cancel) override {
    return cpu::loss_and_gradient(m_, train_, batch, opts, cancel);
  }

  GradNorms per_example_grad_norms(const PackedBatch& batch, const GradNormOptions& opts,
                                   const CancelToken* cancel) override {
    return cpu::per_example_grad_norms(m_, train_, batch, opts, cancel);
  }

  std::vector<float> logits(const PackedBatch& batch, const std::vector<int64_t>& positions,
                            const CancelToken* cancel) override {
    return cpu::logits_at(m_, st_, batch, positions, cancel);
  }

  std::vector<int32_t> generate(const std::vector<int32_t>& prompt, int n, int32_t eos_id,
                                const CancelToken* cancel) override {
    return cpu::generate_greedy(m_, st_, prompt, n, eos_id, cancel);
  }

  MemoryStats memory() const override { return m_.memory_tracker().snapshot(); }

 private:
  Model& m_;
  ForwardState st_;   // grow-only activation arena, reused across calls (serialised by the op queue)
  TrainState train_;  // the training forward's saved activations and the backward's scratch (grow-only)
};

std::string cpu_unavailable(int) { return ""; }
std::unique_ptr<Backend> cpu_create(Model& m, int) { return std::make_unique<CpuBackend>(m); }

}  // namespace

const BackendFactory& cpu_backend_factory() {
  static const BackendFactory f{"cpu", &cpu_unavailable, &cpu_create};
  return f;
}

}  // namespace dpzo
