// defines: VirtualSet (the points θ + Σ_k c_k·z(s_k) at which one forward is evaluated, ARCHITECTURE §2
// "Exactness in every dtype") and make_virtual_set, which validates them: in the core, so that every backend
// reads the points of a ForwardOptions with the same checks and the same messages.
#pragma once
#include <cstdint>
#include <vector>

#include "dpzo/forward.h"

namespace dpzo {

// The points of one forward. Each point keeps its nonzero (seed, coeff) pairs in the caller's order (the fma
// order of ARCHITECTURE §2); `seeds` lists the distinct seeds once, so that points sharing a direction (the
// + and − points of a DP-ZO step) generate it once.
struct VirtualSet {
  struct Term {
    int seed;  // index into `seeds`
    float coeff;
  };
  std::vector<uint64_t> seeds;
  std::vector<std::vector<Term>> terms;            // per point
  std::vector<std::vector<uint64_t>> point_seeds;  // per point, the same pairs flat (for the direction kernel)
  std::vector<std::vector<float>> point_coeffs;

  int size() const { return static_cast<int>(terms.size()); }
};

// Validates the points (finite coefficients, at most kMaxVirtualPoints of them) and drops zero coefficients,
// exactly as the in-place perturb does, so one pair gives the bits of perturb + forward. Throws ERR_ARGUMENT.
constexpr int kMaxVirtualPoints = 8;
VirtualSet make_virtual_set(const std::vector<VirtualPoint>& points);

}  // namespace dpzo
