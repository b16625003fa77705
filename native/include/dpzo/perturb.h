// defines: the seeded-direction kernels of the CPU backend (cpu/perturb.cpp).
// z(seed, g) is ARCHITECTURE §2's Philox4x32-10 + Box-Muller direction, a
// function of (seed, global index g) only.
#pragma once
#include <cstdint>
#include <vector>

#include "dpzo/dtype.h"
#include "dpzo/thread_pool.h"

namespace dpzo {

// How an update of F16/BF16 weights rounds (F32 always rounds to nearest).
enum class Rounding { kNearest, kStochastic };

// A run of trainable elements: `count` values of `dtype` at `data`, whose
// first element has global index `g0`. `decay`: the segment takes decoupled
// weight decay (a weight matrix; biases and norm weights never do).
struct Segment {
  void* data;
  DType dtype;
  int64_t count;
  uint64_t g0;
  bool decay = false;
};

// θ[g] ← f·(θ[g] + Σ_k coeffs[k] · z(seeds[k], g)) for every element of every
// segment, one pass over memory, with f = `decay` on segments marked decay and
// f = 1 (no multiply) elsewhere: the float32 sum (one fma per pair, k
// ascending) is multiplied once by f, then F16/BF16 round on store: to nearest
// even, or stochastically when `round_key` points at a seed (the update's
// first; dpzo/stochastic_round.h), so that updates below half an ulp move the
// weights in expectation instead of vanishing. F32 always rounds to nearest.
// With f = 1 this is the plain axpy; for F32 it equals an axpy followed by a
// separate θ ← f·θ pass. Bitwise independent of the thread count.
void axpy_directions(const std::vector<Segment>& segs, const uint64_t* seeds, const float* coeffs, int n_pairs,
                     ThreadPool& pool, float decay = 1.0f, const uint64_t* round_key = nullptr);

// θ ← factor·θ for every element of every segment marked decay (decoupled weight decay);
// F16/BF16 rounded to nearest even on store. Bitwise independent of threads.
void scale_segments(const std::vector<Segment>& segs, float factor, ThreadPool& pool);

// x[i] += Σ_k coeffs[k]·z(seeds[k], g + i) for i < n on float32 x, one fma per pair (k ascending), on the
// calling thread: the virtual-point reads of the forward (cpu/virtual_point.cpp). Bitwise what
// axpy_directions stores into an F32 segment; coefficients must be finite and nonzero (not checked here).
void add_directions_f32(float* x, uint64_t g, int64_t n, const uint64_t* seeds, const float* coeffs, int n_pairs);

// x[r·stride + i] = Σ_k coeffs[k]·z(seeds[k], g + r·g_stride + i) for i < n, r < rows: written, not added to,
// the float32 sum started at +0 (the bits of zeroing x and calling add_directions_f32 on each row), on the
// calling thread, with one kernel entry for all rows: the direction panels of the virtual GEMM are many
// short rows (cpu/gemm_impl.h); one call per row cost 16 % more generation time (perf, GPT-2-124M pairs).
void sum_directions_rows_f32(float* x, int64_t stride, uint64_t g, uint64_t g_stride, int64_t n, int64_t rows,
                             const uint64_t* seeds, const float* coeffs, int n_pairs);

// out[i] = z(seed, g0 + i), i < count (for tests and the check driver).
void fill_direction(uint64_t seed, uint64_t g0, int64_t count, float* out);

// Which SIMD path axpy_directions uses on this CPU: "avx512", "avx2" or "scalar".
const char* direction_isa();

}  // namespace dpzo
