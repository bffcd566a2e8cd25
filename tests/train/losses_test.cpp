#include "trk/train/losses.h"

#include <gtest/gtest.h>

#include "gradient_check.h"
#include "trk/field/linear.h"
#include "trk/field/lorenz63.h"
#include "trk/solve/rk_step.h"
#include "trk/tableau/named_tableaux.h"

namespace trk {
namespace {

using testing::finite_difference_gradient;
using testing::relative_gradient_error;

// Gradients of the K-step rollout MSE with respect to A (strictly lower), b, theta and Z0.
void check_rollout_mse(VectorField& f, const Mat& Z0, double h, int K, double tol) {
  ButcherTableau t = named_tableau("rk4");
  Mat A = t.A;
  A(2, 0) = 0.1;  // away from the classical scheme
  A(3, 1) = -0.2;
  Vec b = t.b;
  const int d = f.dim(), n = static_cast<int>(Z0.cols()), q = 4;
  // Targets: the rollout of a slightly different field, so the loss is not at a minimum.
  std::vector<Mat> targets;
  Mat Z = Z0;
  for (int k = 0; k < K; ++k) {
    Z = Z + 0.9 * h * Z.array().sin().matrix();
    targets.push_back(Z);
  }
  const Vec theta = f.params();
  auto loss = [&](const Mat& As, const Vec& bs, const Vec& th, const Mat& Zs) {
    auto g = f.clone();
    g->set_params(th);
    return rollout_mse(*g, As, bs, h, Zs, targets).loss;
  };
  Mat A_bar, Z0_bar;
  Vec b_bar, theta_bar;
  const RolloutLoss l = rollout_mse(f, A, b, h, Z0, targets,
                                    {.A_bar = &A_bar, .b_bar = &b_bar, .theta_bar = &theta_bar, .Z0_bar = &Z0_bar});
  EXPECT_NEAR(l.loss, loss(A, b, theta, Z0), 1e-14 * std::max(1.0, l.loss));
  EXPECT_EQ(l.num_function_evaluations, q * K);
  EXPECT_EQ(l.num_vjp_evaluations, q * K);
  Vec ga = finite_difference_gradient([&](const Vec& a) { return loss(a.reshaped(q, q), b, theta, Z0); }, A.reshaped());
  for (int i = 0; i < q; ++i)
    for (int j = i; j < q; ++j) ga(j * q + i) = 0.0;
  EXPECT_LT(relative_gradient_error(A_bar.reshaped(), ga), tol) << "A";
  EXPECT_LT(relative_gradient_error(b_bar, finite_difference_gradient([&](const Vec& x) { return loss(A, x, theta, Z0); }, b)), tol) << "b";
  EXPECT_LT(relative_gradient_error(theta_bar, finite_difference_gradient([&](const Vec& x) { return loss(A, b, x, Z0); }, theta)), tol) << "theta";
  EXPECT_LT(relative_gradient_error(Z0_bar.reshaped(), finite_difference_gradient([&](const Vec& x) { return loss(A, b, theta, x.reshaped(d, n)); }, Z0.reshaped())), tol) << "Z0";
}

TEST(RolloutMse, Lorenz63GradientsMatchFiniteDifferences) {
  Lorenz63 f;
  Mat Z0(3, 3);
  Z0 << 1, -5, 8, 2, 3, 0, 20, 25, 30;
  check_rollout_mse(f, Z0, 0.05, 3, 1e-6);
}

TEST(RolloutMse, LinearGradientsMatchFiniteDifferences) {
  Mat M(2, 2);
  M << -0.5, 2.0, -2.0, -0.1;
  LinearField f(M);
  Mat Z0(2, 4);
  Z0 << 1, 0, -1, 2, 0.5, 1, 3, -2;
  check_rollout_mse(f, Z0, 0.2, 4, 1e-7);
}

TEST(RolloutMse, BoundedVersionDropsDivergingRolloutsOnly) {
  Mat M(1, 1);
  M << 1.0;
  LinearField f(M);  // z' = z: rollouts grow by e^h per step
  const ButcherTableau t = named_tableau("rk4");
  Mat Z0(1, 3);
  Z0 << 1.0, 500.0, 2.0;
  std::vector<Mat> targets = {Z0 * std::exp(1.0), Z0 * std::exp(2.0)};
  Mat A_bar;
  Vec b_bar;
  const RolloutLoss all = rollout_mse(f, t.A, t.b, 1.0, Z0, targets);
  const RolloutLoss kept = rollout_mse_bounded(f, t.A, t.b, 1.0, Z0, targets, 1000.0, {.A_bar = &A_bar, .b_bar = &b_bar});
  EXPECT_EQ(kept.num_dropped, 1);
  const Mat Z_kept = Z0(Eigen::all, std::vector<int>{0, 2});
  std::vector<Mat> t_kept = {targets[0](Eigen::all, std::vector<int>{0, 2}), targets[1](Eigen::all, std::vector<int>{0, 2})};
  EXPECT_NEAR(kept.loss, rollout_mse(f, t.A, t.b, 1.0, Z_kept, t_kept).loss, 1e-12);
  EXPECT_GT(all.loss, kept.loss);
  EXPECT_TRUE(A_bar.allFinite());
  Mat huge = Mat::Constant(1, 2, 1e6);
  EXPECT_TRUE(std::isinf(rollout_mse_bounded(f, t.A, t.b, 1.0, huge, {huge, huge}, 1000.0).loss));
}

// Moment loss (rollout_moment_loss): gradients with respect to A, b, theta and Z0 against central differences.
void check_moment_loss(VectorField& f, const Mat& Z0, double h, int K, double tol) {
  ButcherTableau t = named_tableau("rk4");
  Mat A = t.A;
  A(2, 0) = 0.1;
  A(3, 1) = -0.2;
  Vec b = t.b;
  const int d = f.dim(), n = static_cast<int>(Z0.cols()), q = 4;
  std::vector<Mat> targets;
  Mat Z = Z0;
  for (int k = 0; k < K; ++k) {
    Z = Z + 0.9 * h * Z.array().sin().matrix();
    targets.push_back(Z);
  }
  const Vec center = Z0.rowwise().mean();
  const Vec scale = Vec::LinSpaced(d, 2.0, 5.0);
  const Vec theta = f.params();
  auto loss = [&](const Mat& As, const Vec& bs, const Vec& th, const Mat& Zs) {
    auto g = f.clone();
    g->set_params(th);
    return rollout_moment_loss(*g, As, bs, h, Zs, targets, center, scale).loss;
  };
  Mat A_bar, Z0_bar;
  Vec b_bar, theta_bar;
  const RolloutLoss l = rollout_moment_loss(f, A, b, h, Z0, targets, center, scale,
                                            {.A_bar = &A_bar, .b_bar = &b_bar, .theta_bar = &theta_bar, .Z0_bar = &Z0_bar});
  ASSERT_GT(l.loss, 0);
  EXPECT_NEAR(l.loss, loss(A, b, theta, Z0), 1e-14 * std::max(1.0, l.loss));
  Vec ga = finite_difference_gradient([&](const Vec& a) { return loss(a.reshaped(q, q), b, theta, Z0); }, A.reshaped());
  for (int i = 0; i < q; ++i)
    for (int j = i; j < q; ++j) ga(j * q + i) = 0.0;
  EXPECT_LT(relative_gradient_error(A_bar.reshaped(), ga), tol) << "A";
  EXPECT_LT(relative_gradient_error(b_bar, finite_difference_gradient([&](const Vec& x) { return loss(A, x, theta, Z0); }, b)), tol) << "b";
  EXPECT_LT(relative_gradient_error(theta_bar, finite_difference_gradient([&](const Vec& x) { return loss(A, b, x, Z0); }, theta)), tol) << "theta";
  EXPECT_LT(relative_gradient_error(Z0_bar.reshaped(), finite_difference_gradient([&](const Vec& x) { return loss(A, b, theta, x.reshaped(d, n)); }, Z0.reshaped())), tol) << "Z0";
}

TEST(RolloutMomentLoss, Lorenz63GradientsMatchFiniteDifferences) {
  Lorenz63 f;
  Mat Z0(3, 4);
  Z0 << 1, -5, 8, 3, 2, 3, 0, -4, 20, 25, 30, 12;
  check_moment_loss(f, Z0, 0.05, 3, 1e-6);
}

TEST(RolloutMomentLoss, LinearGradientsMatchFiniteDifferences) {
  Mat M(2, 2);
  M << -0.5, 2.0, -2.0, -0.1;
  LinearField f(M);
  Mat Z0(2, 4);
  Z0 << 1, 0, -1, 2, 0.5, 1, 3, -2;
  check_moment_loss(f, Z0, 0.2, 4, 1e-7);
}

// The exact moments give zero loss: targets equal to the rollout itself.
TEST(RolloutMomentLoss, ZeroForTheSchemesOwnRollout) {
  Lorenz63 f;
  const ButcherTableau t = named_tableau("rk4");
  Mat Z0(3, 2);
  Z0 << 1, -5, 2, 3, 20, 25;
  std::vector<Mat> targets;
  Mat Z = Z0, Zn(3, 2);
  CountedField cf(f);
  StageTape tape;
  for (int k = 0; k < 2; ++k) {
    rk_step(cf, t, 0.02, Z, Zn, tape);
    Z = Zn;
    targets.push_back(Z);
  }
  EXPECT_LT(rollout_moment_loss(f, t.A, t.b, 0.02, Z0, targets, Vec::Zero(3), Vec::Ones(3)).loss, 1e-24);
}

}  // namespace
}  // namespace trk
