// defines: axpy_directions, fill_direction, direction_isa (dpzo/perturb.h)
// and the scalar reference kernel axpy_run_scalar that the SIMD kernels must
// match bit for bit. (Model::perturb/update live in core/model.cpp.)
#include "dpzo/perturb.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "cpu/cpu_features.h"
#include "cpu/perturb_kernels.h"
#include "dpzo/errors.h"
#include "dpzo/philox.h"

namespace dpzo {
namespace perturb_detail {

void axpy_run_scalar(void* data, DType dt, uint64_t g, int64_t n, const uint64_t* seeds, const float* coeffs,
                     int n_pairs, float factor, const uint64_t* round_key) {
  int64_t i = 0;
  while (i < n) {
    // the Philox block holding g+i, and the part of it inside this run
    const uint64_t b = (g + i) >> 2;
    const int j0 = static_cast<int>((g + i) & 3u);
    const int64_t take = std::min<int64_t>(4 - j0, n - i);
    float acc[4];
    for (int64_t t = 0; t < take; ++t) acc[t] = load_elem(data, dt, i + t);
    for (int k = 0; k < n_pairs; ++k) {
      float z[4];
      direction_block(seeds[k], b, z);
      for (int64_t t = 0; t < take; ++t) acc[t] = fma32(coeffs[k], z[j0 + t], acc[t]);
    }
    if (factor != 1.0f)
      for (int64_t t = 0; t < take; ++t) acc[t] = mul32(acc[t], factor);
    for (int64_t t = 0; t < take; ++t) store_elem_sr(data, dt, i + t, acc[t], round_key, g + i + t);
    i += take;
  }
}

void sum_rows_scalar(float* x, int64_t stride, uint64_t g, uint64_t g_stride, int64_t n, int64_t rows,
                     const uint64_t* seeds, const float* coeffs, int n_pairs) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * stride;
    std::fill(row, row + n, 0.0f);
    axpy_run_scalar(row, DType::F32, g + r * g_stride, n, seeds, coeffs, n_pairs, 1.0f, nullptr);
  }
}

}  // namespace perturb_detail

namespace {

using perturb_detail::axpy_run_avx2;
using perturb_detail::axpy_run_avx512;
using perturb_detail::axpy_run_scalar;

using RunFn = void (*)(void*, DType, uint64_t, int64_t, const uint64_t*, const float*, int, float, const uint64_t*);

using RowsFn = void (*)(float*, int64_t, uint64_t, uint64_t, int64_t, int64_t, const uint64_t*, const float*, int);

// The active ISA's kernels: the axpy over runs and the row writer of the virtual GEMM.
struct Kernels {
  RunFn run;
  RowsFn rows;
};

Kernels select_kernels() {
  switch (active_isa()) {
    case Isa::Avx512:
      return {axpy_run_avx512, perturb_detail::sum_rows_avx512};
    case Isa::Avx2:
      return {axpy_run_avx2, perturb_detail::sum_rows_avx2};
    default:
      return {axpy_run_scalar, perturb_detail::sum_rows_scalar};
  }
}

RunFn select_kernel() { return select_kernels().run; }

// Work is cut at global indices that are multiples of kChunk (a multiple of
// every kernel's group width), so a Philox block is never split between tasks.
constexpr int64_t kChunk = int64_t{1} << 16;

struct Task {
  const Segment* seg;
  int64_t begin, end;  // element range within the segment
};

}  // namespace

