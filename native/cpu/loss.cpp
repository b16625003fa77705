// defines: fused_nll, candidate_nll, head_logits (see loss.h).
#include "cpu/loss.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu/virtual_point.h"
#include "cpu/vmath.h"

namespace dpzo {
namespace cpu {

int64_t LossScratch::bytes() const {
  int64_t n = static_cast<int64_t>(tile_max.capacity() + tile_sum.capacity() + target.capacity());
  for (const auto& t : tile) n += static_cast<int64_t>(t.capacity());
  return n * static_cast<int64_t>(sizeof(float));
}

void fused_nll(ThreadPool& pool, GemmWorkspace& ws, LossScratch& sc, const float* h, int64_t R, int64_t E,
               const Weight& head, int64_t V, const int32_t* labels, double* nll, const CancelToken* cancel) {
  if (R == 0) return;
  const PackedA a = pack_a(pool, ws, R, E, h, E, head.is_virtual() ? head.at : nullptr);
  const int64_t n_tiles = (V + kVocabTile - 1) / kVocabTile;
  if (static_cast<int64_t>(sc.tile_max.size()) < n_tiles * R) {
    sc.tile_max.resize(n_tiles * R);
    sc.tile_sum.resize(n_tiles * R);
  }
  if (static_cast<int64_t>(sc.target.size()) < R) sc.target.resize(R);
  if (static_cast<int>(sc.tile.size()) < pool.size()) sc.tile.resize(pool.size());
  for (auto& t : sc.tile)
    if (static_cast<int64_t>(t.size()) < R * kVocabTile) t.resize(R * kVocabTile);
  ws.ensure_workers(pool.size());
  const VmathOps& vm = vmath();
  check_cancel(cancel);
  pool.run(n_tiles, [&](int64_t tile, int worker) {
    check_cancel(cancel);  // the pool runs no further tile once one throws
    const int64_t v0 = tile * kVocabTile, v1 = std::min(V, v0 + kVocabTile), n = v1 - v0;
    float* z = sc.tile[worker].data();  // (R, n) logits of this tile
    gemm_columns(ws, worker, a, head, v0, v1, z, n);
    for (int64_t r = 0; r < R; ++r) {
      vm.max_sumexp(z + r * n, n, &sc.tile_max[tile * R + r], &sc.tile_sum[tile * R + r]);
      if (labels[r] >= v0 && labels[r] < v1) sc.target[r] = z[r * n + (labels[r] - v0)];
    }
  });
  // online log-sum-exp merge over tiles, in tile order, in double
  for (int64_t r = 0; r < R; ++r) {
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t t = 0; t < n_tiles; ++t) mx = std::max(mx, static_cast<double>(sc.tile_max[t * R + r]));
    double s = 0;
    for (int64_t t = 0; t < n_tiles; ++t) s += sc.tile_sum[t * R + r] * std::exp(sc.tile_max[t * R + r] - mx);
    nll[r] = mx + std::log(s) - sc.target[r];
  }
}

void candidate_nll(ThreadPool& pool, GemmWorkspace& ws, const float* h, int64_t R, int64_t E, const Weight& head,
                   const int32_t* cands, int64_t K, const int32_t* label_idx, double* nll, float* logits,
                   const CancelToken* cancel) {
  if (R == 0) return;
  // gather the K candidate rows of the head as an F32 (K, E) operand, per row group at its point
  std::vector<float> rows(K * E);
  const int es = dtype_size(head.dtype);
  const bool virt = head.is_virtual() && head.g0 >= 0;
  const std::vector<int64_t> bounds = virt ? head.at->bounds : std::vector<int64_t>{0, R};
  for (size_t g = 0; g + 1 < bounds.size(); ++g) {
    check_cancel(cancel);
    for (int64_t k = 0; k < K; ++k) {
      const char* src = static_cast<const char*>(head.data) + cands[k] * head.ld * es;
      if (virt)
        values_at(src, head.dtype, static_cast<uint64_t>(head.g0 + cands[k] * head.ld), E, *head.at->set,
                  static_cast<int>(g), rows.data() + k * E);
      else
        convert_row(src, head.dtype, E, rows.data() + k * E);
    }
    const Weight wc{rows.data(), DType::F32, WLayout::OutIn, E};
    const int64_t r0 = bounds[g], rg = bounds[g + 1] - r0;
    if (rg > 0) linear(pool, ws, rg, K, E, h + r0 * E, E, wc, nullptr, logits + r0 * K, K, false, cancel);
  }
  for (int64_t r = 0; r < R; ++r) {
    const float* z = logits + r * K;
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t k = 0; k < K; ++k) mx = std::max(mx, static_cast<double>(z[k]));
    double s = 0;
    for (int64_t k = 0; k < K; ++k) s += std::exp(z[k] - mx);
    nll[r] = mx + std::log(s) - z[label_idx[r]];
  }
}

void head_logits(ThreadPool& pool, GemmWorkspace& ws, const float* h, int64_t R, int64_t E, const Weight& head,
                 int64_t V, float* out, const CancelToken* cancel) {
  linear(pool, ws, R, V, E, h, E, head, nullptr, out, V, false, cancel);
}

}  // namespace cpu
}  // namespace dpzo
