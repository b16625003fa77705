// defines: VirtualRows (which rows of a product see which point) and values_at /
// values_at_all (a run of stored weights read at a point as float32). The forward never writes θ: every
// kernel that loads a trainable weight reads it through these. Internal to cpu/.
#pragma once
#include <cstdint>
#include <vector>

#include "dpzo/dtype.h"
#include "dpzo/forward.h"
#include "dpzo/virtual_set.h"

namespace dpzo {
namespace cpu {

// The points of one forward live in the core (dpzo/virtual_set.h), shared with the CUDA backend.
using dpzo::kMaxVirtualPoints;
using dpzo::make_virtual_set;
using dpzo::VirtualSet;

// Rows of a product split among the points: rows [bounds[p], bounds[p+1]) are evaluated at set->terms[p].
struct VirtualRows {
  const VirtualSet* set = nullptr;
  std::vector<int64_t> bounds;

  int groups() const { return static_cast<int>(bounds.size()) - 1; }
  int point_of(int64_t row) const;
};

// out[i] = fl(w[i] + Σ_k c_k·z(s_k, g + i)) at point p, i < n (src: n stored values of `dt`), k in the
// point's order: the float32 value the in-place perturb would store in an F32 model.
void values_at(const void* src, DType dt, uint64_t g, int64_t n, const VirtualSet& vs, int p, float* out);

// z(s, g + i) for every distinct seed s of `vs`, i < n: zbuf[s·n + i].
void directions_of(const VirtualSet& vs, uint64_t g, int64_t n, float* zbuf);

// The same over `rows` runs, run r starting at global index g + r·g_stride:
// out[s·seed_stride + r·row_stride + i] = z(s, g + r·g_stride + i), one kernel entry per seed.
void directions_rows_of(const VirtualSet& vs, uint64_t g, uint64_t g_stride, int64_t n, int64_t rows, float* out,
                        int64_t row_stride, int64_t seed_stride);

// The same at every point of `vs` at once: outs[p][i]. The directions are generated once per distinct seed
// into `zbuf` (n·vs.seeds.size() floats), then each point is one fma per pair over them.
void values_at_all(const void* src, DType dt, uint64_t g, int64_t n, const VirtualSet& vs, float* const* outs,
                   float* zbuf);

}  // namespace cpu
}  // namespace dpzo
