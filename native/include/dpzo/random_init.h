// defines: the random initialisation of a model built from config.json alone (LoadOptions::random_init,
// `dpzo bench --random-init`), one formula for the host and the device (__host__ __device__ through
// DPZO_HD), so a CPU and a CUDA model built with the same seed hold the same bits:
//   matrices (rank ≥ 2, embeddings included): w = 0.02·z(seed, i), z the Philox direction of
//     dpzo/philox.h, i the element's index in the concatenation of all tensors in canonical order
//     (dtype-independent); GPT-2/OPT's N(0, 0.02²) init (Radford et al. 2019; Zhang et al. 2022);
//   1-D tensors named *.weight (LayerNorm/RMSNorm gains): 1;  1-D others (biases): 0.
// Stored in the model's dtype rounded to nearest. Meant for timing and memory, not for training.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "dpzo/dtype.h"
#include "dpzo/philox.h"

namespace dpzo {

enum class InitKind : int { kNormal = 0, kOnes = 1, kZeros = 2 };

constexpr float kInitStd = 0.02f;

inline InitKind init_kind(const std::string& name, const std::vector<int64_t>& shape) {
  if (shape.size() >= 2) return InitKind::kNormal;
  const std::string w = ".weight";
  const bool gain = name.size() >= w.size() && name.compare(name.size() - w.size(), w.size(), w) == 0;
  return gain ? InitKind::kOnes : InitKind::kZeros;
}

// The float32 values of elements 4b .. 4b+3 (global indices over all tensors) of a tensor of kind k: one
// Philox call serves the four (the CUDA kernel's unit of work).
DPZO_HD void init_block(InitKind k, uint64_t seed, uint64_t b, float v[4]) {
  if (k != InitKind::kNormal) {
    for (int j = 0; j < 4; ++j) v[j] = k == InitKind::kOnes ? 1.0f : 0.0f;
    return;
  }
  direction_block(seed, b, v);
  for (int j = 0; j < 4; ++j) v[j] = mul32(kInitStd, v[j]);
}

// The float32 value of element i (global index over all tensors) of a tensor of kind k.
DPZO_HD float init_value(InitKind k, uint64_t seed, uint64_t i) {
  float v[4];
  init_block(k, seed, i >> 2, v);
  return v[i & 3];
}

// n elements from global index i0 into dst (dtype dt), rounded to nearest.
inline void init_fill_host(InitKind k, uint64_t seed, uint64_t i0, int64_t n, DType dt, void* dst) {
  for (int64_t e = 0; e < n; ++e) {
    const float v = init_value(k, seed, i0 + static_cast<uint64_t>(e));
    if (dt == DType::F32)
      static_cast<float*>(dst)[e] = v;
    else
      static_cast<uint16_t*>(dst)[e] = dt == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
  }
}

}  // namespace dpzo
