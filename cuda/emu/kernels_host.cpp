// defines: the launchers of cuda/kernels.h as plain loops on the host, one loop per kernel, each the
// formula of its .cu kernel (same accumulation order where the kernel has one per thread). Only for
// dpzo_check_emu (cuda/emu/runtime_host.cpp says why); not a CPU backend.
#include <cmath>
#include <vector>

#include "dpzo/block_split.h"
#include "dpzo/config.h"
#include "dpzo/philox.h"
#include "dpzo/random_init.h"
#include "kernels.h"

namespace dpzo {
namespace cuda {
namespace k {
namespace {

float at_point(float v, uint64_t g, const uint64_t* seeds, const float* coeffs, int n_pairs) {
  for (int k = 0; k < n_pairs; ++k) {
    float z[4];
    direction_block(seeds[k], g >> 2, z);
    v = fma32(coeffs[k], z[g & 3], v);
  }
  return v;
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }

}  // namespace

void gemm(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, Mat w, Layout layout, Mat bias, float* out,
          int64_t ldo, bool accumulate) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      float acc = 0.0f;
      for (int64_t k = 0; k < K; ++k)
        acc = fma32(a[m * lda + k], load_as_f32(w.data, w.dtype, layout == Layout::InOut ? k * w.ld + n : n * w.ld + k),
                    acc);
      if (bias.data) acc += load_as_f32(bias.data, bias.dtype, n);
      float* o = out + m * ldo + n;
      *o = accumulate ? *o + acc : acc;
    }
}

void embed(const int32_t* ids, int64_t T, int64_t add_offset, Mat table, int64_t dim, float* out, bool accumulate,
           uint64_t g0, const uint64_t* seeds, const float* coeffs, int n_pairs) {
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < dim; ++c) {
      const int64_t e = (static_cast<int64_t>(ids[t]) + add_offset) * dim + c;
      const float v =
          at_point(load_as_f32(table.data, table.dtype, e), g0 + static_cast<uint64_t>(e), seeds, coeffs, n_pairs);
      out[t * dim + c] = accumulate ? out[t * dim + c] + v : v;
    }
}

// As cuda/virtual_point.cu splits the range (dpzo/block_split.h): the head and tail elements one by one,
// the whole blocks in tiles, one direction block per pair and Philox block.
void values_at(const void* src, DType dt, uint64_t g0, int64_t n, const uint64_t* seeds, const float* coeffs,
               int n_pairs, float* out) {
  if (n <= 0) return;
  const BlockSplit sp = split_blocks(g0, n);
  for (int64_t i = 0; i < sp.head; ++i)
    out[i] = at_point(load_as_f32(src, dt, i), g0 + static_cast<uint64_t>(i), seeds, coeffs, n_pairs);
  constexpr int64_t kTileBlocks = 1024;  // the kernel's kThreads × kBlocksPerThread
  for (int64_t t = 0; t < tile_count(sp, kTileBlocks); ++t) {
    const TileRange r = tile_range(sp, kTileBlocks, t);
    for (uint64_t b = r.begin; b < r.end; ++b) {
      const int64_t i = static_cast<int64_t>(4 * b - g0);
      float a[4];
      for (int e = 0; e < 4; ++e) a[e] = load_as_f32(src, dt, i + e);
      for (int k = 0; k < n_pairs; ++k) {
        float z[4];
        direction_block(seeds[k], b, z);
        for (int e = 0; e < 4; ++e) a[e] = fma32(coeffs[k], z[e], a[e]);
      }
      for (int e = 0; e < 4; ++e) out[i + e] = a[e];
    }
  }
  for (int64_t i = n - sp.tail; i < n; ++i)
    out[i] = at_point(load_as_f32(src, dt, i), g0 + static_cast<uint64_t>(i), seeds, coeffs, n_pairs);
}

void rms_norm(int64_t rows, int64_t n, const float* x, int64_t ldx, Mat w, double eps, float* out, int64_t ldo,
              int64_t heads) {
  for (int64_t b = 0; b < rows * heads; ++b) {  // one block per (row, head), as the kernel
    const float* xr = x + (b / heads) * ldx + (b % heads) * n;
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(xr[i]) * xr[i];
    const float rstd = static_cast<float>(1.0 / std::sqrt(s / n + eps));
    float* o = out + (b / heads) * ldo + (b % heads) * n;
    for (int64_t i = 0; i < n; ++i) o[i] = xr[i] * rstd * load_as_f32(w.data, w.dtype, i);
  }
}

