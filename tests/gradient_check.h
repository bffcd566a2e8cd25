// Shared by the gradient tests: central finite differences, the relative error max|g - g_fd| / max(1, max|g_fd|),
// and seeded random matrices.
#pragma once
#include <functional>
#include <random>

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

// rows x cols entries drawn from N(0, scale^2), seeded.
inline Mat random_matrix(int rows, int cols, unsigned seed, double scale) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n(0.0, scale);
  Mat M(rows, cols);
  for (auto& v : M.reshaped()) v = n(rng);
  return M;
}

inline double relative_gradient_error(const Vec& g, const Vec& g_fd) {
  return (g - g_fd).cwiseAbs().maxCoeff() / std::max(1.0, g_fd.cwiseAbs().maxCoeff());
}

}  // namespace trk::testing
