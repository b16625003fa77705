// defines: ghost_linear, ghost_norm, ghost_head, ghost_head_candidates, ghost_embedding, GhostNorms::bytes (see
// ghost_norms.h). Products run on the forward's GEMM; the per-sequence sums that make a norm are taken in double.
#include "cpu/ghost_norms.h"

#include <algorithm>
#include <cmath>

#include "cpu/backward_gemm.h"

namespace dpzo {

int64_t GhostNorms::bytes() const {
  return static_cast<int64_t>((dz.capacity() + s1.capacity() + s2.capacity() + s3.capacity()) * sizeof(float) +
                              (sq.capacity() + acc.capacity()) * sizeof(double) +
                              (tok_off.capacity() + row_off.capacity() + dz_off.capacity()) * sizeof(int64_t));
}

namespace cpu {

namespace {

template <class T>
void grow(std::vector<T>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(n);
}

int64_t n_seq_of(const std::vector<int64_t>& seg) { return static_cast<int64_t>(seg.size()) - 1; }

double sum_product(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// G (T, T) = X·Xᵀ for T rows of X (row stride ld, n columns)
void gram(ThreadPool& pool, GemmWorkspace& ws, int64_t T, int64_t n, const float* X, int64_t ld, float* G) {
  linear(pool, ws, T, T, n, X, ld, Weight{X, DType::F32, WLayout::OutIn, ld}, nullptr, G, T, false);
}

// Tied head: g.dz[r][t] = ∂loss_s/∂logit_{r, id_t} for each row r and token t of sequence s (dz_of(r, id)),
// for the embedding's cross term (ghost_embedding). O(R_s·T_s) values per sequence (each a dot product of E for the
// fused loss): O(L²·E) for a sequence of L tokens, seconds for a long one, so `cancel` is checked per row r.
template <class F>
void record_tied_dz(ThreadPool& pool, GhostNorms& g, const float* h, int64_t E, const int32_t* ids,
                    const CancelToken* cancel, F dz_of) {
  const std::vector<int64_t>& seg = g.row_off;
  const int64_t n_seq = n_seq_of(seg);
  g.head_in = h;
  g.head_dim = E;
  g.dz_off.assign(n_seq + 1, 0);
  for (int64_t s = 0; s < n_seq; ++s)
    g.dz_off[s + 1] = g.dz_off[s] + (seg[s + 1] - seg[s]) * (g.tok_off[s + 1] - g.tok_off[s]);
  grow(g.dz, g.dz_off[n_seq]);
  pool.parallel_for(n_seq, 1, [&](int64_t s0, int64_t s1, int) {
    for (int64_t s = s0; s < s1; ++s) {
      const int64_t Ts = g.tok_off[s + 1] - g.tok_off[s];
      for (int64_t r = seg[s]; r < seg[s + 1]; ++r) {
        check_cancel(cancel);
        for (int64_t t = 0; t < Ts; ++t)
          g.dz[g.dz_off[s] + (r - seg[s]) * Ts + t] = static_cast<float>(dz_of(r, ids[g.tok_off[s] + t]));
      }
    }
  });
}

}  // namespace

void ghost_linear(ThreadPool& pool, GemmWorkspace& ws, GhostNorms& g, const std::vector<int64_t>& seg, const float* X,
                  int64_t ldx, const float* dY, int64_t ldy, int64_t N, int64_t K, bool weight, bool bias) {
  for (int64_t s = 0; s < n_seq_of(seg); ++s) {
    const int64_t t0 = seg[s], Ts = seg[s + 1] - seg[s];
    if (Ts == 0) continue;
    const float *x = X + t0 * ldx, *dy = dY + t0 * ldy;
    if (bias) {
      g.acc.assign(N, 0.0);
      for (int64_t t = 0; t < Ts; ++t)
        for (int64_t n = 0; n < N; ++n) g.acc[n] += dy[t * ldy + n];
      double b2 = 0;
      for (int64_t n = 0; n < N; ++n) b2 += g.acc[n] * g.acc[n];
      g.sq[s] += b2;
    }
    if (!weight) continue;
    const bool expl = g.mode == GhostMode::kExplicit || (g.mode == GhostMode::kAuto && N * K < Ts * Ts);
    if (expl) {
      // G_s (N, K) = dY_sᵀ·X_s, then its Frobenius norm
      grow(g.s1, Ts * N);
      grow(g.s2, N * K);
      transpose(pool, Ts, N, dy, ldy, g.s1.data());
      linear(pool, ws, N, K, Ts, g.s1.data(), Ts, Weight{x, DType::F32, WLayout::InOut, ldx}, nullptr, g.s2.data(), K,
             false);
      g.sq[s] += sum_product(g.s2.data(), g.s2.data(), N * K);
    } else {
      // Σ_{t,t'} (x_t·x_t')(dy_t·dy_t'): two (Ts, Ts) Gram matrices
      grow(g.s1, Ts * Ts);
      grow(g.s2, Ts * Ts);
      gram(pool, ws, Ts, K, x, ldx, g.s1.data());
      gram(pool, ws, Ts, N, dy, ldy, g.s2.data());
      g.sq[s] += sum_product(g.s1.data(), g.s2.data(), Ts * Ts);
    }
  }
}

void ghost_norm(ThreadPool& pool, GhostNorms& g, const std::vector<int64_t>& seg, int64_t n, const float* x,
                int64_t ldx, double eps, bool rms, const float* dy, int64_t ldy, bool weight, bool bias,
                int64_t heads) {
  if (!weight && !bias) return;
  const int64_t n_seq = n_seq_of(seg);
  std::vector<double> add(n_seq, 0.0);
  pool.parallel_for(n_seq, 1, [&](int64_t s0, int64_t s1, int) {
    std::vector<double> dw(n), db(n), xh(n);
    for (int64_t s = s0; s < s1; ++s) {
      std::fill(dw.begin(), dw.end(), 0.0);
      std::fill(db.begin(), db.end(), 0.0);
      for (int64_t row = seg[s] * heads; row < seg[s + 1] * heads; ++row) {
        const int64_t t = row / heads, h = row % heads;
        const float *xr = x + t * ldx + h * n, *gr = dy + t * ldy + h * n;
        // the row's statistics as the forward's and the backward's kernels take them (double)
        double mu = 0, v = 0;
        if (!rms) {
          for (int64_t i = 0; i < n; ++i) mu += xr[i];
          mu /= n;
        }
        for (int64_t i = 0; i < n; ++i) v += (xr[i] - mu) * (xr[i] - mu);
        const double rs = 1.0 / std::sqrt(v / n + eps);
        for (int64_t i = 0; i < n; ++i) {
          dw[i] += static_cast<double>(gr[i]) * (xr[i] - mu) * rs;
          db[i] += gr[i];
        }
      }
      double a = 0;
      for (int64_t i = 0; i < n; ++i) a += (weight ? dw[i] * dw[i] : 0.0) + (bias ? db[i] * db[i] : 0.0);
      add[s] = a;
    }
  });
  for (int64_t s = 0; s < n_seq; ++s) g.sq[s] += add[s];
}

void ghost_head(ThreadPool& pool, GemmWorkspace& ws, GhostNorms& g, const float* h, int64_t R, int64_t E,
                const float* head, int64_t V, const int32_t* labels, const float* coef, const float* lse,
                const int32_t* ids, bool weight, const CancelToken* cancel) {
  const std::vector<int64_t>& seg = g.row_off;
  const int64_t n_seq = n_seq_of(seg);
  if (g.tied)
    record_tied_dz(pool, g, h, E, ids, cancel, [&](int64_t r, int32_t v) {
      const double z = sum_product(h + r * E, head + static_cast<int64_t>(v) * E, E);
      return coef[r] * (std::exp(z - lse[r]) - (v == labels[r] ? 1.0 : 0.0));
    });
  if (!weight || R == 0) return;
  // per sequence: the dz Gram (R_s, R_s) summed over vocabulary tiles, then ⟨it, h_s·h_sᵀ⟩
  constexpr int64_t kTile = 2048;
  std::vector<int64_t> goff(n_seq + 1, 0);
  for (int64_t s = 0; s < n_seq; ++s) goff[s + 1] = goff[s] + (seg[s + 1] - seg[s]) * (seg[s + 1] - seg[s]);
  grow(g.s3, goff[n_seq]);
  std::fill_n(g.s3.data(), goff[n_seq], 0.f);
  grow(g.s1, R * kTile);
  float* z = g.s1.data();
  for (int64_t v0 = 0; v0 < V; v0 += kTile) {
    const int64_t n = std::min(kTile, V - v0);
    linear(pool, ws, R, n, E, h, E, Weight{head + v0 * E, DType::F32, WLayout::OutIn, E}, nullptr, z, n, false, cancel);
    pool.parallel_for(R, 8, [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r) {
        float* zr = z + r * n;
        for (int64_t j = 0; j < n; ++j) zr[j] = coef[r] * std::exp(zr[j] - lse[r]);
        if (labels[r] >= v0 && labels[r] < v0 + n) zr[labels[r] - v0] -= coef[r];
      }
    });
    for (int64_t s = 0; s < n_seq; ++s) {
      const int64_t Rs = seg[s + 1] - seg[s];
      if (Rs == 0) continue;
      const float* dz = z + seg[s] * n;
      linear(pool, ws, Rs, Rs, n, dz, n, Weight{dz, DType::F32, WLayout::OutIn, n}, nullptr, g.s3.data() + goff[s], Rs,
             true, cancel);
    }
  }
  for (int64_t s = 0; s < n_seq; ++s) {
    const int64_t Rs = seg[s + 1] - seg[s];
    if (Rs == 0) continue;
    grow(g.s2, Rs * Rs);
    gram(pool, ws, Rs, E, h + seg[s] * E, E, g.s2.data());
    g.sq[s] += sum_product(g.s3.data() + goff[s], g.s2.data(), Rs * Rs);
  }
}

void ghost_head_candidates(ThreadPool& pool, GhostNorms& g, const float* h, int64_t R, int64_t E, const float* dz,
                           const int32_t* cands, int64_t K, const int32_t* ids, bool weight,
                           const CancelToken* cancel) {
  if (g.tied)
    record_tied_dz(pool, g, h, E, ids, cancel, [&](int64_t r, int32_t v) -> double {
      // a logit outside the candidates is not in the loss: its gradient is zero
      for (int64_t k = 0; k < K; ++k)
        if (cands[k] == v) return dz[r * K + k];
      return 0.0;
    });
  if (!weight || R == 0) return;
  // per sequence the (K, E) gradient Σ_r dz_r h_rᵀ itself: K is a handful of label words
  const std::vector<int64_t>& seg = g.row_off;
  const int64_t n_seq = n_seq_of(seg);
  std::vector<double> add(n_seq, 0.0);
  pool.parallel_for(n_seq, 1, [&](int64_t s0, int64_t s1, int) {
    std::vector<double> G(K * E);
    for (int64_t s = s0; s < s1; ++s) {
      std::fill(G.begin(), G.end(), 0.0);
      for (int64_t r = seg[s]; r < seg[s + 1]; ++r)
        for (int64_t k = 0; k < K; ++k) {
          const double d = dz[r * K + k];
          for (int64_t e = 0; e < E; ++e) G[k * E + e] += d * h[r * E + e];
        }
      double a = 0;
      for (const double x : G) a += x * x;
      add[s] = a;
    }
  });
  for (int64_t s = 0; s < n_seq; ++s) g.sq[s] += add[s];
}

void ghost_embedding(ThreadPool& pool, GhostNorms& g, const int32_t* ids, const float* dout, int64_t dim,
                     bool tied_head, const CancelToken* cancel) {
  const std::vector<int64_t>& seg = g.tok_off;
  const int64_t n_seq = n_seq_of(seg);
  std::vector<double> add(n_seq, 0.0);
  pool.parallel_for(n_seq, 1, [&](int64_t s0, int64_t s1, int) {
    for (int64_t s = s0; s < s1; ++s) {
      const int64_t a = seg[s], b = seg[s + 1];
      double q = 0;
      for (int64_t t = a; t < b; ++t) {
        check_cancel(cancel);
        for (int64_t u = t; u < b; ++u)
          if (ids[t] == ids[u]) q += (u == t ? 1.0 : 2.0) * sum_product(dout + t * dim, dout + u * dim, dim);
      }
      if (tied_head && g.tied) {
        const int64_t Ts = b - a;
        double c = 0;
        for (int64_t r = g.row_off[s]; r < g.row_off[s + 1]; ++r) {
          check_cancel(cancel);
          for (int64_t t = 0; t < Ts; ++t) {
            const float dz = g.dz[g.dz_off[s] + (r - g.row_off[s]) * Ts + t];
            if (dz != 0.f) c += dz * sum_product(g.head_in + r * g.head_dim, dout + (a + t) * dim, dim);
          }
        }
        q += 2.0 * c;
      }
      add[s] = q;
    }
  });
  for (int64_t s = 0; s < n_seq; ++s) g.sq[s] += add[s];
}

}  // namespace cpu
}  // namespace dpzo
