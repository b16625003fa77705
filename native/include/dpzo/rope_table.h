// defines: RopeScaling (a config's rope_scaling / rope_parameters rescaling of the frequencies) and RopeTable —
// a·cos and a·sin of p·inv_freq_i, inv_freq_i = θ^(−2i/d) rescaled and a the attention factor, computed in double
// and stored as float32: the one table both backends rotate by (the CPU's apply_rope and the CUDA RoPE kernel),
// so they agree bit for bit.
#pragma once
#include <cstdint>
#include <vector>

namespace dpzo {

// transformers' rope_type values dpzo computes exactly. "linear" divides every frequency by factor; "llama3"
// (Llama 3.1 and later) divides the low frequencies (wavelength above original_max_positions / low_freq_factor) by
// factor, keeps the high ones (wavelength below original_max_positions / high_freq_factor) and interpolates between
// the two in the band between. "yarn" (_compute_yarn_parameters; Peng et al. 2023, YaRN) blends the interpolated
// (÷ factor) and the original frequencies by a linear ramp over the pair index between the correction dimensions of
// beta_fast and beta_slow rotations in original_max_positions, and multiplies cos and sin by attention_factor.
// "dynamic" (dynamic NTK) rescales only for sequences longer than the original context, which dpzo refuses (the
// config's max_positions is capped there): its table is the default one.
struct RopeScaling {
  enum Kind : int { NONE = 0, LINEAR = 1, LLAMA3 = 2, YARN = 3, DYNAMIC = 4 };
  Kind kind = NONE;
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  double original_max_positions = 8192.0;
  double beta_fast = 32.0;  // yarn: rotations in the original context above which a pair keeps its frequency
  double beta_slow = 1.0;   // yarn: rotations below which a pair is fully interpolated
  bool truncate = true;     // yarn: correction range rounded outwards to whole pair indices
  // scales cos and sin (yarn's attention temperature, resolved from attention_factor or mscale); 1 elsewhere
  double attention_factor = 1.0;
  bool same(const RopeScaling& o) const {
    return kind == o.kind && factor == o.factor && low_freq_factor == o.low_freq_factor &&
           high_freq_factor == o.high_freq_factor && original_max_positions == o.original_max_positions &&
           beta_fast == o.beta_fast && beta_slow == o.beta_slow && truncate == o.truncate &&
           attention_factor == o.attention_factor;
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
