// defines: LossScratch, fused_nll (LM head + online log-softmax + NLL over
// vocabulary tiles; never a full probability matrix), candidate_nll (K head
// columns only) and head_logits (full rows, for logits_at / generate).
#pragma once
#include <cstdint>
#include <vector>

#include "cpu/gemm.h"
#include "dpzo/cancel.h"
#include "dpzo/thread_pool.h"

namespace dpzo {
namespace cpu {

constexpr int64_t kVocabTile = 256;  // head columns per task (one packed B block)

struct LossScratch {
  std::vector<std::vector<float>> tile;   // per worker: (R, kVocabTile) logits of one tile
  std::vector<float> tile_max, tile_sum;  // (n_tiles, R): per-tile max and Σexp(z − max)
  std::vector<float> target;              // (R): the target's logit
  int64_t bytes() const;
};

// nll[r] = log Σ_v exp(z_rv) − z_r,labels[r] with z = h·headᵀ; h is (R, E),
// head is V rows of E (nn.Linear layout). Tiles merge in a fixed order.
// `cancel` (may be null) is checked before each vocabulary tile (R × kVocabTile logits).
void fused_nll(ThreadPool& pool, GemmWorkspace& ws, LossScratch& sc, const float* h, int64_t R, int64_t E,
               const Weight& head, int64_t V, const int32_t* labels, double* nll, const CancelToken* cancel = nullptr);

// Candidate-set cross-entropy: z_rk = h_r·head[cands[k]]; nll[r] = log Σ_k
// exp(z_rk) − z_r,label_idx[r]; logits (R, K) receives z. `cancel` (may be null): checked per row group
// and per GEMM column task.
void candidate_nll(ThreadPool& pool, GemmWorkspace& ws, const float* h, int64_t R, int64_t E, const Weight& head,
                   const int32_t* cands, int64_t K, const int32_t* label_idx, double* nll, float* logits,
                   const CancelToken* cancel = nullptr);

// out (R, V) = h·headᵀ. `cancel` (may be null): checked per GEMM column task (linear()).
void head_logits(ThreadPool& pool, GemmWorkspace& ws, const float* h, int64_t R, int64_t E, const Weight& head,
                 int64_t V, float* out, const CancelToken* cancel = nullptr);

}  // namespace cpu
}  // namespace dpzo
