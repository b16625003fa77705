// defines: GhostNorms and the ghost-clipping hooks of the backward (Li et al. 2021, "ghost clipping";
// Bu et al. 2022, "book-keeping"): each example's squared gradient norm ‖∂loss_s/∂θ‖², accumulated
// parameter tensor by parameter tensor from what the batch's one backward already holds (a layer's
// input rows and output gradients), without materialising a per-example gradient. Every parameter's
// gradient is a sum over the tokens (or target rows) of one sequence, and sequences never mix in the
// forward (attention is per sequence, the loss per row), so with every example weighted 1 the batch's
// output gradients of sequence s are exactly those of loss_s alone. Internal to cpu/.
#pragma once
#include <cstdint>
#include <vector>

#include "cpu/gemm.h"
#include "dpzo/cancel.h"
#include "dpzo/thread_pool.h"

namespace dpzo {

// How a linear layer's per-example norm is computed: the ghost norm Σ_{t,t'} (a_t·a_t')(g_t·g_t') in
// O(T²(d_in + d_out)), or the explicit per-sequence product ‖Σ_t g_t a_tᵀ‖² in O(T·d_in·d_out). Auto picks
// the explicit product when d_in·d_out < T² (the smaller of the two, as the papers choose per layer).
enum class GhostMode { kAuto = 0, kGhost = 1, kExplicit = 2 };

struct GhostNorms {
  GhostMode mode = GhostMode::kAuto;
  std::vector<int64_t> tok_off;  // (n_seq + 1) each sequence's tokens in the packed batch
  std::vector<int64_t> row_off;  // (n_seq + 1) each sequence's target rows among the gathered rows
  std::vector<double> sq;        // (n_seq) the accumulated squared norms
  // tied head: the head's input rows (R, E) and, per sequence s, dz[r][t] = ∂loss_s/∂logit_{r, id_t} for its
  // rows r and tokens t (dz_off[s] its start): the cross term ⟨head gradient, embedding gradient⟩ needs them
  bool tied = false;
  const float* head_in = nullptr;
  int64_t head_dim = 0;
  std::vector<float> dz;
  std::vector<int64_t> dz_off;
  std::vector<float> s1, s2, s3;  // scratch (grow-only)
  std::vector<double> acc;        // scratch
  int64_t bytes() const;
};

namespace cpu {

// A linear layer Y = X·W (+ b) over segments seg (the rows of sequence s are seg[s] .. seg[s+1]) given dY:
// adds ‖∂/∂W‖² (when weight) and ‖∂/∂b‖² (when bias) of each sequence to g.sq.
void ghost_linear(ThreadPool& pool, GemmWorkspace& ws, GhostNorms& g, const std::vector<int64_t>& seg, const float* X,
                  int64_t ldx, const float* dY, int64_t ldy, int64_t N, int64_t K, bool weight, bool bias);

// A norm y = x̂·w (+ b) (x̂ = x·rstd for RMSNorm, (x − mean)·rstd for LayerNorm, statistics in double as the
// forward): adds ‖Σ_t dy_t ⊙ x̂_t‖² (when weight) and ‖Σ_t dy_t‖² (when bias) of each sequence. heads > 1: each
// row holds `heads` sub-rows of n sharing the weight (Qwen3's q/k norms), so the sums run over t and the heads.
void ghost_norm(ThreadPool& pool, GhostNorms& g, const std::vector<int64_t>& seg, int64_t n, const float* x,
                int64_t ldx, double eps, bool rms, const float* dy, int64_t ldy, bool weight, bool bias,
                int64_t heads = 1);

// The fused loss's head (R rows h of E, V head rows, nn.Linear layout): its per-sequence gradient is
// Σ_r dz_r h_rᵀ with dz_r = coef_r·(softmax(h_r·headᵀ) − onehot(label_r)), so ‖·‖² = Σ_{r,r'} (dz_r·dz_r')(h_r·h_r'),
// the dz Gram accumulated over vocabulary tiles (one more pass over the head). lse: each row's log-sum-exp.
// With tied set, also records g.dz for the embedding's cross term. `weight`: the head is trainable.
// `cancel` (may be null): checked per vocabulary tile and per GEMM column task.
void ghost_head(ThreadPool& pool, GemmWorkspace& ws, GhostNorms& g, const float* h, int64_t R, int64_t E,
                const float* head, int64_t V, const int32_t* labels, const float* coef, const float* lse,
                const int32_t* ids, bool weight, const CancelToken* cancel = nullptr);

// The candidate-set loss's head (cpu/backward_loss.h candidate_nll_backward): dz (R, K) = ∂loss/∂z over the K
// candidate rows cands of the head, the only rows its gradient touches, so each sequence's head norm is
// ‖Σ_r dz_r h_rᵀ‖² over those K rows. With g.tied, records g.dz (zero for a token that is no candidate).
// `cancel` (may be null): checked per row of the recorded g.dz.
void ghost_head_candidates(ThreadPool& pool, GhostNorms& g, const float* h, int64_t R, int64_t E, const float* dz,
                           const int32_t* cands, int64_t K, const int32_t* ids, bool weight,
                           const CancelToken* cancel = nullptr);

// An embedding lookup out[t] = table[ids[t]] given dout (T, dim): per sequence ‖Σ_t e_{id_t} dout_tᵀ‖² =
// Σ_{t,t' : id_t = id_t'} dout_t·dout_t' (repeated tokens add), plus, for a tied head (tied_head), the cross
// term 2·Σ_{r,t} dz[r][t]·(h_r·dout_t) with the head's gradient in the same tensor. Both are O(L²) per sequence of
// L tokens: `cancel` (may be null) is checked per token t and per head row r.
void ghost_embedding(ThreadPool& pool, GhostNorms& g, const int32_t* ids, const float* dout, int64_t dim,
                     bool tied_head, const CancelToken* cancel = nullptr);

}  // namespace cpu
}  // namespace dpzo