void layer_norm(int64_t rows, int64_t n, const float* x, int64_t ldx, Mat w, Mat b, double eps, float* out,
                int64_t ldo) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    double s = 0, v = 0;
    for (int64_t i = 0; i < n; ++i) s += xr[i];
    const double mean = s / n;
    for (int64_t i = 0; i < n; ++i) v += (xr[i] - mean) * (xr[i] - mean);
    const float m = static_cast<float>(mean), rstd = static_cast<float>(1.0 / std::sqrt(v / n + eps));
    for (int64_t i = 0; i < n; ++i) {
      const float y = (xr[i] - m) * rstd * load_as_f32(w.data, w.dtype, i);
      out[r * ldo + i] = b.data ? y + load_as_f32(b.data, b.dtype, i) : y;
    }
  }
}

void rope(float* x, int64_t ld, int64_t T, const int32_t* pos, int64_t col0, int64_t n_heads, int64_t head_dim,
          const float* cos, const float* sin) {
  const int64_t half = head_dim / 2;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < n_heads; ++h)
      for (int64_t i = 0; i < half; ++i) {
        float* a = x + t * ld + col0 + h * head_dim;
        const float c = cos[pos[t] * half + i], s = sin[pos[t] * half + i], ai = a[i], bi = a[i + half];
        a[i] = ai * c - bi * s;
        a[i + half] = bi * c + ai * s;
      }
}

void attention(const float* qkv, const Attention& a, int64_t t0, int64_t T, const int32_t* seq_start, float* out,
               int64_t ldo) {
  std::vector<float> acc(a.head_dim);
  for (int64_t t = t0; t < T; ++t)
    for (int64_t h = 0; h < a.n_heads; ++h) {
      const int64_t kvh = h / (a.n_heads / a.n_kv_heads), dh = a.head_dim;
      const float* q = qkv + t * a.ld + a.q_col + h * dh;
      float run_max = -INFINITY, run_sum = 0.0f;
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t s = seq_start[t]; s <= t; ++s) {
        const float* kr = qkv + s * a.ld + a.k_col + kvh * dh;
        const float* vr = qkv + s * a.ld + a.v_col + kvh * dh;
        float d = 0.0f;
        for (int64_t i = 0; i < dh; ++i) d = fma32(q[i], kr[i], d);
        const float score = d * a.scale, new_max = std::fmax(run_max, score);
        const float corr = std::exp(run_max - new_max), p = std::exp(score - new_max);
        run_sum = fma32(run_sum, corr, p);
        for (int64_t i = 0; i < dh; ++i) acc[i] = fma32(p, vr[i], acc[i] * corr);
        run_max = new_max;
      }
      for (int64_t i = 0; i < dh; ++i) out[(t - t0) * ldo + h * dh + i] = acc[i] / run_sum;
    }
}

void silu_mul(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gate[i] = silu(gate[i]) * up[i];
}

void activate(int act, float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    switch (static_cast<Activation>(act)) {
      case Activation::GELU_TANH:
        x[i] = 0.5f * v * (1.0f + std::tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
        break;
      case Activation::GELU:
        x[i] = 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f));
        break;
      case Activation::RELU:
        x[i] = v > 0.0f ? v : 0.0f;
        break;
      case Activation::SILU:
        x[i] = silu(v);
        break;
    }
  }
}

void gather_rows(const float* src, int64_t lds, const int64_t* which, int64_t R, int64_t n, float* dst) {
  for (int64_t r = 0; r < R; ++r)
    for (int64_t c = 0; c < n; ++c) dst[r * n + c] = src[which[r] * lds + c];
}

void lse_tile(const float* logits, int64_t R, int64_t cols, int64_t v0, const int32_t* labels, float* row_max,
              double* row_sum, float* target, bool first) {
  for (int64_t r = 0; r < R; ++r) {
    const float* z = logits + r * cols;
    float tile_max = -INFINITY;
    for (int64_t i = 0; i < cols; ++i) tile_max = std::fmax(tile_max, z[i]);
    double tile_sum = 0;
    for (int64_t i = 0; i < cols; ++i) tile_sum += std::exp(static_cast<double>(z[i]) - tile_max);
    if (first) {
      row_max[r] = tile_max;
      row_sum[r] = tile_sum;
    } else {
      const float m_new = std::fmax(row_max[r], tile_max);
      row_sum[r] = row_sum[r] * std::exp(static_cast<double>(row_max[r]) - m_new) +
                   tile_sum * std::exp(static_cast<double>(tile_max) - m_new);
      row_max[r] = m_new;
    }
    if (labels[r] >= v0 && labels[r] < v0 + cols) target[r] = z[labels[r] - v0];
  }
}

void lse_finish(const float* row_max, const double* row_sum, const float* target, int64_t R, double* nll) {
  for (int64_t r = 0; r < R; ++r)
    nll[r] = static_cast<double>(row_max[r]) + std::log(row_sum[r]) - static_cast<double>(target[r]);
}

void init_random(void* dst, DType dt, int kind, uint64_t seed, uint64_t first, int64_t n) {
  init_fill_host(static_cast<InitKind>(kind), seed, first, n, dt, dst);
}

}  // namespace k
}  // namespace cuda
}  // namespace dpzo
