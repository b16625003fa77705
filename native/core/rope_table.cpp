// defines: rope_inv_freq and RopeTable::ensure (dpzo/rope_table.h).
#include "dpzo/rope_table.h"

#include <cmath>

namespace dpzo {

double rope_inv_freq(int64_t i, int64_t head_dim, double rope_theta, const RopeScaling& s) {
  // θ^(−2i/d) (Su et al. 2021, RoFormer eq. 15)
  const double f = std::pow(rope_theta, -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
  if (s.kind == RopeScaling::LINEAR) return f / s.factor;
  if (s.kind != RopeScaling::LLAMA3) return f;
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
      cos[p * half + i] = static_cast<float>(std::cos(a));
      sin[p * half + i] = static_cast<float>(std::sin(a));
    }
}

}  // namespace dpzo
