// defines: LossGradScratch and fused_nll_backward — the fused classifier's
// gradient (llm.c's fused_classifier is the model): the head runs over
// vocabulary tiles twice, first for each row's log-sum-exp (cpu/loss.h
// fused_nll, the forward's own kernel), then, tile by tile, for the
// gradient of the logits, which goes into the head's and the hidden rows'
// gradients at once. Never more than one (rows × tile) logit block per worker.
// candidate_nll_backward is the candidate-set loss's (cpu/loss.h candidate_nll):
// a softmax over K head rows only, whose gradient touches those K rows alone.
#pragma once
#include <cstdint>
#include <vector>

#include "cpu/gemm.h"
#include "cpu/loss.h"
#include "dpzo/cancel.h"
#include "dpzo/thread_pool.h"

namespace dpzo {
namespace cpu {

struct LossGradScratch {
  std::vector<std::vector<float>> z, zt, prod;  // per worker: a tile's logits, their transpose, a product
  std::vector<std::vector<float>> dh;           // per chunk of tiles: its share of dL/dh (R, E)
  std::vector<float> lse;                       // (R)
  // candidate mode: the K head rows gathered (K, E), the logits then dz (R, K), dz's head-row product (K, E)
  std::vector<float> crows, cdz, cdw, tr;
  int64_t bytes() const;
};

// L = Σ_r coef[r]·nll[r] with nll[r] = log Σ_v exp(z_rv) − z_r,labels[r], z = h·headᵀ, h (R, E), head V rows
// of E (nn.Linear layout, F32). Writes nll (as fused_nll), dh (R, E) = ∂L/∂h, and adds ∂L/∂head into dhead
// when it is non-null. Deterministic for a given thread count (tiles are split into fixed chunks, whose
// partial dh are summed in chunk order). `cancel` (may be null) is checked before each vocabulary tile of
// both passes.
void fused_nll_backward(ThreadPool& pool, GemmWorkspace& ws, LossScratch& sc, LossGradScratch& gs, const float* h,
                        int64_t R, int64_t E, const float* head, int64_t V, const int32_t* labels, const float* coef,
                        double* nll, float* dh, float* dhead, const CancelToken* cancel = nullptr);

// The candidate-set loss: L = Σ_r coef[r]·nll[r] with nll[r] = log Σ_k exp(z_rk) − z_r,label_idx[r] and
// z_rk = h_r·head[cands[k]] (the forward's candidate_nll, whose nll it writes bit for bit). Writes
// dh (R, E) = ∂L/∂h, leaves dz (R, K) = ∂L/∂z in gs.cdz (ghost norms read it), and adds ∂L/∂head into the
// K candidate rows of dhead when it is non-null: every other head row's gradient is exactly zero.
// `cancel` (may be null): checked in the forward part (candidate_nll) and before the backward product.
void candidate_nll_backward(ThreadPool& pool, GemmWorkspace& ws, LossGradScratch& gs, const float* h, int64_t R,
                            int64_t E, const float* head, const int32_t* cands, int64_t K, const int32_t* label_idx,
                            const float* coef, double* nll, float* dh, float* dhead,
                            const CancelToken* cancel = nullptr);

}  // namespace cpu
}  // namespace dpzo
