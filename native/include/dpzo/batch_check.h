// defines: validate_loss_batch — the check of a loss batch against a model (offsets, token and label
// ranges, candidates), in the core so that the CPU and CUDA backends call the same code and refuse the same
// inputs with the same messages (ERR_BATCH / ERR_TOKEN_RANGE / ERR_SEQUENCE_LENGTH naming the sequence and
// position).
#pragma once

#include <cstdint>
#include <vector>

#include "dpzo/forward.h"

namespace dpzo {

class Model;

void validate_loss_batch(const Model& m, const PackedBatch& b);
// Its parts: offsets start at 0, end at n_tokens and increase strictly (ERR_BATCH); every sequence fits the
// model's positions and every token id its vocabulary.
void validate_offsets(const std::vector<int64_t>& offsets, int64_t n_tokens);
void validate_tokens(const Model& m, const int32_t* tokens, const std::vector<int64_t>& offsets);
// The rows a logits call asks for lie inside the packed batch of n_tokens (ERR_BATCH naming the entry, never the
// position or n_tokens: both follow from the private sequences' lengths).
void validate_positions(const std::vector<int64_t>& positions, int64_t n_tokens);

}  // namespace dpzo
