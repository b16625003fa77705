// defines: RopeTable — cos/sin of p·θ^(−2i/d), computed in double and stored as float32: the one table
// both backends rotate by (the CPU's apply_rope and the CUDA RoPE kernel), so they agree bit for bit.
#pragma once
#include <cstdint>
#include <vector>

namespace dpzo {

struct RopeTable {
  std::vector<float> cos, sin;  // (positions, head_dim/2)
  int64_t positions = 0, half = 0;
  double theta = 0;
  void ensure(int64_t n_positions, int64_t head_dim, double rope_theta);
  int64_t bytes() const { return static_cast<int64_t>((cos.capacity() + sin.capacity()) * sizeof(float)); }
};

}  // namespace dpzo
