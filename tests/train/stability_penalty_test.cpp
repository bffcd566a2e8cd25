#include "trk/train/stability_penalty.h"

#include <gtest/gtest.h>

#include <random>

#include "gradient_check.h"
#include "trk/tableau/named_tableaux.h"
#include "trk/tableau/stability.h"

namespace trk {
namespace {

// Lorenz-63: Jacobian eigenvalues at the origin, the contracting Lyapunov exponent, a rotation pair.
StabilityPenaltyOptions lorenz_options() {
  StabilityPenaltyOptions options;
  options.weight = 0.7;
  options.step = 0.2;
  options.eigenvalues = {-22.83, 11.83, -2.67, -14.57, {0.9, 10}, {0.9, -10}};
  return options;
}

// Random explicit tableau, rows of A scaled so that c stays O(1), sum b = 1.
std::pair<Mat, Vec> random_tableau(int q, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-0.5, 1.0);
  Mat A = Mat::Zero(q, q);
  for (int i = 1; i < q; ++i)
    for (int j = 0; j < i; ++j) A(i, j) = u(rng) / i;
  Vec b = Vec::NullaryExpr(q, [&] { return u(rng) + 0.6; });
  return {A, b / b.sum()};
}

// x = (strictly lower entries of A row by row, b).
Vec pack(const Mat& A, const Vec& b) {
  const Eigen::Index q = b.size();
  Vec x(q * (q - 1) / 2 + q);
  Eigen::Index n = 0;
  for (Eigen::Index i = 0; i < q; ++i)
    for (Eigen::Index j = 0; j < i; ++j) x(n++) = A(i, j);
  x.tail(q) = b;
  return x;
}

std::pair<Mat, Vec> unpack(const Vec& x, Eigen::Index q) {
  Mat A = Mat::Zero(q, q);
  Eigen::Index n = 0;
  for (Eigen::Index i = 0; i < q; ++i)
    for (Eigen::Index j = 0; j < i; ++j) A(i, j) = x(n++);
  return {A, x.tail(q)};
}

TEST(StabilityPenalty, GradientMatchesCentralDifferences) {
  const StabilityPenaltyOptions options = lorenz_options();
  for (int q : {4, 10}) {
    for (unsigned seed : {1u, 2u, 3u}) {
      const auto [A, b] = random_tableau(q, seed);
      Mat A_bar;
      Vec b_bar;
      const double penalty = stability_penalty(A, b, options, &A_bar, &b_bar);
      ASSERT_GT(penalty, 0) << "q " << q;
      EXPECT_EQ(A_bar.triangularView<Eigen::Upper>().toDenseMatrix(), Mat::Zero(q, q));
      const Vec g_fd = testing::finite_difference_gradient(
          [&](const Vec& x) {
            const auto [Ax, bx] = unpack(x, q);
            return stability_penalty(Ax, bx, options);
          },
          pack(A, b), 1e-6);
      const Vec g = pack(A_bar, b_bar);
      const double error = (g - g_fd).cwiseAbs().maxCoeff() / g_fd.cwiseAbs().maxCoeff();
      EXPECT_LT(error, 1e-6) << "q " << q << " seed " << seed << " penalty " << penalty;
    }
  }
}

TEST(StabilityPenalty, ValueIsTheMeanSquaredExcessOfTheResolventForm) {
  const StabilityPenaltyOptions options = lorenz_options();
  const auto [A, b] = random_tableau(6, 7);
  double expected = 0;
  for (const auto& lambda : options.eigenvalues) {
    const Complex z = lambda * options.step;
    const Eigen::MatrixXcd M = Eigen::MatrixXcd::Identity(6, 6) - z * A.cast<Complex>();
    const Complex R = 1.0 + z * b.cast<Complex>().dot(M.partialPivLu().solve(Eigen::VectorXcd::Ones(6)));
    expected += std::pow(std::max(0.0, std::abs(R) - 1), 2);
  }
  expected *= options.weight / options.eigenvalues.size();
  EXPECT_NEAR(stability_penalty(A, b, options), expected, 1e-12 * expected);
}

TEST(StabilityPenalty, ZeroWithZeroGradientInsideTheRegion) {
  const ButcherTableau rk4 = named_tableau("rk4");
  StabilityPenaltyOptions options;
  options.step = 0.5;
  options.eigenvalues = {-2, -4, {0, 1}};  // lambda h = -1, -2, 0.5i
  Mat A_bar;
  Vec b_bar;
  EXPECT_EQ(stability_penalty(rk4.A, rk4.b, options, &A_bar, &b_bar), 0);
  EXPECT_EQ(A_bar, Mat::Zero(4, 4));
  EXPECT_EQ(b_bar, Vec::Zero(4));
  options.eigenvalues.clear();
  EXPECT_EQ(stability_penalty(rk4.A, rk4.b, options), 0);
  options.eigenvalues = {-6};  // lambda h = -3, outside [-2.785, 0]
  EXPECT_GT(stability_penalty(rk4.A, rk4.b, options), 0);
}

// exact_bound: |R(lambda h)| may reach max(1, |exp(lambda h)|); the unstable pairs of Lorenz-63 (Re lambda > 0) then
// bound the growth of the scheme by the exact flow's.
TEST(StabilityPenalty, ExactBoundGradientMatchesCentralDifferences) {
  StabilityPenaltyOptions options = lorenz_options();
  options.exact_bound = true;
  options.eigenvalues.push_back({0.094, 10.19});
  options.eigenvalues.push_back({0.094, -10.19});
  for (int q : {4, 10}) {
    for (unsigned seed : {1u, 2u, 3u}) {
      const auto [A, b] = random_tableau(q, seed);
      Mat A_bar;
      Vec b_bar;
      const double penalty = stability_penalty(A, b, options, &A_bar, &b_bar);
      ASSERT_GT(penalty, 0) << "q " << q;
      const Vec g_fd = testing::finite_difference_gradient(
          [&](const Vec& x) {
            const auto [Ax, bx] = unpack(x, q);
            return stability_penalty(Ax, bx, options);
          },
          pack(A, b), 1e-6);
      const Vec g = pack(A_bar, b_bar);
      const double error = (g - g_fd).cwiseAbs().maxCoeff() / g_fd.cwiseAbs().maxCoeff();
      EXPECT_LT(error, 1e-6) << "q " << q << " seed " << seed << " penalty " << penalty;
    }
  }
}

TEST(StabilityPenalty, ExactBoundAllowsTheExactGrowthOnly) {
  const auto [A, b] = random_tableau(4, 5);
  StabilityPenaltyOptions options;
  options.step = 0.17;
  options.exact_bound = true;
  const Vec gamma = stability_polynomial(A, b);
  double expected = 0;
  options.eigenvalues = {{0.094, 10.19}, -22.83, 11.83};
  for (const auto& lambda : options.eigenvalues) {
    const Complex z = lambda * options.step;
    const double tau = std::max(1.0, std::exp(z.real()));
    expected += std::pow(std::max(0.0, std::abs(stability_function(gamma, z)) - tau), 2);
  }
  expected /= 3;
  EXPECT_NEAR(stability_penalty(A, b, options), expected, 1e-12 * std::max(expected, 1.0));
  // The exact flow map itself is never penalised: a lambda whose |R| equals |exp(lambda h)| costs nothing, while
  // the plain bound (tau = 1) penalises it.
  const ButcherTableau rk4 = named_tableau("rk4");
  options.step = 0.1;
  const Complex z = 2.0 * options.step;
  const double R = std::abs(stability_function(stability_polynomial(rk4.A, rk4.b), z));
  ASSERT_LT(R, std::exp(z.real()));  // RK4 grows less than exp(z) for real z > 0
  options.eigenvalues = {2.0};
  EXPECT_EQ(stability_penalty(rk4.A, rk4.b, options), 0);
  options.exact_bound = false;
  EXPECT_GT(stability_penalty(rk4.A, rk4.b, options), 0);
}

TEST(StabilityPenalty, OptionsValidationNamesTheField) {
  StabilityPenaltyOptions options = lorenz_options();
  options.step = 0;
  EXPECT_NE(options.validation_error().find("step"), std::string::npos);
  const ButcherTableau rk4 = named_tableau("rk4");
  EXPECT_THROW(stability_penalty(rk4.A, rk4.b, options), std::invalid_argument);
  options = lorenz_options();
  options.weight = -1;
  EXPECT_NE(options.validation_error().find("weight"), std::string::npos);
  EXPECT_EQ(lorenz_options().validation_error(), "");
}

}  // namespace
}  // namespace trk
