// defines: layer_norm, rms_norm (see norms.h). One row per step; a row's
// result never depends on the others.
#include "cpu/norms.h"

#include <cmath>
#include <vector>

#include "cpu/gemm.h"

namespace dpzo {
namespace cpu {

void layer_norm(ThreadPool& pool, int64_t rows, int64_t n, const float* x, int64_t ldx, const void* w, const void* b,
                DType dtype, double eps, float* out, int64_t ldo) {
  std::vector<float> wf(n), bf(n, 0.f);
  convert_row(w, dtype, n, wf.data());
  if (b) convert_row(b, dtype, n, bf.data());
  pool.parallel_for(rows, 16, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * ldx;
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += xr[i];
      const double mean = s / n;
      double v = 0;
      for (int64_t i = 0; i < n; ++i) v += (xr[i] - mean) * (xr[i] - mean);
      const float m = static_cast<float>(mean);
      const float rstd = static_cast<float>(1.0 / std::sqrt(v / n + eps));
      float* o = out + r * ldo;
      for (int64_t i = 0; i < n; ++i) o[i] = (xr[i] - m) * rstd * wf[i] + bf[i];
    }
  });
}

void rms_norm(ThreadPool& pool, int64_t rows, int64_t n, const float* x, int64_t ldx, const void* w, DType dtype,
              double eps, float* out, int64_t ldo, int64_t heads) {
  std::vector<float> wf(n);
  convert_row(w, dtype, n, wf.data());
  pool.parallel_for(rows, 16, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t h = 0; h < heads; ++h) {
        const float* xr = x + r * ldx + h * n;
        double s = 0;
        for (int64_t i = 0; i < n; ++i) s += static_cast<double>(xr[i]) * xr[i];
        const float rstd = static_cast<float>(1.0 / std::sqrt(s / n + eps));
        float* o = out + r * ldo + h * n;
        for (int64_t i = 0; i < n; ++i) o[i] = xr[i] * rstd * wf[i];
      }
  });
}

}  // namespace cpu
}  // namespace dpzo
