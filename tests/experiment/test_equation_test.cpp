// The test-equation experiment: R through the stages against the monomial form, the residual Jacobian against
// finite differences, the judging criterion on Euler, and trained schemes against the exact limits, their
// real-axis intervals rechecked by bisection on |R| evaluated stage by stage.
#include "trk/experiment/test_equation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "gradient_check.h"
#include "trk/tableau/named_tableaux.h"
#include "trk/tableau/order_conditions.h"
#include "trk/tableau/stability.h"
#include "trk/tableau/trainable_tableau.h"

namespace trk {
namespace {

// Largest x with |R(-s)| <= 1 on [0, x]: a scan at step x_max / 200000, then bisection on the first crossing,
// R evaluated by one step of the tableau on dz/dt = lambda z (no monomial coefficients).
double bisected_real_interval(const ButcherTableau& t, double x_max) {
  auto bad = [&](double s) { return std::abs(tableau_stability_function(t.A, t.b, -s)) > 1 + 1e-12; };
  const int n = 200000;
  for (int i = 1; i <= n; ++i) {
    double hi = x_max * i / n;
    if (!bad(hi)) continue;
    double lo = x_max * (i - 1) / n;
    for (int k = 0; k < 60; ++k) (bad(0.5 * (lo + hi)) ? hi : lo) = 0.5 * (lo + hi);
    return lo;
  }
  return x_max;
}

TestEquationOptions one_case(int q, int order, const std::string& axis) {
  TestEquationOptions o;
  o.stages = {q};
  o.orders = {order};
  o.axes = {axis};
  o.compare = {};
  return o;
}

TEST(TestEquation, StageRecurrenceMatchesTheMonomialStabilityFunction) {
  for (const char* name : {"euler", "rk4", "dopri5", "rkc1_6"}) {
    const ButcherTableau t = named_tableau(name);
    for (Complex z : {Complex(-1.3, 0.4), Complex(0, 2.1), Complex(-5, 0), Complex(0.2, -0.7)}) {
      const Complex a = tableau_stability_function(t.A, t.b, z), b = stability_function(t, z);
      EXPECT_NEAR(std::abs(a - b), 0.0, 1e-12 * std::max(1.0, std::abs(b))) << name << " z = " << z;
    }
  }
}

TEST(TestEquation, ResidualJacobianMatchesFiniteDifferences) {
  const int q = 5;
  const Mat A = testing::random_matrix(q, q, 3, 0.3).triangularView<Eigen::StrictlyLower>();
  Vec b = testing::random_matrix(q, 1, 4, 0.3).col(0);
  b(q - 1) = 1 - b.head(q - 1).sum();
  TestEquationOptions o;
  for (auto axis : {TestAxis::kReal, TestAxis::kImaginary, TestAxis::kSector}) {
    const auto z = test_spectrum(axis, 6.0, 25, 3, 20);
    const TrainableTableau shape = TrainableTableau::from_tableau(make_explicit_tableau("x", A, b));
    auto loss = [&](const Vec& x) {
      TrainableTableau t = shape;
      t.set_params(x);
      return 0.5 * test_equation_residuals(t.A(), t.b(), z, o).squaredNorm();
    };
    Mat J;
    const Vec r = test_equation_residuals(A, b, z, o, &J);
    ASSERT_GT(r.squaredNorm(), 0.0) << "the check needs active residuals";
    const Vec g = J.transpose() * r;
    EXPECT_LT(testing::relative_gradient_error(g, testing::finite_difference_gradient(loss, shape.params())), 1e-6)
        << to_string(axis);
  }
}

TEST(TestEquation, EulerIntegratesUpToTheDampingMargin) {
  // |1 - s| <= 1 - margin up to s = 2 - margin; the judging grid resolves it to its spacing.
  TestEquationOptions o;
  const double extent = test_equation_extent(named_tableau("euler"), TestAxis::kReal, 10.0, o);
  EXPECT_NEAR(extent, 2 - o.margin, 2 * 10.0 / o.judge_points);
  EXPECT_NEAR(test_equation_extent(named_tableau("euler"), TestAxis::kImaginary, 10.0, o), 0.0, 1e-3);
}

TEST(TestEquation, TrainedFourStageFirstOrderSchemeReachesMostOfTheChebyshevLimit) {
  const TestEquationSummary s = test_equation_sweep(one_case(4, 1, "real"));
  ASSERT_EQ(s.rows.size(), 1u);
  const TestEquationRow& r = s.rows[0];
  EXPECT_TRUE(r.trained);
  EXPECT_EQ(r.limit, 32.0);
  EXPECT_GE(r.real_axis_interval, 0.8 * 32);
  EXPECT_LE(r.real_axis_interval, 32 * (1 + 1e-9));  // nothing beats the Chebyshev bound
  EXPECT_GE(r.extent, 0.8 * 32);
  EXPECT_LE(r.extent, r.real_axis_interval);  // the margin makes the criterion stricter than |R| <= 1
  EXPECT_NEAR(r.real_axis_interval, bisected_real_interval(r.tableau, 40.0), 0.01 * r.real_axis_interval);
  EXPECT_NEAR(r.tableau.b.sum(), 1.0, 1e-12);
  EXPECT_GE(r.achieved_order, 1);
}

TEST(TestEquation, TrainedSecondOrderSchemesHoldBothConditions) {
  for (int q : {4, 10}) {
    const TestEquationSummary s = test_equation_sweep(one_case(q, 2, "real"));
    const TestEquationRow& r = s.rows[0];
    EXPECT_NEAR(r.tableau.b.sum(), 1.0, 1e-12);
    EXPECT_NEAR(r.tableau.b.dot(r.tableau.c), 0.5, 1e-10);
    EXPECT_GE(r.achieved_order, 2);
    EXPECT_GE(r.real_axis_interval, 0.8 * r.limit) << "q = " << q;
    EXPECT_NEAR(r.real_axis_interval, bisected_real_interval(r.tableau, 2.0 * q * q), 0.01 * r.real_axis_interval);
  }
}

TEST(TestEquation, TenStagesReachEightyPercentOfTwoQSquared) {
  const TestEquationSummary s = test_equation_sweep(one_case(10, 1, "real"));
  const TestEquationRow& r = s.rows[0];
  EXPECT_GE(r.real_axis_interval, 0.8 * 200);
  EXPECT_NEAR(r.real_axis_interval, bisected_real_interval(r.tableau, 210.0), 0.01 * r.real_axis_interval);
}

TEST(TestEquation, RefusesBadOptions) {
  TestEquationOptions o;
  EXPECT_EQ(o.validation_error(), "");
  o.orders = {3};
  EXPECT_NE(o.validation_error().find("orders"), std::string::npos);
  o = {};
  o.axes = {"diagonal"};
  EXPECT_NE(o.validation_error().find("diagonal"), std::string::npos);
  o = {};
  o.growth = 1.0;
  EXPECT_NE(o.validation_error().find("growth"), std::string::npos);
  o = {};
  o.init = "nonesuch";
  EXPECT_NE(o.validation_error().find("init"), std::string::npos);
  EXPECT_THROW(test_equation_sweep(o), std::invalid_argument);
}

}  // namespace
}  // namespace trk
