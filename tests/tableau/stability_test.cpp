#include "trk/tableau/stability.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>

#include "trk/tableau/named_tableaux.h"

namespace trk {
namespace {

// R(z) = 1 + z b^T (I - zA)^{-1} 1, the resolvent form, as an oracle for the polynomial.
Complex resolvent_form(const ButcherTableau& t, Complex z) {
  const Eigen::Index q = t.num_stages();
  const Eigen::MatrixXcd M = Eigen::MatrixXcd::Identity(q, q) - z * t.A.cast<Complex>();
  return 1.0 + z * t.b.cast<Complex>().dot(M.partialPivLu().solve(Eigen::VectorXcd::Ones(q)));
}

// A 4-stage scheme with random A whose weights b solve b^T A^{k-1} 1 = gamma_k, k = 1..4.
ButcherTableau four_stage_with(const Vec& gamma, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.2, 0.8);
  Mat A = Mat::Zero(4, 4);
  for (int i = 1; i < 4; ++i)
    for (int j = 0; j < i; ++j) A(i, j) = u(rng) / i;
  Mat M(4, 4);  // row k: (A^k 1)^T
  Vec v = Vec::Ones(4);
  for (int k = 0; k < 4; ++k, v = A * v) M.row(k) = v.transpose();
  return make_explicit_tableau("four_stage", A, M.partialPivLu().solve(gamma.tail(4)));
}

TEST(Stability, PolynomialMatchesResolventFormAndTaylorCoefficients) {
  for (const auto& name : named_tableau_names()) {
    const ButcherTableau t = named_tableau(name);
    const Vec gamma = stability_polynomial(t);
    ASSERT_EQ(gamma.size(), t.num_stages() + 1) << name;
    for (int k = 0; k <= t.order; ++k) EXPECT_NEAR(gamma(k), 1.0 / std::tgamma(k + 1), 1e-14) << name << " k " << k;
    for (Complex z : {Complex(-1.3, 0.4), Complex(0.2, 2.1), Complex(-3, -1)}) {
      const Complex r = resolvent_form(t, z);
      EXPECT_LT(std::abs(stability_function(t, z) - r), 1e-12 * std::max(1.0, std::abs(r))) << name;
      EXPECT_EQ(stability_function(gamma, z), stability_function(t, z)) << name;
    }
  }
}

TEST(Stability, ReferenceRealAxisIntervals) {
  EXPECT_NEAR(real_axis_interval(named_tableau("euler")), 2, 1e-12);
  EXPECT_NEAR(real_axis_interval(named_tableau("midpoint")), 2, 1e-12);
  EXPECT_NEAR(real_axis_interval(named_tableau("heun")), 2, 1e-12);
  EXPECT_NEAR(real_axis_interval(named_tableau("kutta3")), 2.5127453266183286, 1e-9);
  EXPECT_NEAR(real_axis_interval(named_tableau("rk4")), 2.785293563405282, 1e-9);
  EXPECT_NEAR(real_axis_interval(named_tableau("rk38")), 2.785293563405282, 1e-9);
  EXPECT_NEAR(real_axis_interval(named_tableau("dopri5")), 3.306568, 1e-6);
  EXPECT_NEAR(real_axis_interval(named_tableau("dopri5")), 3.3065678926349462, 1e-9);
  EXPECT_NEAR(real_axis_interval(named_tableau("dopri8")), 5.166634, 1e-6);  // RK8(7)13M
  // DOP853: root of R(-s) = +-1 in exact rational arithmetic on the 30-digit coefficients of dop853.f.
  EXPECT_NEAR(real_axis_interval(named_tableau("dop853")), 6.393651522851064, 1e-9);
}

TEST(Stability, ReferenceImaginaryAxisIntervals) {
  EXPECT_EQ(imag_axis_interval(named_tableau("euler")), 0);
  EXPECT_EQ(imag_axis_interval(named_tableau("midpoint")), 0);  // |R(iy)|^2 = 1 + y^4 / 4
  EXPECT_NEAR(imag_axis_interval(named_tableau("kutta3")), std::sqrt(3.0), 1e-9);
  EXPECT_NEAR(imag_axis_interval(named_tableau("rk4")), 2 * std::numbers::sqrt2, 1e-9);
  EXPECT_NEAR(imag_axis_interval(named_tableau("rk38")), 2 * std::numbers::sqrt2, 1e-9);
  // |R(iy)|^2 - 1 = -y^6/1800 + y^8/1600 - y^10/14400 + y^12/360000, root by exact bisection.
  EXPECT_NEAR(imag_axis_interval(named_tableau("dopri5")), 0.9971890086325299, 1e-9);
  // RK8(7)13M: coefficients of y^2..y^8 are ~1e-18 (the paper's rational approximations), y^10 is +5.9e-8.
  EXPECT_EQ(imag_axis_interval(named_tableau("dopri8")), 0);
  // DOP853: y^10 coefficient -4.5e-8, inside near the origin; exact-arithmetic root.
  EXPECT_NEAR(imag_axis_interval(named_tableau("dop853")), 5.960359811702779, 1e-9);
}

TEST(Stability, AnyFourStageOrderFourSchemeHasRk4Intervals) {
  Vec gamma(5);
  gamma << 1, 1, 1.0 / 2, 1.0 / 6, 1.0 / 24;
  for (unsigned seed : {1u, 2u, 3u}) {
    const ButcherTableau t = four_stage_with(gamma, seed);
    EXPECT_NEAR(real_axis_interval(t), 2.785293563405282, 1e-9);
    EXPECT_NEAR(imag_axis_interval(t), 2 * std::numbers::sqrt2, 1e-9);
  }
  Vec other = gamma;
  other(4) += 1e-3;
  EXPECT_GT(std::abs(real_axis_interval(four_stage_with(other, 1)) - 2.785293563405282), 1e-3);
}

TEST(Stability, SmallGenuineCoefficientIsNotTakenForRoundingNoise) {
  // gamma_4 = 1/24 + delta makes the y^4 coefficient of |R(iy)|^2 - 1 equal to 2 delta.
  Vec gamma(5);
  gamma << 1, 1, 1.0 / 2, 1.0 / 6, 1.0 / 24 + 1e-9;
  EXPECT_EQ(imag_axis_interval(four_stage_with(gamma, 4)), 0);
  gamma(4) = 1.0 / 24 - 1e-9;
  EXPECT_NEAR(imag_axis_interval(four_stage_with(gamma, 4)), 2 * std::numbers::sqrt2, 1e-6);
}

TEST(Stability, IntervalIsInfiniteWhenRIsConstant) {
  ButcherTableau t;
  t.A = Mat::Zero(2, 2);
  t.b = Vec::Zero(2);
  t.c = Vec::Zero(2);
  EXPECT_TRUE(std::isinf(real_axis_interval(t)));
  EXPECT_TRUE(std::isinf(imag_axis_interval(t)));
  EXPECT_TRUE(stability_region_boundary(t).empty());
}

TEST(Stability, ModulusGridMatchesDirectEvaluationAndOrientation) {
  const ButcherTableau t = named_tableau("dopri5");
  ComplexGrid grid;
  grid.re_min = -4, grid.re_max = 1, grid.num_re = 11;
  grid.im_min = -3, grid.im_max = 3.5, grid.num_im = 7;
  const Mat M = stability_modulus_on_grid(t, grid);
  ASSERT_EQ(M.rows(), 7);
  ASSERT_EQ(M.cols(), 11);
  EXPECT_DOUBLE_EQ(grid.re(10), 1);
  EXPECT_DOUBLE_EQ(grid.im(6), 3.5);
  for (int i = 0; i < grid.num_im; ++i)
    for (int j = 0; j < grid.num_re; ++j)
      EXPECT_NEAR(M(i, j), std::abs(resolvent_form(t, Complex(grid.re(j), grid.im(i)))), 1e-12 * (1 + M(i, j)));
}

TEST(Stability, BoundaryPointsHaveModulusOneAndCurvesClose) {
  for (const auto& name : named_tableau_names()) {
    const ButcherTableau t = named_tableau(name);
    const auto curves = stability_region_boundary(t, 256);
    ASSERT_FALSE(curves.empty()) << t.name;
    const Vec gamma = stability_polynomial(t);
    std::size_t num_points = 0;
    for (const auto& curve : curves) {
      EXPECT_EQ(curve.front(), curve.back()) << t.name;
      num_points += curve.size() - 1;
      for (Complex z : curve) {
        // Rounding in evaluating R(z): eps sum_k |gamma_k| |z|^k. Far-out components (dopri8 has one at
        // z = 129.9, where R falls steeply through 0) are exact to rounding but not checkable to 1e-8.
        const double rounding = 64 * t.num_stages() * 2.2e-16 * stability_function(gamma.cwiseAbs(), std::abs(z)).real();
        EXPECT_NEAR(std::abs(stability_function(t, z)), 1, 1e-8 + rounding) << t.name << " at " << z;
      }
    }
    Eigen::Index degree = gamma.size() - 1;
    while (gamma(degree) == 0) --degree;  // dopri5: b_7 = 0
    EXPECT_EQ(num_points, 256u * degree) << t.name;  // every branch, every angle
  }
}

TEST(Stability, EulerBoundaryIsTheUnitCircleAroundMinusOne) {
  const auto curves = stability_region_boundary(named_tableau("euler"), 64);
  ASSERT_EQ(curves.size(), 1u);
  ASSERT_EQ(curves[0].size(), 65u);
  for (std::size_t n = 0; n < 64; ++n) {
    const Complex w = curves[0][n] + 1.0;  // e^{i 2 pi n / 64}
    EXPECT_NEAR(std::abs(w), 1, 1e-14);
    EXPECT_NEAR(std::abs(w - std::polar(1.0, 2 * std::numbers::pi * n / 64)), 0, 1e-14);
  }
}

TEST(Stability, Rk4BoundaryMeetsTheAxesAtItsIntervals) {
  const ButcherTableau t = named_tableau("rk4");
  const auto curves = stability_region_boundary(t, 2048);
  ASSERT_EQ(curves.size(), 1u);
  const auto& c = curves[0];
  double min_re = 0, crossing = 0;
  for (std::size_t n = 0; n + 1 < c.size(); ++n) {
    min_re = std::min(min_re, c[n].real());
    if (c[n].imag() > 1 && c[n].real() * c[n + 1].real() <= 0)
      crossing = c[n].imag() + (c[n + 1].imag() - c[n].imag()) * c[n].real() / (c[n].real() - c[n + 1].real());
  }
  EXPECT_NEAR(min_re, -real_axis_interval(t), 1e-9);  // R = -1 there: theta = pi is one of the angles
  EXPECT_NEAR(crossing, imag_axis_interval(t), 1e-4);
}

}  // namespace
}  // namespace trk
