// defines: fused_nll_backward, candidate_nll_backward, LossGradScratch::bytes (see backward_loss.h).
#include "cpu/backward_loss.h"

#include <algorithm>
#include <cmath>

#include "cpu/backward_gemm.h"

namespace dpzo {
namespace cpu {

namespace {
int64_t floats(const std::vector<std::vector<float>>& vs) {
  int64_t n = 0;
  for (const auto& v : vs) n += static_cast<int64_t>(v.capacity());
  return n;
}
void grow(std::vector<float>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(n);
}
}  // namespace

int64_t LossGradScratch::bytes() const {
  int64_t n = floats(z) + floats(zt) + floats(prod) + floats(dh);
  for (const auto* v : {&lse, &crows, &cdz, &cdw, &tr}) n += static_cast<int64_t>(v->capacity());
  return n * static_cast<int64_t>(sizeof(float));
}

void fused_nll_backward(ThreadPool& pool, GemmWorkspace& ws, LossScratch& sc, LossGradScratch& gs, const float* h,
                        int64_t R, int64_t E, const float* head, int64_t V, const int32_t* labels, const float* coef,
                        double* nll, float* dh, float* dhead, const CancelToken* cancel) {
  if (R == 0) return;
  const Weight W{head, DType::F32, WLayout::OutIn, E};
  // pass 1: the forward's fused loss; it leaves each row's target logit in sc.target, so lse = nll + target
  fused_nll(pool, ws, sc, h, R, E, W, V, labels, nll, cancel);
  grow(gs.lse, R);
  for (int64_t r = 0; r < R; ++r) gs.lse[r] = static_cast<float>(nll[r] + sc.target[r]);
  // pass 2: per tile, dz = coef·(softmax − onehot); dhead[tile] += dzᵀ·h; dh += dz·head[tile]
  const PackedA a = pack_a(pool, ws, R, E, h, E);
  const int64_t n_tiles = (V + kVocabTile - 1) / kVocabTile;
  const int workers = pool.size();
  const int64_t n_chunks = std::min<int64_t>(n_tiles, workers);
  ws.ensure_workers(workers);
  if (static_cast<int>(gs.z.size()) < workers) {
    gs.z.resize(workers);
    gs.zt.resize(workers);
    gs.prod.resize(workers);
  }
  for (int w = 0; w < workers; ++w) {
    grow(gs.z[w], R * kVocabTile);
    grow(gs.zt[w], R * kVocabTile);
    grow(gs.prod[w], std::max(kVocabTile, R) * E);
  }
  if (static_cast<int64_t>(gs.dh.size()) < n_chunks) gs.dh.resize(n_chunks);
  for (int64_t c = 0; c < n_chunks; ++c) {
    grow(gs.dh[c], R * E);
    std::fill_n(gs.dh[c].data(), R * E, 0.f);
  }
  pool.run(n_chunks, [&](int64_t chunk, int worker) {
    float *z = gs.z[worker].data(), *zt = gs.zt[worker].data(), *prod = gs.prod[worker].data();
    float* dhc = gs.dh[chunk].data();
    for (int64_t tile = chunk * n_tiles / n_chunks; tile < (chunk + 1) * n_tiles / n_chunks; ++tile) {
      check_cancel(cancel);  // one chunk per worker: each checks its own tiles
      const int64_t v0 = tile * kVocabTile, v1 = std::min(V, v0 + kVocabTile), n = v1 - v0;
      gemm_columns(ws, worker, a, W, v0, v1, z, n);
      for (int64_t r = 0; r < R; ++r) {
        float* zr = z + r * n;
        for (int64_t j = 0; j < n; ++j) zr[j] = coef[r] * std::exp(zr[j] - gs.lse[r]);
        if (labels[r] >= v0 && labels[r] < v1) zr[labels[r] - v0] -= coef[r];
      }
      if (dhead) {
        for (int64_t r = 0; r < R; ++r)
          for (int64_t j = 0; j < n; ++j) zt[j * R + r] = z[r * n + j];
        gemm_serial(ws, worker, n, E, R, zt, R, Weight{h, DType::F32, WLayout::InOut, E}, prod, E);
        float* dst = dhead + v0 * E;
        for (int64_t i = 0; i < n * E; ++i) dst[i] += prod[i];
      }
      gemm_serial(ws, worker, R, E, n, z, n, Weight{head + v0 * E, DType::F32, WLayout::InOut, E}, prod, E);
      for (int64_t i = 0; i < R * E; ++i) dhc[i] += prod[i];
    }
  });
  std::copy_n(gs.dh[0].data(), R * E, dh);
  for (int64_t c = 1; c < n_chunks; ++c)
    for (int64_t i = 0; i < R * E; ++i) dh[i] += gs.dh[c][i];
}

void candidate_nll_backward(ThreadPool& pool, GemmWorkspace& ws, LossGradScratch& gs, const float* h, int64_t R,
                            int64_t E, const float* head, const int32_t* cands, int64_t K, const int32_t* label_idx,
                            const float* coef, double* nll, float* dh, float* dhead, const CancelToken* cancel) {
  if (R == 0) return;
  // the forward's own kernel: the same logits and nll
  grow(gs.cdz, R * K);
  float* dz = gs.cdz.data();
  candidate_nll(pool, ws, h, R, E, Weight{head, DType::F32, WLayout::OutIn, E}, cands, K, label_idx, nll, dz, cancel);
  // dz_rk = coef_r·(softmax_k − onehot_k), the log-sum-exp as the forward formed it: nll + the label's logit
  for (int64_t r = 0; r < R; ++r) {
    float* zr = dz + r * K;
    const double lse = nll[r] + zr[label_idx[r]];
    for (int64_t k = 0; k < K; ++k) zr[k] = static_cast<float>(coef[r] * std::exp(zr[k] - lse));
    zr[label_idx[r]] -= coef[r];
  }
  // the head restricted to the candidates is a linear layer (K rows of E): dh = dz·rows, drows = dzᵀ·h
  grow(gs.crows, K * E);
  for (int64_t k = 0; k < K; ++k) std::copy_n(head + static_cast<int64_t>(cands[k]) * E, E, gs.crows.data() + k * E);
  float* dw = nullptr;
  if (dhead) {
    grow(gs.cdw, K * E);
    dw = gs.cdw.data();
    std::fill_n(dw, K * E, 0.f);
  }
  check_cancel(cancel);
  linear_backward(pool, ws, gs.tr, R, K, E, h, E, dz, K, gs.crows.data(), WLayout::OutIn, E, dw, nullptr, dh, E, false);
  if (dhead)
    for (int64_t k = 0; k < K; ++k) {
      float* dst = dhead + static_cast<int64_t>(cands[k]) * E;
      for (int64_t e = 0; e < E; ++e) dst[e] += dw[k * E + e];
    }
}

}  // namespace cpu
}  // namespace dpzo
