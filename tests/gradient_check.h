// Shared by the gradient tests: central finite differences, the relative error max|g - g_fd| / max(1, max|g_fd|),
// and seeded random matrices.
#pragma once
#include <functional>
#include <random>

#include <gtest/gtest.h>

#include "trk/core/types.h"
#include "trk/field/vector_field.h"

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

// The vjp of a vector field against central differences of L(Z, theta) = <W, f_theta(Z)> (its gradients are exactly
// vjp(Z, W)) at n random states of size state_scale; also: vjp accumulates (+=), a missing theta_bar leaves Z_bar
// unchanged, and jacobian() agrees with differences of eval.
inline void expect_vjp_matches_finite_differences(const VectorField& f, double state_scale, double tol, int n = 5) {
  const int d = f.dim();
  const Mat Z = random_matrix(d, n, 11, state_scale), W = random_matrix(d, n, 12, 1.0);
  const Vec theta0 = f.params();
  auto loss = [&](const Mat& Zx, const Vec& th) {
    auto g = f.clone();
    g->set_params(th);
    Mat F(d, Zx.cols());
    g->eval(Zx, F);
    return (W.array() * F.array()).sum();
  };
  Mat Z_bar = Mat::Zero(d, n);
  Vec theta_bar = Vec::Zero(f.num_params());
  f.vjp(Z, W, Z_bar, &theta_bar);
  const Vec gz = finite_difference_gradient([&](const Vec& z) { return loss(z.reshaped(d, n), theta0); },
                                            Z.reshaped());
  EXPECT_LT(relative_gradient_error(Z_bar.reshaped(), gz), tol) << f.name();
  if (f.num_params() > 0) {
    const Vec gt = finite_difference_gradient([&](const Vec& th) { return loss(Z, th); }, theta0);
    EXPECT_LT(relative_gradient_error(theta_bar, gt), tol) << f.name();
    EXPECT_GT(gt.norm(), 1e-3) << f.name();  // the check is not vacuous
  }
  Mat Z_bar2 = Mat::Constant(d, n, 1.0);
  Vec theta_bar2 = Vec::Constant(f.num_params(), 2.0);
  f.vjp(Z, W, Z_bar2, &theta_bar2);
  EXPECT_LT((Z_bar2.array() - 1.0 - Z_bar.array()).abs().maxCoeff(), 1e-12 * (1 + Z_bar.cwiseAbs().maxCoeff()))
      << f.name();
  if (f.num_params() > 0) {
    EXPECT_LT((theta_bar2.array() - 2.0 - theta_bar.array()).abs().maxCoeff(),
              1e-12 * (1 + theta_bar.cwiseAbs().maxCoeff()))
        << f.name();
  }
  Mat Z_bar3 = Mat::Zero(d, n);
  f.vjp(Z, W, Z_bar3, nullptr);
  EXPECT_EQ(Z_bar3, Z_bar) << f.name();
  const Mat J = f.jacobian(Z.col(0));
  for (int i = 0; i < d; ++i) {
    const Vec gi = finite_difference_gradient(
        [&](const Vec& z) {
          Mat F(d, 1);
          f.eval(z, F);
          return F(i);
        },
        Z.col(0));
    EXPECT_LT(relative_gradient_error(J.row(i).transpose(), gi), tol) << f.name() << " jacobian row " << i;
  }
}

}  // namespace trk::testing
