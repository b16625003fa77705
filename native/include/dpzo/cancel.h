// defines: CancelToken (set from another thread to stop long native work) and check_cancel.
//
// Where the CPU backend checks (the N-API layer also checks once when an op leaves the queue), and so the most
// work between two checks:
//   trunk (forward, training forward): before each GEMM column task (≤ kGemmNC columns × all T rows) of every
//     linear, before each attention task (one sequence, head and block of 128 queries), and after each layer: at
//     most one such task per thread, or one layer's norms.
//   backward trunk: before each linear's backward, every 64 query rows of a head in the attention backward, and
//     after each layer: one linear_backward (both products), or 64 rows of one head. (Before, a layer's attention
//     over a long sequence, O(T²), ran to its end after an abort.)
//   LM head: fused_nll (perExampleLoss, plain and at points; pass 1 of lossAndGradient): before each vocabulary
//     tile (R rows × kVocabTile); fused_nll_backward pass 2: before each tile, per worker; candidate_nll: per row
//     group and column task; head_logits (logits, each generated token): per column task; ghost_head
//     (perExampleGradNorms): per 2048-column tile and column task. Before, the head had no check at all, and an
//     abort after the trunk's last layer ran the whole head (or, in the forward, resolved).
//   ghost norms of a tied embedding (perExampleGradNorms; O(L²·E) per sequence of L tokens): per row of the
//   recorded head gradient (record_tied_dz) and per token / head row of ghost_embedding. Before, an abort inside
//   them ran them to the end (ghost_embedding is the op's last work: it resolved).
//   generate: the above, per token.
// Not interruptible, by design: update / perturb / decay / addDense / setTrainable (the binding passes them no
// token; lib/model/model.ts: "a started op settles with its native work"): stopping a weight pass midway would
// leave θ half-updated, so one full pass over the parameters runs between the queue check and the end; save,
// getTrainable, weightsHash likewise. DPZO_GEMM=blas: one CBLAS call is one uninterruptible product.
#pragma once
#include <atomic>

namespace dpzo {

// Set from another thread (e.g. the JS side) to stop long native work; checked
// between layers / chunks, which then throw Error(ERR_CANCELLED). A check is one
// relaxed atomic load: callers check per layer, per GEMM column task, per
// vocabulary tile, never per element.
struct CancelToken {
  std::atomic<bool> cancelled{false};
  void check() const;  // throws ERR_CANCELLED when set
};

// Throws ERR_CANCELLED when `cancel` is non-null and set (null: the op cannot be cancelled).
inline void check_cancel(const CancelToken* cancel) {
  if (cancel) cancel->check();
}

}  // namespace dpzo
