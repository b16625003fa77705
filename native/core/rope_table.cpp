// defines: rope_inv_freq and RopeTable::ensure (dpzo/rope_table.h).
#include "dpzo/rope_table.h"

#include <algorithm>
#include <cmath>

namespace dpzo {

namespace {

// transformers' _compute_yarn_parameters for pair i of frequency f. The pair index at which a frequency turns
// `rotations` times over the original context (find_correction_dim) bounds the ramp: pairs below the beta_fast
// one keep f (extrapolation), pairs above the beta_slow one take f / factor (interpolation), linear in between.
double yarn_inv_freq(double f, int64_t i, int64_t head_dim, double rope_theta, const RopeScaling& s) {
  const double dim = static_cast<double>(head_dim);
  const auto correction_dim = [&](double rotations) {
    return dim * std::log(s.original_max_positions / (rotations * 2.0 * M_PI)) / (2.0 * std::log(rope_theta));
  };
  double low = correction_dim(s.beta_fast), high = correction_dim(s.beta_slow);
  if (s.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, dim - 1.0);
  if (low == high) high += 0.001;  // transformers' guard against an empty ramp
  const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
  return f / s.factor * ramp + f * (1.0 - ramp);
}

}  // namespace

double rope_inv_freq(int64_t i, int64_t head_dim, double rope_theta, const RopeScaling& s) {
  // θ^(−2i/d) (Su et al. 2021, RoFormer eq. 15)
  const double f = std::pow(rope_theta, -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
  if (s.kind == RopeScaling::LINEAR) return f / s.factor;
  if (s.kind == RopeScaling::YARN) return yarn_inv_freq(f, i, head_dim, rope_theta, s);
  if (s.kind != RopeScaling::LLAMA3) return f;  // NONE, and DYNAMIC within the original context
  // transformers' _compute_llama3_parameters, by wavelength 2π/f against the original context
  const double wavelen = 2.0 * M_PI / f;
  const double low_wavelen = s.original_max_positions / s.low_freq_factor;
  const double high_wavelen = s.original_max_positions / s.high_freq_factor;
  if (wavelen < high_wavelen) return f;            // high frequencies: kept
  if (wavelen > low_wavelen) return f / s.factor;  // low frequencies: interpolated positions
  const double smooth =
      (s.original_max_positions / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
  return (1.0 - smooth) * f / s.factor + smooth * f;
}

void RopeTable::ensure(int64_t n_positions, int64_t head_dim, double rope_theta, const RopeScaling& s) {
  if (n_positions <= positions && half == head_dim / 2 && theta == rope_theta && scaling.same(s)) return;
  half = head_dim / 2;
  theta = rope_theta;
  scaling = s;
  positions = n_positions;
  cos.resize(positions * half);
  sin.resize(positions * half);
  std::vector<double> inv_freq(half);
  for (int64_t i = 0; i < half; ++i) inv_freq[i] = rope_inv_freq(i, head_dim, rope_theta, s);
  for (int64_t p = 0; p < positions; ++p)
    for (int64_t i = 0; i < half; ++i) {
      const double a = static_cast<double>(p) * inv_freq[i];
      // transformers multiplies cos and sin by the attention factor (yarn), which scales q·k by its square
      cos[p * half + i] = static_cast<float>(std::cos(a) * s.attention_factor);
      sin[p * half + i] = static_cast<float>(std::sin(a) * s.attention_factor);
    }
}

}  // namespace dpzo
