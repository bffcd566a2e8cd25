#include "trk/train/fused_bilinear_mse.h"

#include <gtest/gtest.h>

#include <cstring>

#include "gradient_check.h"
#include "trk/core/rng.h"
#include "trk/field/bilinear.h"
#include "trk/tableau/named_tableaux.h"

namespace trk {
namespace {

using testing::finite_difference_gradient;
using testing::relative_gradient_error;

bool same_bits(double x, double y) { return std::memcmp(&x, &y, sizeof(double)) == 0; }

::testing::AssertionResult same_bits(const Mat& x, const Mat& y) {
  if (x.rows() != y.rows() || x.cols() != y.cols()) return ::testing::AssertionFailure() << "shapes differ";
  for (Eigen::Index i = 0; i < x.size(); ++i)
    if (!same_bits(x.data()[i], y.data()[i]))
      return ::testing::AssertionFailure() << "entry " << i << ": " << x.data()[i] << " against " << y.data()[i]
                                           << " (difference " << x.data()[i] - y.data()[i] << ")";
  return ::testing::AssertionSuccess();
}

// A dense strictly lower A with a few zeros (skipped terms), b summing to about one.
void scheme(int q, std::uint64_t seed, Mat& A, Vec& b) {
  Rng rng(seed);
  A = Mat::Zero(q, q);
  for (int i = 1; i < q; ++i)
    for (int j = 0; j < i; ++j) A(i, j) = (i + j) % 5 == 3 ? 0.0 : rng.uniform(-0.3, 0.5);
  b.resize(q);
  for (int i = 0; i < q; ++i) b(i) = i == q / 2 ? 0.0 : rng.uniform(0.0, 2.0 / q);
}

Mat random_states(long n, std::uint64_t seed, double scale) {
  Rng rng(seed);
  Mat Z(3, n);
  for (Eigen::Index i = 0; i < Z.size(); ++i) Z.data()[i] = scale * rng.uniform(-1.0, 1.0);
  return Z;
}

struct Result {
  RolloutLoss loss;
  Mat A_bar;
  Vec b_bar, theta_bar;
};

Result fused(const BilinearField& f, const Mat& A, const Vec& b, double h, const Mat& Z0, const Mat& Y) {
  Result r;
  EXPECT_TRUE(fused_bilinear_mse(f, A, b, h, Z0, Y, {.A_bar = &r.A_bar, .b_bar = &r.b_bar, .theta_bar = &r.theta_bar},
                                 r.loss));
  return r;
}
Result stepwise(const BilinearField& f, const Mat& A, const Vec& b, double h, const Mat& Z0, const Mat& Y) {
  Result r;
  r.loss = rollout_mse_stepwise(f, A, b, h, Z0, {Y}, {.A_bar = &r.A_bar, .b_bar = &r.b_bar, .theta_bar = &r.theta_bar});
  return r;
}

// The fused pass against the stepwise one, bit for bit: loss, theta_bar, A_bar, b_bar, NFE; over batch sizes with
// every tail of n mod 8 states and of 3n mod 16 elements, partial last blocks, and several schemes.
TEST(FusedBilinearMse, EqualsTheStepwisePathBitForBit) {
  if (!fused_bilinear_mse_available()) GTEST_SKIP() << "no fused path in this build";
  std::vector<long> sizes;
  for (long n = 16; n <= 48; ++n) sizes.push_back(n);
  for (long n : {100L, 150L, 200L, 240L, 247L, 248L, 249L, 250L, 251L, 252L, 253L, 254L, 255L, 256L}) sizes.push_back(n);
  for (int q : {4, 10, 13}) {
    for (long n : sizes) {
      SCOPED_TRACE("q = " + std::to_string(q) + ", n = " + std::to_string(n));
      Mat A;
      Vec b;
      scheme(q, 10 + q, A, b);
      BilinearField f(3, 3, 7 + n);
      const Mat Z0 = random_states(n, 100 + n, 15.0), Y = random_states(n, 200 + n, 15.0);
      const Result x = fused(f, A, b, 0.2, Z0, Y), y = stepwise(f, A, b, 0.2, Z0, Y);
      EXPECT_TRUE(same_bits(x.loss.loss, y.loss.loss)) << x.loss.loss << " against " << y.loss.loss;
      EXPECT_TRUE(same_bits(x.theta_bar, y.theta_bar)) << "theta_bar";
      EXPECT_TRUE(same_bits(x.A_bar, y.A_bar)) << "A_bar";
      EXPECT_TRUE(same_bits(x.b_bar, y.b_bar)) << "b_bar";
      EXPECT_EQ(x.loss.num_function_evaluations, y.loss.num_function_evaluations);
      EXPECT_EQ(x.loss.num_vjp_evaluations, y.loss.num_vjp_evaluations);
    }
  }
}

// rollout_mse takes the fused path where it applies (same numbers) and the stepwise one elsewhere.
TEST(FusedBilinearMse, RolloutMseDispatches) {
  if (!fused_bilinear_mse_available()) GTEST_SKIP() << "no fused path in this build";
  const ButcherTableau t = named_tableau("rk4");
  BilinearField f;
  for (long n : {5L, 250L, 300L}) {
    const Mat Z0 = random_states(n, 1, 10.0), Y = random_states(n, 2, 10.0);
    Vec g1, g2;
    const double l1 = rollout_mse(f, t.A, t.b, 0.1, Z0, {Y}, {.theta_bar = &g1}).loss;
    const double l2 = rollout_mse_stepwise(f, t.A, t.b, 0.1, Z0, {Y}, {.theta_bar = &g2}).loss;
    EXPECT_TRUE(same_bits(l1, l2));
    EXPECT_TRUE(same_bits(g1, g2));
    RolloutLoss out;
    EXPECT_EQ(fused_bilinear_mse(f, t.A, t.b, 0.1, Z0, Y, {}, out), n >= 16 && n <= 256);
  }
  BilinearField wide(3, 4);
  RolloutLoss out;
  EXPECT_FALSE(fused_bilinear_mse(wide, t.A, t.b, 0.1, random_states(32, 1, 1.0), random_states(32, 2, 1.0), {}, out));
  Mat Z0_bar;
  EXPECT_FALSE(fused_bilinear_mse(f, t.A, t.b, 0.1, random_states(32, 1, 1.0), random_states(32, 2, 1.0),
                                  {.Z0_bar = &Z0_bar}, out));
}

// Only some gradients wanted, or none: the same numbers for those given.
TEST(FusedBilinearMse, PartialGradients) {
  if (!fused_bilinear_mse_available()) GTEST_SKIP() << "no fused path in this build";
  Mat A;
  Vec b;
  scheme(10, 3, A, b);
  BilinearField f(3, 3, 4);
  const Mat Z0 = random_states(250, 5, 15.0), Y = random_states(250, 6, 15.0);
  Vec t1, t2, b1, b2;
  RolloutLoss l1, l3;
  ASSERT_TRUE(fused_bilinear_mse(f, A, b, 0.2, Z0, Y, {.theta_bar = &t1}, l1));
  const RolloutLoss l2 = rollout_mse_stepwise(f, A, b, 0.2, Z0, {Y}, {.theta_bar = &t2});
  EXPECT_TRUE(same_bits(t1, t2));
  EXPECT_TRUE(same_bits(l1.loss, l2.loss));
  ASSERT_TRUE(fused_bilinear_mse(f, A, b, 0.2, Z0, Y, {.b_bar = &b1}, l1));
  rollout_mse_stepwise(f, A, b, 0.2, Z0, {Y}, {.b_bar = &b2});
  EXPECT_TRUE(same_bits(b1, b2));
  ASSERT_TRUE(fused_bilinear_mse(f, A, b, 0.2, Z0, Y, {}, l3));
  EXPECT_TRUE(same_bits(l3.loss, l2.loss));
  EXPECT_EQ(l3.num_vjp_evaluations, 0);
}

// A step that overflows: infinite loss and zero gradients, as the stepwise path.
TEST(FusedBilinearMse, NonFiniteLoss) {
  if (!fused_bilinear_mse_available()) GTEST_SKIP() << "no fused path in this build";
  Mat A;
  Vec b;
  scheme(10, 3, A, b);
  BilinearField f(3, 3, 4);
  const Mat Z0 = random_states(64, 5, 1e120), Y = random_states(64, 6, 1.0);
  const Result x = fused(f, A, b, 0.2, Z0, Y), y = stepwise(f, A, b, 0.2, Z0, Y);
  EXPECT_TRUE(std::isinf(x.loss.loss));
  EXPECT_TRUE(same_bits(x.loss.loss, y.loss.loss));
  EXPECT_TRUE(same_bits(x.theta_bar, y.theta_bar));
  EXPECT_TRUE(same_bits(x.A_bar, y.A_bar));
  EXPECT_EQ(x.theta_bar.norm(), 0.0);
}

// Gradients of the fused loss against finite differences of the fused loss (theta, A strictly lower, b).
TEST(FusedBilinearMse, GradientsMatchFiniteDifferences) {
  if (!fused_bilinear_mse_available()) GTEST_SKIP() << "no fused path in this build";
  Mat A;
  Vec b;
  scheme(10, 8, A, b);
  BilinearField f(3, 3, 9);
  const double h = 0.1;
  const Mat Z0 = random_states(37, 11, 3.0), Y = random_states(37, 12, 3.0);
  auto loss = [&](const Mat& As, const Vec& bs, const Vec& th) {
    BilinearField g = f;
    g.set_params(th);
    RolloutLoss l;
    EXPECT_TRUE(fused_bilinear_mse(g, As, bs, h, Z0, Y, {}, l));
    return l.loss;
  };
  const Vec theta = f.params();
  const Result r = fused(f, A, b, h, Z0, Y);
  const int q = 10;
  Vec ga = finite_difference_gradient([&](const Vec& a) { return loss(a.reshaped(q, q), b, theta); }, A.reshaped());
  for (int i = 0; i < q; ++i)
    for (int j = i; j < q; ++j) ga(j * q + i) = 0.0;
  EXPECT_LT(relative_gradient_error(r.A_bar.reshaped(), ga), 1e-6) << "A";
  EXPECT_LT(relative_gradient_error(r.b_bar, finite_difference_gradient([&](const Vec& x) { return loss(A, x, theta); }, b)),
            1e-6)
      << "b";
  EXPECT_LT(relative_gradient_error(r.theta_bar,
                                    finite_difference_gradient([&](const Vec& x) { return loss(A, b, x); }, theta)),
            1e-6)
      << "theta";
}

}  // namespace
}  // namespace trk
