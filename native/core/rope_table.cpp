// defines: RopeTable::ensure (dpzo/rope_table.h).
#include "dpzo/rope_table.h"

#include <cmath>

namespace dpzo {

void RopeTable::ensure(int64_t n_positions, int64_t head_dim, double rope_theta) {
  if (n_positions <= positions && half == head_dim / 2 && theta == rope_theta) return;
  half = head_dim / 2;
  theta = rope_theta;
  positions = n_positions;
  cos.resize(positions * half);
  sin.resize(positions * half);
  for (int64_t p = 0; p < positions; ++p)
    for (int64_t i = 0; i < half; ++i) {
      // inv_freq_i = θ^(−2i/d) (Su et al. 2021, RoFormer eq. 15)
      const double a = static_cast<double>(p) * std::pow(rope_theta, -2.0 * i / head_dim);
      cos[p * half + i] = static_cast<float>(std::cos(a));
      sin[p * half + i] = static_cast<float>(std::sin(a));
    }
}

}  // namespace dpzo
