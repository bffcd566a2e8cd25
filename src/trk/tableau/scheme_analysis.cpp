#include "trk/tableau/scheme_analysis.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace trk {

StabilityAnalysis analyse_stability(const ButcherTableau& t, int num_grid) {
  if (num_grid < 2 || num_grid > 10001) throw std::invalid_argument("--grid must be between 2 and 10001");
  if (t.num_stages() > kMaxStabilityStages)
    throw std::invalid_argument(t.name + ": " + std::to_string(t.num_stages()) + " stages; the stability analysis "
                                "takes schemes of up to " + std::to_string(kMaxStabilityStages) +
                                " stages (report order takes any)");
  StabilityAnalysis s;
  s.tableau = t;
  s.real_axis_interval = real_axis_interval(t);
  s.imag_axis_interval = imag_axis_interval(t);
  s.polynomial = stability_polynomial(t);
  s.boundary = stability_region_boundary(t);
  // A box around the region (and at least [-3, 1] x [-3, 3]) with a margin.
  double re_lo = -3, re_hi = 1, im_hi = 3;
  for (const auto& curve : s.boundary)
    for (const auto& z : curve)
      if (std::abs(z) < 50) {
        re_lo = std::min(re_lo, z.real());
        re_hi = std::max(re_hi, z.real());
        im_hi = std::max(im_hi, std::abs(z.imag()));
      }
  s.grid.re_min = std::floor(re_lo * 1.1);
  s.grid.re_max = std::ceil(re_hi * 1.1);
  s.grid.im_min = -std::ceil(im_hi * 1.1);
  s.grid.im_max = std::ceil(im_hi * 1.1);
  s.grid.num_re = s.grid.num_im = num_grid;
  s.modulus = stability_modulus_on_grid(t, s.grid);
  return s;
}

OrderAnalysis analyse_order(const ButcherTableau& t, int max_order) {
  if (max_order < 1 || max_order > 12) throw std::invalid_argument("--max-order must be between 1 and 12");
  OrderAnalysis a;
  a.tableau = t;
  a.max_order = max_order;
  a.conditions = order_conditions(t, max_order);
  a.order = order(t, kOrderConditionTol, max_order);
  return a;
}

}  // namespace trk