void axpy_directions(const std::vector<Segment>& segs, const uint64_t* seeds, const float* coeffs, int n_pairs,
                     ThreadPool& pool, float decay, const uint64_t* round_key) {
  if (n_pairs < 0) throw Error(err::kArgument, "axpy_directions: negative number of (seed, coeff) pairs");
  if (n_pairs > 0 && (!seeds || !coeffs)) throw Error(err::kArgument, "axpy_directions: seeds/coeffs pointer is null");
  // zero coefficients contribute nothing: drop them; a non-finite one would destroy the weights
  std::vector<uint64_t> s;
  std::vector<float> c;
  for (int k = 0; k < n_pairs; ++k) {
    if (!std::isfinite(coeffs[k]))
      throw Error(err::kArgument, "axpy_directions: coefficient " + std::to_string(k) + " (seed " +
                                      std::to_string(seeds[k]) + ") is not finite");
    if (coeffs[k] != 0.0f) {
      s.push_back(seeds[k]);
      c.push_back(coeffs[k]);
    }
  }
  if (!std::isfinite(decay) || !(decay > 0.0f) || decay > 1.0f)
    throw Error(err::kArgument, "axpy_directions: decay factor must be in (0, 1]");
  const bool decays = decay != 1.0f;
  if (s.empty() && !decays) return;
  std::vector<Task> tasks;
  for (const Segment& seg : segs) {
    if (seg.count < 0) throw Error(err::kArgument, "axpy_directions: segment with negative count");
    if (seg.count == 0) continue;
    if (s.empty() && !seg.decay) continue;  // nothing to add and nothing to decay
    if (!seg.data) throw Error(err::kArgument, "axpy_directions: segment data is null");
    if (seg.dtype != DType::F32 && seg.dtype != DType::F16 && seg.dtype != DType::BF16)
      throw Error(err::kDtype, "axpy_directions: unsupported segment dtype");
    if (seg.g0 + static_cast<uint64_t>(seg.count) < seg.g0)
      throw Error(err::kArgument, "axpy_directions: segment global indices overflow 2^64");
    int64_t e = 0;
    while (e < seg.count) {
      const uint64_t g = seg.g0 + static_cast<uint64_t>(e);
      const int64_t to_boundary = static_cast<int64_t>(kChunk - (g % kChunk));
      const int64_t len = std::min(to_boundary, seg.count - e);
      tasks.push_back({&seg, e, e + len});
      e += len;
    }
  }
  const RunFn run = select_kernel();
  const int n = static_cast<int>(s.size());
  pool.run(static_cast<int64_t>(tasks.size()), [&](int64_t t, int) {
    const Task& task = tasks[t];
    const Segment& seg = *task.seg;
    run(perturb_detail::elem_ptr(seg.data, seg.dtype, task.begin), seg.dtype,
        seg.g0 + static_cast<uint64_t>(task.begin), task.end - task.begin, s.data(), c.data(), n,
        seg.decay ? decay : 1.0f, round_key);
  });
}

void add_directions_f32(float* x, uint64_t g, int64_t n, const uint64_t* seeds, const float* coeffs, int n_pairs) {
  static const RunFn run = select_kernel();
  if (n > 0 && n_pairs > 0) run(x, DType::F32, g, n, seeds, coeffs, n_pairs, 1.0f, nullptr);
}

void sum_directions_rows_f32(float* x, int64_t stride, uint64_t g, uint64_t g_stride, int64_t n, int64_t rows,
                             const uint64_t* seeds, const float* coeffs, int n_pairs) {
  static const RowsFn run = select_kernels().rows;
  if (n > 0 && rows > 0) run(x, stride, g, g_stride, n, rows, seeds, coeffs, n_pairs);
}

void fill_direction(uint64_t seed, uint64_t g0, int64_t count, float* out) {
  if (count < 0) throw Error(err::kArgument, "fill_direction: negative count");
  if (count == 0) return;
  if (!out) throw Error(err::kArgument, "fill_direction: output is null");
  if (g0 + static_cast<uint64_t>(count) < g0)
    throw Error(err::kArgument, "fill_direction: global indices g0 + count overflow 2^64");
  // 0 + 1·z is exactly z, through the same kernels as the weights
  const float one = 1.0f;
  sum_directions_rows_f32(out, count, g0, 0, count, 1, &seed, &one, 1);
}

const char* direction_isa() { return isa_name(active_isa()); }

}  // namespace dpzo
