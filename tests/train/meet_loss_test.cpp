#include "trk/train/meet_loss.h"

#include <gtest/gtest.h>

#include "gradient_check.h"
#include "trk/field/bilinear.h"
#include "trk/tableau/named_tableaux.h"

namespace trk {
namespace {

using testing::finite_difference_gradient;
using testing::relative_gradient_error;

TEST(MeetInTheMiddleMse, GradientsMatchFiniteDifferences) {
  BilinearField f(3, 3, 7);
  const Mat Z0 = testing::random_matrix(3, 5, 1, 2.0), Z1 = testing::random_matrix(3, 5, 2, 2.0);
  Mat A = named_tableau("rk4").A;
  A(3, 0) = 0.2;
  const Vec b = named_tableau("rk4").b;
  const double h = 0.3;
  const Vec theta = f.params();
  auto loss = [&](const Mat& As, const Vec& bs, const Vec& th) {
    BilinearField g = f;
    g.set_params(th);
    return meet_in_the_middle_mse(g, As, bs, h, Z0, Z1).loss;
  };
  Mat A_bar;
  Vec b_bar, theta_bar;
  const RolloutLoss l = meet_in_the_middle_mse(f, A, b, h, Z0, Z1, {.A_bar = &A_bar, .b_bar = &b_bar, .theta_bar = &theta_bar});
  EXPECT_GT(l.loss, 0.0);
  EXPECT_EQ(l.num_function_evaluations, 8);
  EXPECT_EQ(l.num_vjp_evaluations, 8);
  EXPECT_LT(relative_gradient_error(theta_bar, finite_difference_gradient([&](const Vec& x) { return loss(A, b, x); }, theta)), 1e-6);
  EXPECT_LT(relative_gradient_error(b_bar, finite_difference_gradient([&](const Vec& x) { return loss(A, x, theta); }, b)), 1e-6);
  Vec ga = finite_difference_gradient([&](const Vec& a) { return loss(a.reshaped(4, 4), b, theta); }, A.reshaped());
  for (int i = 0; i < 4; ++i)
    for (int j = i; j < 4; ++j) ga(j * 4 + i) = 0.0;
  EXPECT_LT(relative_gradient_error(A_bar.reshaped(), ga), 1e-6);
}

TEST(MeetInTheMiddleMse, ZeroForTheExactHalfStepsOfALinearFlow) {
  // Euler's half steps of z' = 0 meet exactly: the loss vanishes for Z1 = Z0.
  BilinearField f(3, 3, 1);
  f.set_params(Vec::Zero(f.num_params()));
  const Mat Z0 = testing::random_matrix(3, 4, 3, 1.0);
  const ButcherTableau e = named_tableau("euler");
  EXPECT_EQ(meet_in_the_middle_mse(f, e.A, e.b, 0.4, Z0, Z0).loss, 0.0);
  EXPECT_GT(meet_in_the_middle_mse(f, e.A, e.b, 0.4, Z0, Z0 * 2.0).loss, 0.0);
}

}  // namespace
}  // namespace trk
