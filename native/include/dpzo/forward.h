// defines: PackedBatch, ForwardOptions, LossOutput, GradientOptions, LossGradient: the inputs and outputs
// of a forward (and of a forward + backward), whichever backend runs it (dpzo/backend.h; CPU graphs in cpu/).
#pragma once
#include <cstdint>
#include <vector>

namespace dpzo {

// Sequences concatenated, no padding. offsets has n_seq+1 entries, offsets[0]=0,
// offsets[n_seq] = tokens.size(). labels (same length as tokens) follow
// Hugging Face: the logits at position t-1 of a sequence predict labels[t];
// −100 = not a target; labels[first position of a sequence] is never a target,
// yet like every label a token id or −100 (validate_loss_batch refuses others).
struct PackedBatch {
  std::vector<int32_t> tokens;
  std::vector<int64_t> offsets;
  std::vector<int32_t> labels;
  // Candidate-set mode (classification by label words) when non-empty: the
  // loss at each target is the cross-entropy over these K token ids only,
  // and every target label must be one of them.
  std::vector<int32_t> candidates;
};

// A virtual point θ + Σ_k coeffs[k]·z(seeds[k]) (ARCHITECTURE §2, exactness): a forward there reads every
// trainable element as the float32 value fl(w + Σ_k c_k z_k), fma order k ascending, without writing θ.
struct VirtualPoint {
  std::vector<uint64_t> seeds;
  std::vector<float> coeffs;
};

// How to evaluate a forward: at θ (no points), or at each of `points` in one pass that reads every weight
// panel once and generates each distinct direction once (the + and − points of a DP-ZO step). The rows of
// each point are bitwise what a forward at that point alone would give (the GEMM is batch-invariant).
// all_rows: the head runs on every position after a sequence's first, targets or not (the others are
// computed and discarded), so the forward's cost depends on the batch's shape alone, not on how many
// targets its examples have: the constant-time steps of a private run (docs/privacy.md).
struct ForwardOptions {
  std::vector<VirtualPoint> points;
  bool all_rows = false;
};

struct LossOutput {
  std::vector<double> loss;      // per sequence: mean NLL over its targets; NaN when it has none
  std::vector<int32_t> targets;  // per sequence: number of targets
  // candidate mode only: n_seq × K logits of the candidates at each
  // sequence's last target position (NaN row when it has no target)
  std::vector<float> candidate_logits;
};

// A forward + backward at θ (F32 weights): the gradient of L = Σ_s weights[s]·loss_s, loss_s the
// per-example loss of LossOutput (mean NLL over sequence s's targets). Empty weights: the mean over the
// sequences that have targets (1/n each; a sequence without targets has weight 0 and loss NaN). Weights
// are what DP-SGD needs: a one-hot vector gives one example's gradient (per-example regime), and
// min(1, C/‖g_s‖)/B gives ghost clipping's reweighted backward.
struct GradientOptions {
  std::vector<double> weights;
};

struct LossGradient {
  LossOutput out;           // the per-example losses of the same forward
  std::vector<float> grad;  // ∂L/∂θ over the trainable parameters, canonical order (ARCHITECTURE §2)
};

// Per-example gradient norms (ghost clipping, Li et al. 2021; Bu et al. 2022): for each sequence s,
// ‖∂loss_s/∂θ‖₂ over the trainable parameters, from one forward + backward of the batch without a
// per-example gradient. mode: how linear layers are normed (0 auto, 1 ghost norm, 2 explicit product).
struct GradNormOptions {
  int mode = 0;
};

struct GradNorms {
  LossOutput out;             // the per-example losses of the same forward
  std::vector<double> norms;  // per sequence: ‖∂loss_s/∂θ‖₂ (0 when it has no targets)
};

}  // namespace dpzo
