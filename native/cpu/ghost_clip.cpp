// defines: cpu::per_example_grad_norms (cpu/backward_state.h) — the backward of the batch with every
// example weighted 1 (so each sequence's output gradients are those of its own loss), the ghost-norm
// hooks on (ts.ghost), and each example's norm from the accumulated squares.
#include <algorithm>
#include <cmath>
#include <string>

#include "cpu/backward_state.h"
#include "dpzo/errors.h"

namespace dpzo {
namespace cpu {

namespace {
// ts.ghost on for one call, off on every exit (lossAndGradient never pays for the hooks)
struct GhostScope {
  TrainState& ts;
  ~GhostScope() { ts.ghost = nullptr; }
};
}  // namespace

GradNorms per_example_grad_norms(Model& m, TrainState& ts, const PackedBatch& b, const GradNormOptions& opts,
                                 const CancelToken* cancel) {
  if (opts.mode < 0 || opts.mode > 2)
    throw Error(err::kArgument, "perExampleGradNorms: mode must be auto, ghost or explicit");
  GradientOptions go;
  go.weights.assign(b.offsets.empty() ? 0 : b.offsets.size() - 1, 1.0);
  ts.ghost_store.mode = static_cast<GhostMode>(opts.mode);
  ts.ghost = &ts.ghost_store;
  GhostScope scope{ts};
  LossGradient lg = loss_and_gradient(m, ts, b, go, cancel);
  GradNorms out;
  out.out = std::move(lg.out);
  const std::vector<double>& sq = ts.ghost_store.sq;
  out.norms.assign(out.out.loss.size(), 0.0);
  // a NaN sum of squares (an overflow inside the example's backward) stays NaN: std::max(0.0, NaN) is 0, a norm of
  // 0 that left the example unclipped (weight 1) in the reweighted backward
  for (size_t s = 0; s < out.norms.size() && s < sq.size(); ++s)
    out.norms[s] = std::isnan(sq[s]) ? sq[s] : std::sqrt(std::max(0.0, sq[s]));
  return out;
}

}  // namespace cpu
}  // namespace dpzo
