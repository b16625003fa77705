// defines: RopeScaling (a config's rope_scaling / rope_parameters rescaling of the frequencies) and RopeTable —
// cos/sin of p·inv_freq_i, inv_freq_i = θ^(−2i/d) rescaled, computed in double and stored as float32: the one
// table both backends rotate by (the CPU's apply_rope and the CUDA RoPE kernel), so they agree bit for bit.
#pragma once
#include <cstdint>
#include <vector>

namespace dpzo {

// transformers' rope_type values whose only effect is on inv_freq (attention factor 1): "linear" divides every
// frequency by factor; "llama3" (Llama 3.1 and later) divides the low frequencies (wavelength above
// original_max_positions / low_freq_factor) by factor, keeps the high ones (wavelength below
// original_max_positions / high_freq_factor) and interpolates between the two in the band between.
struct RopeScaling {
  enum Kind : int { NONE = 0, LINEAR = 1, LLAMA3 = 2 };
  Kind kind = NONE;
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  double original_max_positions = 8192.0;
  bool same(const RopeScaling& o) const {
    return kind == o.kind && factor == o.factor && low_freq_factor == o.low_freq_factor &&
           high_freq_factor == o.high_freq_factor && original_max_positions == o.original_max_positions;
  }
};

// inv_freq_i of pair i (of head_dim/2) for base θ, rescaled as `s` says.
double rope_inv_freq(int64_t i, int64_t head_dim, double rope_theta, const RopeScaling& s);

struct RopeTable {
  std::vector<float> cos, sin;  // (positions, head_dim/2)
  int64_t positions = 0, half = 0;
  double theta = 0;
  RopeScaling scaling;
  void ensure(int64_t n_positions, int64_t head_dim, double rope_theta, const RopeScaling& s = {});
  int64_t bytes() const { return static_cast<int64_t>((cos.capacity() + sin.capacity()) * sizeof(float)); }
};

}  // namespace dpzo
