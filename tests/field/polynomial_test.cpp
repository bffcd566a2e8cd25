#include "trk/field/polynomial.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>
#include <tuple>

#include "gradient_check.h"
#include "trk/field/lorenz63.h"

namespace trk {
namespace {

using testing::finite_difference_gradient;
using testing::relative_gradient_error;

using testing::random_matrix;

// Lorenz-63 as a degree-2 polynomial field.
Mat lorenz63_coefficients(double sigma, double rho, double beta) {
  const PolynomialLibrary L(3, 2);
  Mat Xi = Mat::Zero(L.num_terms(), 3);
  Xi(L.index("x1"), 0) = -sigma;
  Xi(L.index("x2"), 0) = sigma;
  Xi(L.index("x1"), 1) = rho;
  Xi(L.index("x2"), 1) = -1;
  Xi(L.index("x1*x3"), 1) = -1;
  Xi(L.index("x1*x2"), 2) = 1;
  Xi(L.index("x3"), 2) = -beta;
  return Xi;
}

TEST(PolynomialLibrary, OrderAndNamesInDimensionThree) {
  const PolynomialLibrary quadratic(3, 2);
  EXPECT_EQ(quadratic.names(), (std::vector<std::string>{"1", "x1", "x2", "x3", "x1^2", "x1*x2", "x1*x3", "x2^2",
                                                         "x2*x3", "x3^2"}));
  EXPECT_EQ(quadratic.exponents(6), (std::vector<int>{1, 0, 1}));
  const PolynomialLibrary cubic(3, 3);
  ASSERT_EQ(cubic.num_terms(), 20);
  const std::vector<std::string> cubic_terms(cubic.names().begin() + 10, cubic.names().end());
  EXPECT_EQ(cubic_terms, (std::vector<std::string>{"x1^3", "x1^2*x2", "x1^2*x3", "x1*x2^2", "x1*x2*x3", "x1*x3^2",
                                                   "x2^3", "x2^2*x3", "x2*x3^2", "x3^3"}));
  EXPECT_EQ(cubic.index("x1*x2*x3"), 14);
  EXPECT_EQ(cubic.index("x2*x1"), -1);
  EXPECT_EQ(quadratic.index("x1^3"), -1);
}

TEST(PolynomialLibrary, SizeIsBinomialAndExponentsAreDistinctAndGraded) {
  const std::vector<std::tuple<int, int, int>> cases{{1, 0, 1}, {1, 4, 5}, {2, 3, 10}, {4, 2, 15}, {40, 2, 861}};
  for (auto [dim, degree, expected] : cases) {
    const PolynomialLibrary L(dim, degree);
    EXPECT_EQ(L.num_terms(), expected) << dim << " " << degree;
    int previous_degree = 0;
    std::set<std::vector<int>> seen;
    for (int k = 0; k < L.num_terms(); ++k) {
      int total = 0;
      for (int e : L.exponents(k)) total += e;
      EXPECT_GE(total, previous_degree);
      EXPECT_LE(total, degree);
      previous_degree = total;
      EXPECT_TRUE(seen.insert(L.exponents(k)).second) << L.name(k);
    }
  }
  EXPECT_THROW(PolynomialLibrary(0, 2), std::invalid_argument);
  EXPECT_THROW(PolynomialLibrary(3, -1), std::invalid_argument);
  EXPECT_THROW(PolynomialLibrary(1000, 5), std::invalid_argument);
}

TEST(PolynomialLibrary, ThetaIsTheProductOfPowers) {
  const PolynomialLibrary L(4, 3);
  const Mat Z = random_matrix(4, 6, 7, 2.0);
  const Mat Theta = L.eval(Z);
  for (int k = 0; k < L.num_terms(); ++k)
    for (int c = 0; c < Z.cols(); ++c) {
      double expected = 1.0;
      for (int j = 0; j < 4; ++j) expected *= std::pow(Z(j, c), L.exponents(k)[j]);
      EXPECT_NEAR(Theta(k, c), expected, 1e-13 * std::max(1.0, std::abs(expected))) << L.name(k);
    }
}

TEST(PolynomialField, ParametersAreXiColumnMajor) {
  PolynomialField f(3, 2, random_matrix(10, 3, 3, 1.0));
  EXPECT_EQ(f.name(), "polynomial");
  EXPECT_EQ(f.num_params(), 30);
  const Vec theta = f.params();
  EXPECT_EQ(theta(4 + 10 * 2), f.coefficients()(4, 2));
  const Vec other = random_matrix(30, 1, 4, 1.0);
  f.set_params(other);
  EXPECT_EQ(f.params(), other);
  EXPECT_EQ(f.coefficients()(7, 1), other(7 + 10));
  EXPECT_THROW(f.set_params(Vec::Zero(29)), std::invalid_argument);
  EXPECT_THROW(PolynomialField(3, 2, Mat::Zero(10, 2)), std::invalid_argument);
  EXPECT_THROW(PolynomialField(3, 2, Mat::Zero(9, 3)), std::invalid_argument);
}

// F = Xi^T Theta column by column: equation i is sum_k Xi(k, i) theta_k(z).
TEST(PolynomialField, EvalIsTheWeightedSumOfMonomials) {
  const Mat Xi = random_matrix(20, 3, 5, 1.0);
  const PolynomialField f(3, 3, Xi);
  const Mat Z = random_matrix(3, 4, 6, 1.5);
  Mat F(3, 4);
  f.eval(Z, F);
  for (int c = 0; c < 4; ++c)
    for (int i = 0; i < 3; ++i) {
      double expected = 0;
      for (int k = 0; k < 20; ++k) {
        double m = 1;
        for (int j = 0; j < 3; ++j) m *= std::pow(Z(j, c), f.library().exponents(k)[j]);
        expected += Xi(k, i) * m;
      }
      EXPECT_NEAR(F(i, c), expected, 1e-12 * std::max(1.0, std::abs(expected)));
    }
}


TEST(PolynomialField, VjpMatchesFiniteDifferences) {
  testing::expect_vjp_matches_finite_differences(PolynomialField(3, 2, random_matrix(10, 3, 21, 1.0)), 2.0, 1e-7);
  testing::expect_vjp_matches_finite_differences(PolynomialField(4, 3, random_matrix(35, 4, 22, 1.0)), 1.0, 1e-7);
  testing::expect_vjp_matches_finite_differences(PolynomialField(2, 5, random_matrix(21, 2, 23, 1.0)), 0.8, 1e-7);
  testing::expect_vjp_matches_finite_differences(PolynomialField(3, 0, random_matrix(1, 3, 24, 1.0)), 1.0, 1e-7);
}

TEST(PolynomialField, WithLorenzCoefficientsEqualsLorenz63) {
  const double sigma = 10.0, rho = 28.0, beta = 8.0 / 3.0;
  const PolynomialField f(3, 2, lorenz63_coefficients(sigma, rho, beta));
  const Lorenz63 lorenz(sigma, rho, beta);
  const Mat Z = random_matrix(3, 50, 31, 15.0), U = random_matrix(3, 50, 32, 1.0);
  Mat F(3, 50), F_lorenz(3, 50);
  f.eval(Z, F);
  lorenz.eval(Z, F_lorenz);
  EXPECT_LT((F - F_lorenz).cwiseAbs().maxCoeff(), 1e-12 * F_lorenz.cwiseAbs().maxCoeff());
  Mat Z_bar = Mat::Zero(3, 50), Z_bar_lorenz = Mat::Zero(3, 50);
  f.vjp(Z, U, Z_bar, nullptr);
  lorenz.vjp(Z, U, Z_bar_lorenz, nullptr);
  EXPECT_LT((Z_bar - Z_bar_lorenz).cwiseAbs().maxCoeff(), 1e-12 * Z_bar_lorenz.cwiseAbs().maxCoeff());
}

}  // namespace
}  // namespace trk
