// defines: VirtualRows::point_of, values_at, values_at_all (cpu/virtual_point.h).
#include "cpu/virtual_point.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "cpu/gemm_ops.h"
#include "dpzo/errors.h"
#include "dpzo/perturb.h"

namespace dpzo {
namespace cpu {

int VirtualRows::point_of(int64_t row) const {
  const auto it = std::upper_bound(bounds.begin(), bounds.end(), row);
  return static_cast<int>(it - bounds.begin()) - 1;
}

void values_at(const void* src, DType dt, uint64_t g, int64_t n, const VirtualSet& vs, int p, float* out) {
  gemm_ops().convert(src, dt, n, out);
  const auto& s = vs.point_seeds[p];
  if (!s.empty()) add_directions_f32(out, g, n, s.data(), vs.point_coeffs[p].data(), static_cast<int>(s.size()));
}

void directions_rows_of(const VirtualSet& vs, uint64_t g, uint64_t g_stride, int64_t n, int64_t rows, float* out,
                        int64_t row_stride, int64_t seed_stride) {
  // 0 + 1·z is exactly z, through the same kernels as the update
  const float one = 1.0f;
  for (size_t s = 0; s < vs.seeds.size(); ++s)
    sum_directions_rows_f32(out + static_cast<int64_t>(s) * seed_stride, row_stride, g, g_stride, n, rows, &vs.seeds[s],
                            &one, 1);
}

void directions_of(const VirtualSet& vs, uint64_t g, int64_t n, float* zbuf) {
  directions_rows_of(vs, g, 0, n, 1, zbuf, n, n);
}

void values_at_all(const void* src, DType dt, uint64_t g, int64_t n, const VirtualSet& vs, float* const* outs,
                   float* zbuf) {
  const GemmOps& ops = gemm_ops();
  if (vs.size() == 1) return values_at(src, dt, g, n, vs, 0, outs[0]);
  directions_of(vs, g, n, zbuf);  // z of each distinct seed once
  // the stored values widened once, then every point from them: the chain of the GEMM panels
  ops.convert(src, dt, n, outs[0]);
  ops.points(n, outs[0], vs, zbuf, n, outs);
}

}  // namespace cpu
}  // namespace dpzo
