// defines: make_virtual_set (dpzo/virtual_set.h).
#include "dpzo/virtual_set.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "dpzo/errors.h"

namespace dpzo {

VirtualSet make_virtual_set(const std::vector<VirtualPoint>& points) {
  if (static_cast<int>(points.size()) > kMaxVirtualPoints)
    throw Error(err::kArgument, "perExampleLoss: at most " + std::to_string(kMaxVirtualPoints) +
                                    " virtual points per call (got " + std::to_string(points.size()) + ")");
  VirtualSet vs;
  for (size_t p = 0; p < points.size(); ++p) {
    const VirtualPoint& pt = points[p];
    if (pt.seeds.size() != pt.coeffs.size())
      throw Error(err::kArgument, "perExampleLoss: point " + std::to_string(p) + " has " +
                                      std::to_string(pt.seeds.size()) + " seeds and " +
                                      std::to_string(pt.coeffs.size()) + " coefficients");
    std::vector<VirtualSet::Term> terms;
    std::vector<uint64_t> ps;
    std::vector<float> pc;
    for (size_t k = 0; k < pt.seeds.size(); ++k) {
      const float c = pt.coeffs[k];
      if (!std::isfinite(c))
        throw Error(err::kArgument, "perExampleLoss: coefficient " + std::to_string(k) + " of point " +
                                        std::to_string(p) + " is not finite");
      if (c == 0.0f) continue;  // as axpy_directions: a zero pair contributes nothing, not even −0 → +0
      auto it = std::find(vs.seeds.begin(), vs.seeds.end(), pt.seeds[k]);
      if (it == vs.seeds.end()) it = vs.seeds.insert(vs.seeds.end(), pt.seeds[k]);
      terms.push_back({static_cast<int>(it - vs.seeds.begin()), c});
      ps.push_back(pt.seeds[k]);
      pc.push_back(c);
    }
    vs.terms.push_back(std::move(terms));
    vs.point_seeds.push_back(std::move(ps));
    vs.point_coeffs.push_back(std::move(pc));
  }
  return vs;
}

}  // namespace dpzo
