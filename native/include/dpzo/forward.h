// defines: PackedBatch, ForwardOptions, LossOutput: the inputs and outputs of
// a forward, whichever backend runs it (dpzo/backend.h; CPU graphs in cpu/).
#pragma once
#include <cstdint>
#include <vector>

namespace dpzo {

// Sequences concatenated, no padding. offsets has n_seq+1 entries, offsets[0]=0,
// offsets[n_seq] = tokens.size(). labels (same length as tokens) follow
// Hugging Face: the logits at position t-1 of a sequence predict labels[t];
// −100 = not a target; labels[first position of a sequence] is never used.
struct PackedBatch {
  std::vector<int32_t> tokens;
  std::vector<int64_t> offsets;
  std::vector<int32_t> labels;
  // Candidate-set mode (classification by label words) when non-empty: the
  // loss at each target is the cross-entropy over these K token ids only,
  // and every target label must be one of them.
  std::vector<int32_t> candidates;
};

// How to evaluate a forward. `at` is the virtual point θ + Σ_k at_coeffs[k]·z(at_seeds[k]) (ARCHITECTURE §2,
// exactness), reserved for the exact-step forward: no backend evaluates it yet, and a non-empty one is
// refused with ERR_ARGUMENT rather than silently evaluated at θ.
struct ForwardOptions {
  std::vector<uint64_t> at_seeds;
  std::vector<float> at_coeffs;
};

struct LossOutput {
  std::vector<double> loss;      // per sequence: mean NLL over its targets; NaN when it has none
  std::vector<int32_t> targets;  // per sequence: number of targets
  // candidate mode only: n_seq × K logits of the candidates at each
  // sequence's last target position (NaN row when it has no target)
  std::vector<float> candidate_logits;
};

}  // namespace dpzo
