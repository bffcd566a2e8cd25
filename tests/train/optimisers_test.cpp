// The optimisers of train/: L-BFGS and Levenberg-Marquardt reach the minimum of small problems with their
// constraints held; Adam guarded by OnDivergence restores the last good parameters and stops or halves the
// learning rate as its policy says.
#include <gtest/gtest.h>

#include <cmath>

#include "trk/train/guarded_adam.h"
#include "trk/train/lbfgs.h"
#include "trk/train/levenberg_marquardt.h"

namespace trk {
namespace {

// Rosenbrock in 2-D: minimum 0 at (1, 1).
double rosenbrock(const Vec& x, Vec& g) {
  g.resize(2);
  g(0) = -2 * (1 - x(0)) - 400 * x(0) * (x(1) - x(0) * x(0));
  g(1) = 200 * (x(1) - x(0) * x(0));
  return std::pow(1 - x(0), 2) + 100 * std::pow(x(1) - x(0) * x(0), 2);
}

TEST(Lbfgs, MinimisesRosenbrock) {
  LbfgsProblem p{.evaluate = rosenbrock};
  Vec x(2);
  x << -1.2, 1.0;
  LbfgsState st = lbfgs_start(p, x);
  for (int it = 0; it < 200 && lbfgs_iteration(p, {}, x, st);) ++it;
  EXPECT_NEAR(x(0), 1.0, 1e-5);
  EXPECT_NEAR(x(1), 1.0, 1e-5);
  EXPECT_LT(st.loss, 1e-10);
  EXPECT_LE(st.s.size(), 20u);
}

// A quadratic on {x1 + x2 + x3 = 1}: the projected gradient keeps every iterate on the plane.
TEST(Lbfgs, StaysOnTheConstraintWithAProjectedGradient) {
  const Vec target = (Vec(3) << 2.0, -1.0, 0.5).finished();
  LbfgsProblem p;
  p.evaluate = [&](const Vec& x, Vec& g) {
    g = 2 * (x - target);
    return (x - target).squaredNorm();
  };
  p.project_gradient = [](Vec g) { return Vec(g.array() - g.mean()); };
  Vec x = Vec::Constant(3, 1.0 / 3.0);
  LbfgsState st = lbfgs_start(p, x);
  for (int it = 0; it < 50 && lbfgs_iteration(p, {}, x, st); ++it) EXPECT_NEAR(x.sum(), 1.0, 1e-12);
  // The minimum on the plane: target - ((sum target - 1) / 3) 1.
  EXPECT_NEAR((x - (target.array() - (target.sum() - 1) / 3).matrix()).norm(), 0.0, 1e-8);
}

TEST(LevenbergMarquardt, FitsAnExponential) {
  // y = 2 exp(-0.7 t) at 20 points; residuals a exp(b t) - y.
  Vec t = Vec::LinSpaced(20, 0.0, 3.0), y = 2.0 * (-0.7 * t.array()).exp().matrix();
  LevenbergMarquardtProblem p;
  p.residuals = [&](const Vec& x) { return Vec((x(0) * (x(1) * t.array()).exp()).matrix() - y); };
  p.normal_equations = [&](const Vec& x, const Vec& r, Mat& JTJ, Vec& JTr) {
    Mat J(t.size(), 2);
    J.col(0) = (x(1) * t.array()).exp().matrix();
    J.col(1) = (x(0) * t.array() * (x(1) * t.array()).exp()).matrix();
    JTJ = J.transpose() * J;
    JTr = J.transpose() * r;
  };
  Vec x = (Vec(2) << 1.0, 0.0).finished();
  LevenbergMarquardtState st = levenberg_marquardt_start(p, x);
  const double first = st.loss;
  for (int it = 0; it < 100 && levenberg_marquardt_iteration(p, x, st); ++it) {
  }
  EXPECT_LT(st.loss, 1e-20 * std::max(1.0, first));
  EXPECT_NEAR(x(0), 2.0, 1e-8);
  EXPECT_NEAR(x(1), -0.7, 1e-8);
}

TEST(GuardedAdam, StopRestoresAndStopsAfterTenInARow) {
  Vec x = Vec::Ones(3);
  GuardedAdam adam(x, {.learning_rate = 0.1}, 100, OnDivergence::kStop);
  adam.step(x, Vec::Ones(3));  // a good step: x moved, the old x is the last good one
  EXPECT_LT(x(0), 1.0);
  std::string said;
  for (int k = 1; k < 10; ++k) {
    x.setConstant(std::nan(""));
    EXPECT_FALSE(adam.diverged(x, said)) << k;
    EXPECT_EQ(x, Vec::Ones(3));
  }
  EXPECT_TRUE(adam.diverged(x, said));
  EXPECT_EQ(adam.state().bad_in_a_row, 10);
}

TEST(GuardedAdam, AFiniteLossAtTheRestoredParametersDoesNotResetTheCount) {
  Vec x = Vec::Ones(2);
  GuardedAdam adam(x, {.learning_rate = 0.1}, 100, OnDivergence::kStop);
  std::string said;
  adam.diverged(x, said);
  adam.step(x, Vec::Ones(2));  // finite loss at the restored parameters: the count stays
  EXPECT_EQ(adam.state().bad_in_a_row, 1);
  adam.step(x, Vec::Ones(2));  // finite loss after a step from there: reset
  EXPECT_EQ(adam.state().bad_in_a_row, 0);
}

TEST(GuardedAdam, LowerLrHalvesTenTimesThenStops) {
  Vec x = Vec::Ones(2);
  GuardedAdam adam(x, {.learning_rate = 0.1}, 100, OnDivergence::kLowerLr);
  std::string said;
  for (int k = 1; k <= 10; ++k) {
    EXPECT_FALSE(adam.diverged(x, said));
    EXPECT_DOUBLE_EQ(adam.learning_rate(), 0.1 * std::pow(0.5, k));
  }
  EXPECT_EQ(adam.halvings(), 10);
  for (int k = 1; k < 10; ++k) EXPECT_FALSE(adam.diverged(x, said));
  EXPECT_TRUE(adam.diverged(x, said));
  // The state restores exactly.
  GuardedAdam copy(x, {.learning_rate = 0.1}, 100, OnDivergence::kLowerLr);
  copy.restore(adam.state());
  EXPECT_EQ(copy.learning_rate(), adam.learning_rate());
  EXPECT_EQ(copy.halvings(), 10);
}

}  // namespace
}  // namespace trk
