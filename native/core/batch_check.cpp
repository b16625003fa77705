// defines: validate_tokens, validate_offsets, validate_loss_batch (dpzo/batch_check.h): the one check of a loss batch
// against a model, shared by every backend so that they refuse the same inputs with the same messages. A batch is
// private data: a message names the sequence, the position and the reason, never a token id, label or length.
#include "dpzo/batch_check.h"

#include <algorithm>
#include <string>

#include "dpzo/errors.h"
#include "dpzo/model.h"

namespace dpzo {

void validate_tokens(const Model& m, const int32_t* tokens, const std::vector<int64_t>& offsets) {
  const ModelConfig& c = m.config();
  const int64_t n_seq = static_cast<int64_t>(offsets.size()) - 1;
  for (int64_t s = 0; s < n_seq; ++s) {
    const int64_t len = offsets[s + 1] - offsets[s];
    if (len > c.max_positions)
      throw Error(err::kSequenceLength, "sequence " + std::to_string(s) +
                                            " has more tokens than the model's max positions " +
                                            std::to_string(c.max_positions));
    for (int64_t t = offsets[s]; t < offsets[s + 1]; ++t)
      if (tokens[t] < 0 || tokens[t] >= c.vocab_size)
        throw Error(err::kTokenRange, "the token id at position " + std::to_string(t - offsets[s]) + " of sequence " +
                                          std::to_string(s) + " is outside the vocabulary [0, " +
                                          std::to_string(c.vocab_size) + ")");
  }
}

void validate_offsets(const std::vector<int64_t>& offsets, int64_t n_tokens) {
  if (offsets.size() < 2 || n_tokens == 0) throw Error(err::kBatch, "empty batch: no sequences");
  if (offsets.front() != 0 || offsets.back() != n_tokens)
    throw Error(err::kBatch, "batch offsets must start at 0 and end at the token count");
  for (size_t s = 0; s + 1 < offsets.size(); ++s)
    if (offsets[s + 1] <= offsets[s])
      throw Error(err::kBatch, "sequence " + std::to_string(s) + " is empty or its offsets decrease");
}

void validate_positions(const std::vector<int64_t>& positions, int64_t n_tokens) {
  for (size_t i = 0; i < positions.size(); ++i)
    if (positions[i] < 0 || positions[i] >= n_tokens)
      throw Error(err::kBatch, "logits entry " + std::to_string(i) + ": its position is outside the packed batch");
}

void validate_loss_batch(const Model& m, const PackedBatch& b) {
  const int64_t T = static_cast<int64_t>(b.tokens.size());
  validate_offsets(b.offsets, T);
  if (!b.labels.empty() && static_cast<int64_t>(b.labels.size()) != T)
    throw Error(err::kBatch, "labels must have one entry per token");
  validate_tokens(m, b.tokens.data(), b.offsets);
  const int64_t V = m.config().vocab_size;
  for (size_t k = 0; k < b.candidates.size(); ++k) {
    const int32_t c = b.candidates[k];
    if (c < 0 || c >= V)
      throw Error(err::kBatch, "candidate " + std::to_string(k) + " = " + std::to_string(c) +
                                   " is outside the vocabulary [0, " + std::to_string(V) + ")");
    for (size_t j = 0; j < k; ++j)
      if (b.candidates[j] == c) throw Error(err::kBatch, "candidate token " + std::to_string(c) + " is listed twice");
  }
  // without labels every next token is a target, so in candidate mode each must be a candidate too
  const int64_t n_seq = static_cast<int64_t>(b.offsets.size()) - 1;
  if (b.labels.empty() && b.candidates.empty()) return;
  for (int64_t s = 0; s < n_seq; ++s)
    for (int64_t t = b.offsets[s]; t < b.offsets[s + 1]; ++t) {
      const int32_t l = b.labels.empty() ? b.tokens[t] : b.labels[t];
      if (l == -100) continue;
      // the message is built on failure only: this runs once per label
      const auto where = [&] {
        return " at position " + std::to_string(t - b.offsets[s]) + " of sequence " + std::to_string(s);
      };
      // every label, the first of a sequence too: it is never a target (logits at t-1 predict label t), but a
      // label that is neither a token id nor -100 is a malformed batch (the first was once let through unread)
      if (l < 0 || l >= V)
        throw Error(err::kTokenRange, "the label" + where() + " is outside the vocabulary [0, " + std::to_string(V) +
                                          ") and is not -100");
      if (t == b.offsets[s]) continue;  // not a target: it need not be a candidate
      if (!b.candidates.empty() && std::find(b.candidates.begin(), b.candidates.end(), l) == b.candidates.end())
        throw Error(err::kBatch, "the label" + where() + " is not among the candidates");
    }
}

}  // namespace dpzo
