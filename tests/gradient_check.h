// Central finite differences for gradient tests: relative error max|g - g_fd| / max(1, max|g_fd|).
#pragma once
#include <functional>

#include "trk/core/types.h"

namespace trk::testing {

inline Vec finite_difference_gradient(const std::function<double(const Vec&)>& loss, const Vec& x,
                                      double eps = 1e-6) {
  Vec g(x.size());
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    Vec xp = x, xm = x;
    const double step = eps * std::max(1.0, std::abs(x(i)));
    xp(i) += step;
    xm(i) -= step;
    g(i) = (loss(xp) - loss(xm)) / (2 * step);
  }
  return g;
}

inline double relative_gradient_error(const Vec& g, const Vec& g_fd) {
  return (g - g_fd).cwiseAbs().maxCoeff() / std::max(1.0, g_fd.cwiseAbs().maxCoeff());
}

}  // namespace trk::testing
