#include "trk/train/adaptive_loss.h"

#include <gtest/gtest.h>

#include "gradient_check.h"
#include "trk/field/linear.h"
#include "trk/field/lorenz63.h"
#include "trk/tableau/named_tableaux.h"

namespace trk {
namespace {

// With the step sizes frozen at those the forward solve chose, theta_bar is the exact gradient of the replayed
// fixed-step map; finite differences that also freeze the steps must agree to rounding.
TEST(AdaptiveFlowMse, GradientThroughAcceptedStepsMatchesFrozenStepFiniteDifferences) {
  Lorenz63 f;
  Mat Z0(3, 2), Y(3, 2);
  Z0 << 1, -5, 2, 3, 20, 25;
  Y << 0, -4, 1, 2, 19, 24;
  const ButcherTableau t = named_tableau("dopri8");
  AdaptiveOptions o;
  o.control.rtol = 1e-7;
  o.control.atol = 1e-9;
  Vec theta_bar;
  const AdaptiveFlowLoss l = adaptive_flow_mse(f, t, 0.2, Z0, Y, o, &theta_bar);
  ASSERT_EQ(l.status, SolveStatus::kSuccess);
  EXPECT_GT(l.stats.num_accepted, 1);
  EXPECT_EQ(l.num_forward_evaluations, l.stats.num_function_evaluations);
  // Backward: replay (q per accepted step) + one vjp per stage.
  EXPECT_EQ(l.num_backward_evaluations, 1L * t.num_stages() * l.stats.num_accepted);  // vjps: no replay
  o.record_steps = true;
  const Solution s = integrate_adaptive(f, t, Z0, 0.0, 0.2, o);
  auto frozen = [&](const Vec& theta) {
    Lorenz63 g;
    g.set_params(theta);
    Mat Z = Z0;
    for (double hk : s.accepted_steps) Z = integrate_fixed(g, t, Z, hk, 1).z;
    return (Z - Y).squaredNorm() / Z.size();
  };
  EXPECT_NEAR(l.loss, frozen(f.params()), 1e-12 * l.loss);
  const Vec g = testing::finite_difference_gradient(frozen, f.params());
  EXPECT_LT(testing::relative_gradient_error(theta_bar, g), 1e-6);
}

// Meet in the middle: half a step forward from Z0 against half a step backward from Y, both with their accepted
// steps frozen; the gradient flows through both solves.
TEST(AdaptiveMeetMse, GradientThroughBothHalvesMatchesFrozenStepFiniteDifferences) {
  Lorenz63 f;
  Mat Z0(3, 2), Y(3, 2);
  Z0 << 1, -5, 2, 3, 20, 25;
  Y << 0, -4, 1, 2, 19, 24;
  const ButcherTableau t = named_tableau("dopri8");
  AdaptiveOptions o;
  o.control.rtol = 1e-7;
  o.control.atol = 1e-9;
  Vec theta_bar;
  const AdaptiveFlowLoss l = adaptive_meet_mse(f, t, 0.4, Z0, Y, o, &theta_bar);
  ASSERT_EQ(l.status, SolveStatus::kSuccess);
  o.record_steps = true;
  const Solution fw = integrate_adaptive(f, t, Z0, 0.0, 0.2, o), bw = integrate_adaptive(f, t, Y, 0.0, -0.2, o);
  EXPECT_GT(fw.stats.num_accepted, 1);
  EXPECT_GT(bw.stats.num_accepted, 1);
  for (double hk : bw.accepted_steps) EXPECT_LT(hk, 0.0);
  EXPECT_EQ(l.num_forward_evaluations, fw.stats.num_function_evaluations + bw.stats.num_function_evaluations);
  EXPECT_EQ(l.num_backward_evaluations, 1L * t.num_stages() * (fw.stats.num_accepted + bw.stats.num_accepted));
  auto frozen = [&](const Vec& theta) {
    Lorenz63 g;
    g.set_params(theta);
    Mat F = Z0, B = Y;
    for (double hk : fw.accepted_steps) F = integrate_fixed(g, t, F, hk, 1).z;
    for (double hk : bw.accepted_steps) B = integrate_fixed(g, t, B, hk, 1).z;
    return (F - B).squaredNorm() / F.size();
  };
  EXPECT_NEAR(l.loss, frozen(f.params()), 1e-12 * l.loss);
  const Vec g = testing::finite_difference_gradient(frozen, f.params());
  EXPECT_LT(testing::relative_gradient_error(theta_bar, g), 1e-6);
}

TEST(AdaptiveFlowMse, FailedSolveGivesInfiniteLossNotACrash) {
  Mat M(1, 1);
  M << 1e6;
  LinearField f(M);
  AdaptiveOptions o;
  o.max_steps = 20;
  Vec theta_bar;
  const AdaptiveFlowLoss l = adaptive_flow_mse(f, named_tableau("dopri8"), 1.0, Mat::Ones(1, 1), Mat::Ones(1, 1), o,
                                               &theta_bar);
  EXPECT_NE(l.status, SolveStatus::kSuccess);
  EXPECT_TRUE(std::isinf(l.loss));
  EXPECT_EQ(theta_bar.norm(), 0.0);
}

}  // namespace
}  // namespace trk
