#include "trk/solve/rk_step.h"

#include <gtest/gtest.h>

#include <random>

#include "gradient_check.h"
#include "trk/field/linear.h"
#include "trk/field/lorenz63.h"
#include "trk/tableau/named_tableaux.h"

namespace trk {
namespace {

using testing::finite_difference_gradient;
using testing::relative_gradient_error;

// A random explicit 5-stage scheme (not of any particular order).
void random_scheme(Mat& A, Vec& b, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-0.5, 0.8);
  const int q = 5;
  A = Mat::Zero(q, q);
  b = Vec(q);
  for (int i = 0; i < q; ++i) {
    b(i) = u(rng);
    for (int j = 0; j < i; ++j) A(i, j) = u(rng);
  }
}

// L = <W, Z_N> after N steps from Z0; gradients by the reverse pass over N recorded tapes.
void check_rollout_gradients(VectorField& f, const Mat& Z0, double h, int num_steps, double tol) {
  Mat A;
  Vec b;
  random_scheme(A, b, 7);
  const int q = static_cast<int>(b.size()), d = f.dim();
  const Eigen::Index n = Z0.cols();
  std::mt19937_64 rng(3);
  std::normal_distribution<double> nd;
  Mat W(d, n);
  for (auto& w : W.reshaped()) w = nd(rng);

  auto rollout = [&](const Mat& Zs, const Vec& theta, const Mat& As, const Vec& bs, double hs,
                     std::vector<StageTape>* tapes) {
    auto g = f.clone();
    g->set_params(theta);
    CountedField cf(*g);
    Mat Z = Zs, Zn(d, n);
    for (int s = 0; s < num_steps; ++s) {
      StageTape local;
      StageTape& tape = tapes ? (*tapes)[s] : local;
      rk_step(cf, As, bs, hs, Z, Zn, tape);
      Z.swap(Zn);
    }
    return Z;
  };
  const Vec theta = f.params();
  std::vector<StageTape> tapes(num_steps);
  rollout(Z0, theta, A, b, h, &tapes);

  CountedField cf(f);
  Mat Z_bar = W, Z_prev_bar;
  Vec theta_bar = Vec::Zero(f.num_params()), b_bar = Vec::Zero(q);
  Mat A_bar = Mat::Zero(q, q);
  double h_bar = 0.0;
  for (int s = num_steps - 1; s >= 0; --s) {
    rk_step_reverse(cf, A, b, h, tapes[s], Z_bar,
                    {.Z_bar = &Z_prev_bar, .theta_bar = &theta_bar, .A_bar = &A_bar, .b_bar = &b_bar, .h_bar = &h_bar});
    Z_bar = Z_prev_bar;
  }
  EXPECT_EQ(cf.num_vjp_evaluations(), q * num_steps);
  auto loss = [&](const Mat& Zs, const Vec& th, const Mat& As, const Vec& bs, double hs) {
    return (W.array() * rollout(Zs, th, As, bs, hs, nullptr).array()).sum();
  };
  const Vec gz = finite_difference_gradient([&](const Vec& z) { return loss(z.reshaped(d, n), theta, A, b, h); },
                                            Z0.reshaped());
  EXPECT_LT(relative_gradient_error(Z_bar.reshaped(), gz), tol) << "Z0";
  const Vec gt = finite_difference_gradient([&](const Vec& th) { return loss(Z0, th, A, b, h); }, theta);
  EXPECT_LT(relative_gradient_error(theta_bar, gt), tol) << "theta";
  const Vec gb = finite_difference_gradient([&](const Vec& bs) { return loss(Z0, theta, A, bs, h); }, b);
  EXPECT_LT(relative_gradient_error(b_bar, gb), tol) << "b";
  const Vec ga = finite_difference_gradient([&](const Vec& a) { return loss(Z0, theta, a.reshaped(q, q), b, h); },
                                            A.reshaped());
  // Only the strictly lower entries of A are parameters; the others have a zero gradient both ways.
  Vec ga_lower = ga;
  for (int i = 0; i < q; ++i)
    for (int j = i; j < q; ++j) ga_lower(j * q + i) = 0.0;
  EXPECT_LT(relative_gradient_error(A_bar.reshaped(), ga_lower), tol) << "A";
  const Vec gh = finite_difference_gradient([&](const Vec& hv) { return loss(Z0, theta, A, b, hv(0)); },
                                            Vec::Constant(1, h));
  EXPECT_LT(std::abs(h_bar - gh(0)) / std::max(1.0, std::abs(gh(0))), tol) << "h";
}

TEST(RkStepReverse, Lorenz63RolloutGradientsMatchFiniteDifferences) {
  Lorenz63 f;
  Mat Z0(3, 4);
  Z0 << 1, -5, 8, 0.5, 2, 3, 0, -7, 20, 25, 30, 15;
  check_rollout_gradients(f, Z0, 0.02, 3, 1e-6);
}

TEST(RkStepReverse, LinearRolloutGradientsMatchFiniteDifferences) {
  Mat M(2, 2);
  M << -0.3, 1.2, -0.8, 0.1;
  LinearField f(M);
  Mat Z0(2, 3);
  Z0 << 1, 0, -2, 0.5, 1, 3;
  check_rollout_gradients(f, Z0, 0.3, 4, 1e-7);
}

TEST(RkStep, ReusesAKnownFirstStage) {
  Lorenz63 f;
  CountedField cf(f);
  const ButcherTableau t = named_tableau("rk4");
  Mat Z = Mat::Constant(3, 2, 1.0), Zn1(3, 2), Zn2(3, 2);
  StageTape tape;
  rk_step(cf, t, 0.01, Z, Zn1, tape);
  EXPECT_EQ(cf.num_evaluations(), 4);
  rk_step(cf, t, 0.01, Z, Zn2, tape, /*k1_known=*/true);
  EXPECT_EQ(cf.num_evaluations(), 7);
  EXPECT_EQ((Zn1 - Zn2).norm(), 0.0);
}

}  // namespace
}  // namespace trk
