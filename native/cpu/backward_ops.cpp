// defines: rms_norm_backward, layer_norm_backward, activation_backward, swiglu_backward,
// embedding_backward (see backward_ops.h). Row statistics in double, as the forward (cpu/norms.cpp).
#include "cpu/backward_ops.h"

#include <algorithm>
#include <cmath>

namespace dpzo {
namespace cpu {

namespace {
template <class T>
void grow(std::vector<T>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(n);
}
}  // namespace

void rms_norm_backward(ThreadPool& pool, int64_t rows, int64_t n, const float* x, int64_t ldx, const float* w,
                       double eps, const float* dy, int64_t ldy, float* dx, int64_t lddx, float* dw,
                       std::vector<float>& scratch, int64_t heads) {
  grow(scratch, rows * heads);
  float* rstd = scratch.data();
  pool.parallel_for(rows, 16, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t h = 0; h < heads; ++h) {
        const float* xr = x + r * ldx + h * n;
        const float* g = dy + r * ldy + h * n;
        double s = 0, dot = 0;  // Σ x², Σ w·dy·x
        for (int64_t i = 0; i < n; ++i) {
          s += static_cast<double>(xr[i]) * xr[i];
          dot += static_cast<double>(w[i]) * g[i] * xr[i];
        }
        const double rs = 1.0 / std::sqrt(s / n + eps);
        rstd[r * heads + h] = static_cast<float>(rs);
        // ∂/∂x_i of x_i·rs: rs·(w_i dy_i) − x_i·rs³·(Σ_j w_j dy_j x_j)/n
        const float a = static_cast<float>(rs), c = static_cast<float>(rs * rs * rs * dot / n);
        float* o = dx + r * lddx + h * n;
        for (int64_t i = 0; i < n; ++i) o[i] += a * w[i] * g[i] - c * xr[i];
      }
  });
  if (!dw) return;
  pool.parallel_for(n, 64, [&](int64_t i0, int64_t i1, int) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = i0; i < i1; ++i)
          dw[i] += dy[r * ldy + h * n + i] * x[r * ldx + h * n + i] * rstd[r * heads + h];
  });
}

void layer_norm_backward(ThreadPool& pool, int64_t rows, int64_t n, const float* x, int64_t ldx, const float* w,
                         double eps, const float* dy, int64_t ldy, float* dx, int64_t lddx, float* dw, float* db,
                         std::vector<float>& scratch) {
  grow(scratch, 2 * rows);
  float *mean = scratch.data(), *rstd = mean + rows;
  pool.parallel_for(rows, 16, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * ldx;
      const float* g = dy + r * ldy;
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += xr[i];
      const double mu = s / n;
      double v = 0;
      for (int64_t i = 0; i < n; ++i) v += (xr[i] - mu) * (xr[i] - mu);
      const double rs = 1.0 / std::sqrt(v / n + eps);
      mean[r] = static_cast<float>(mu);
      rstd[r] = static_cast<float>(rs);
      // with x̂ = (x − μ)·rs and ĝ = w·dy: dx = rs·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))
      double sg = 0, sgx = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double gh = static_cast<double>(w[i]) * g[i], xh = (xr[i] - mu) * rs;
        sg += gh;
        sgx += gh * xh;
      }
      const double mg = sg / n, mgx = sgx / n;
      float* o = dx + r * lddx;
      for (int64_t i = 0; i < n; ++i) {
        const double xh = (xr[i] - mu) * rs;
        o[i] += static_cast<float>(rs * (static_cast<double>(w[i]) * g[i] - mg - xh * mgx));
      }
    }
  });
  if (!dw && !db) return;
  pool.parallel_for(n, 64, [&](int64_t i0, int64_t i1, int) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = i0; i < i1; ++i) {
        const float g = dy[r * ldy + i];
        if (dw) dw[i] += g * (x[r * ldx + i] - mean[r]) * rstd[r];
        if (db) db[i] += g;
      }
  });
}

void activation_backward(ThreadPool& pool, Activation act, const float* pre, float* d, int64_t n) {
  pool.parallel_for(n, 1 << 14, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      const double x = pre[i];
      double g = 0;
      switch (act) {
        case Activation::GELU_TANH: {
          // y = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³)
          const double k = 0.7978845608028654, u = k * (x + 0.044715 * x * x * x), th = std::tanh(u);
          g = 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * k * (1 + 3 * 0.044715 * x * x);
          break;
        }
        case Activation::GELU:  // y = xΦ(x): Φ(x) + xφ(x)
          g = 0.5 * (1 + std::erf(x * 0.7071067811865476)) + x * 0.3989422804014327 * std::exp(-0.5 * x * x);
          break;
        case Activation::RELU:
          g = x > 0 ? 1 : 0;
          break;
        case Activation::SILU: {
          const double sg = 1 / (1 + std::exp(-x));
          g = sg * (1 + x * (1 - sg));
          break;
        }
      }
      d[i] = static_cast<float>(d[i] * g);
    }
  });
}

void swiglu_backward(ThreadPool& pool, const float* gate, const float* up, const float* dy, float* dgate, float* dup,
                     int64_t n) {
  pool.parallel_for(n, 1 << 14, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      const float x = gate[i], sg = 1.f / (1.f + std::exp(-x));
      dup[i] = dy[i] * x * sg;
      dgate[i] = dy[i] * up[i] * sg * (1.f + x * (1.f - sg));
    }
  });
}

void embedding_backward(ThreadPool& pool, const int32_t* ids, int64_t T, int64_t offset, const float* dout, int64_t dim,
                        float* dtable) {
  // columns split over threads, rows in order: repeated ids add in a fixed order without races
  pool.parallel_for(dim, 64, [&](int64_t i0, int64_t i1, int) {
    for (int64_t t = 0; t < T; ++t) {
      float* row = dtable + (static_cast<int64_t>(ids[t]) + offset) * dim;
      for (int64_t i = i0; i < i1; ++i) row[i] += dout[t * dim + i];
    }
  });
}

}  // namespace cpu
}  // namespace dpzo
