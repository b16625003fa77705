// defines: the per-ISA kernels behind axpy_directions (cpu/perturb.cpp).
// A "run" is `n` consecutive elements of one segment, the first with global
// index g; the kernels add Σ_k coeffs[k]·z(seeds[k], g + i) to element i in
// float32 with one fma per pair (k ascending), multiply that sum by `factor`
// when factor != 1 (fused weight decay), then round to the dtype.
// All three produce the same bits; any split of a segment into runs does too.
#pragma once
#include <cstdint>

#include "dpzo/dtype.h"

namespace dpzo {
namespace perturb_detail {

void axpy_run_scalar(void* data, DType dt, uint64_t g, int64_t n, const uint64_t* seeds, const float* coeffs,
                     int n_pairs, float factor);
void axpy_run_avx2(void* data, DType dt, uint64_t g, int64_t n, const uint64_t* seeds, const float* coeffs, int n_pairs,
                   float factor);
void axpy_run_avx512(void* data, DType dt, uint64_t g, int64_t n, const uint64_t* seeds, const float* coeffs,
                     int n_pairs, float factor);

// Element i of a run in float32 / back with round to nearest even (dtype.h).
inline float load_elem(const void* data, DType dt, int64_t i) {
  switch (dt) {
    case DType::F32:
      return static_cast<const float*>(data)[i];
    case DType::F16:
      return f16_to_f32(static_cast<const uint16_t*>(data)[i]);
    default:
      return bf16_to_f32(static_cast<const uint16_t*>(data)[i]);
  }
}
inline void store_elem(void* data, DType dt, int64_t i, float v) {
  switch (dt) {
    case DType::F32:
      static_cast<float*>(data)[i] = v;
      break;
    case DType::F16:
      static_cast<uint16_t*>(data)[i] = f32_to_f16(v);
      break;
    default:
      static_cast<uint16_t*>(data)[i] = f32_to_bf16(v);
      break;
  }
}
inline void* elem_ptr(void* data, DType dt, int64_t i) { return static_cast<char*>(data) + i * dtype_size(dt); }

}  // namespace perturb_detail
}  // namespace dpzo
