// defines: scale_segments (dpzo/perturb.h): θ ← factor·θ over segments, the
// decoupled weight-decay pass. One multiply and one rounding per element, so
// every thread split gives the same bits.
#include <algorithm>

#include "cpu/perturb_kernels.h"
#include "dpzo/errors.h"
#include "dpzo/perturb.h"

namespace dpzo {

void scale_segments(const std::vector<Segment>& segs, float factor, ThreadPool& pool) {
  struct Task {
    const Segment* seg;
    int64_t begin, end;
  };
  constexpr int64_t kChunk = int64_t{1} << 16;
  std::vector<Task> tasks;
  for (const Segment& seg : segs) {
    if (!seg.decay) continue;  // biases and norm weights are never decayed
    if (!seg.data || seg.count < 0) throw Error(err::kArgument, "scale_segments: bad segment");
    for (int64_t e = 0; e < seg.count; e += kChunk) tasks.push_back({&seg, e, std::min(seg.count, e + kChunk)});
  }
  pool.run(static_cast<int64_t>(tasks.size()), [&](int64_t t, int) {
    const Task& task = tasks[t];
    const Segment& s = *task.seg;
    if (s.dtype == DType::F32) {
      float* p = static_cast<float*>(s.data);
      for (int64_t i = task.begin; i < task.end; ++i) p[i] *= factor;  // vectorised by the compiler
      return;
    }
    for (int64_t i = task.begin; i < task.end; ++i)
      perturb_detail::store_elem(s.data, s.dtype, i, perturb_detail::load_elem(s.data, s.dtype, i) * factor);
  });
}

}  // namespace dpzo
