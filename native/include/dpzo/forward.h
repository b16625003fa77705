// defines: PackedBatch, LossOutput and the forward entry points of a backend
// (CPU: native/cpu/forward.cpp and the per-family graphs).
#pragma once
#include <cstdint>
#include <vector>

#include "dpzo/model.h"

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

struct LossOutput {
  std::vector<double> loss;      // per sequence: mean NLL over its targets; NaN when it has none
  std::vector<int32_t> targets;  // per sequence: number of targets
  // candidate mode only: n_seq × K logits of the candidates at each
  // sequence's last target position (NaN row when it has no target)
  std::vector<float> candidate_logits;
};

// Validates the batch (ERR_TOKEN_RANGE, ERR_SEQUENCE_LENGTH, ERR_BATCH) and
// runs the fused forward + per-example loss.
LossOutput per_example_loss(Model& model, const PackedBatch& batch, const CancelToken* cancel);

// Full-vocabulary logits at the given packed positions (row-major, n × vocab).
std::vector<float> logits_at(Model& model, const PackedBatch& batch,
                             const std::vector<int64_t>& positions, const CancelToken* cancel);

// Greedy decoding: appends up to n tokens to prompt (stops early at eos_id if >= 0).
std::vector<int32_t> generate_greedy(Model& model, const std::vector<int32_t>& prompt, int n,
                                     int32_t eos_id, const CancelToken* cancel);

}  // namespace dpzo
