#include "trk/experiment/generate.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <numbers>

#include "trk/field/kuramoto_sivashinsky.h"
#include "trk/field/systems.h"
#include "trk/solve/integrate.h"
#include "trk/tableau/named_tableaux.h"

namespace trk {
namespace {

GenerateOptions small() {
  GenerateOptions o;
  o.h = 0.2;
  o.train_steps = 50;
  o.test_steps = 20;
  o.test_trajectories = 2;
  o.seed = 4;
  return o;
}

TEST(Generate, SamplesMatchAnIndependentFineFixedStepSolve) {
  const Dataset d = generate(small());
  ASSERT_EQ(d.train.num_trajectories(), 1);
  ASSERT_EQ(d.train.num_times(), 51);
  ASSERT_EQ(d.dim(), 3);
  EXPECT_DOUBLE_EQ(d.train.t(50), 10.0);
  // Independent check: classical RK4 with 1000 steps per sample (error ~ 1e-7 over 10 time units).
  const auto f = make_system("lorenz63", {});
  Mat z = d.train.states[0].col(0);
  double worst = 0.0;
  for (int k = 1; k <= 50; ++k) {
    z = integrate_fixed(*f, named_tableau("rk4"), z, 0.2 / 1000, 1000).z;
    worst = std::max(worst, (z - d.train.states[0].col(k)).cwiseAbs().maxCoeff());
  }
  EXPECT_LT(worst, 1e-6);
  EXPECT_GT(worst, 0.0);
}

TEST(Generate, StartsOnTheAttractorAndTestTrajectoriesStartElsewhere) {
  const Dataset d = generate(small());
  ASSERT_EQ(d.test.num_trajectories(), 2);
  EXPECT_EQ(d.test.num_times(), 21);
  const Vec z0 = d.train.states[0].col(0);
  EXPECT_GT((z0 - Vec{{8.0, 0.0, 30.0}}).norm(), 1.0);  // spun up
  const Vec a = d.test.states[0].col(0), b = d.test.states[1].col(0);
  EXPECT_GT((a - z0).norm(), 1.0);
  EXPECT_GT((a - b).norm(), 1.0);
  EXPECT_LT(a.cwiseAbs().maxCoeff(), 60.0);
}

TEST(Generate, SameSeedSameNumbersOtherSeedOtherTestStarts) {
  const Dataset a = generate(small()), b = generate(small());
  EXPECT_EQ((a.test.states[1] - b.test.states[1]).norm(), 0.0);
  GenerateOptions o = small();
  o.seed = 5;
  const Dataset c = generate(o);
  EXPECT_EQ((a.train.states[0] - c.train.states[0]).norm(), 0.0);
  EXPECT_GT((a.test.states[0] - c.test.states[0]).norm(), 1.0);
}

TEST(Generate, NoiseOnTrainingSamplesOnly) {
  GenerateOptions o = small();
  o.noise = 0.5;
  const Dataset clean = generate(small()), noisy = generate(o);
  const Mat diff = noisy.train.states[0] - clean.train.states[0];
  EXPECT_NEAR(std::sqrt(diff.squaredNorm() / diff.size()), 0.5, 0.1);
  EXPECT_EQ((noisy.test.states[0] - clean.test.states[0]).norm(), 0.0);
}

TEST(Generate, Lorenz96AndInvalidOptions) {
  GenerateOptions o = small();
  o.system = "lorenz96";
  o.parameters = {{"n", 10}};
  const Dataset d = generate(o);
  EXPECT_EQ(d.dim(), 10);
  o = small();
  o.h = 0;
  EXPECT_NE(o.validation_error(), "");
  EXPECT_THROW(generate(o), std::invalid_argument);
  o = small();
  o.system = "lorenz84";
  EXPECT_NE(o.validation_error().find("unknown system"), std::string::npos);
  o = small();
  o.initial_state = Vec::Ones(2);
  EXPECT_NE(o.validation_error().find("initial state"), std::string::npos);
}

// ---- Kuramoto-Sivashinsky (ETDRK4)

// A ks dataset from `start` (no spin-up): train_steps samples of h = 0.25, ETDRK4 steps of at most `step`.
Dataset ks_from(const Vec& start, double step, long train_steps = 40) {
  GenerateOptions o;
  o.system = "ks";
  o.h = 0.25;
  o.train_steps = train_steps;
  o.test_steps = 4;
  o.spin_up = 0;
  o.initial_state = start;
  o.etdrk4_step = step;
  return generate(o);
}

// A state on the attractor (L = 22, n = 64, after the default spin-up of 200 time units).
Vec ks_attractor_state() {
  GenerateOptions o;
  o.system = "ks";
  o.h = 0.25;
  o.train_steps = 1;
  o.test_steps = 1;
  return generate(o).train.states[0].col(0);
}

double max_difference(const Dataset& a, const Dataset& b) {
  return (a.train.states[0] - b.train.states[0]).cwiseAbs().maxCoeff();
}

// 40 samples (10 time units) from a state on the attractor, against runs with half the step. The difference
// between steps dt and dt/2 is (1 - 2^-p) of the error at dt for a method of order p, so with the ratio of
// successive differences (2^p) at least 8 it is within 15% of the error: the default step 0.005 is accurate to
// better than 1e-8 on states of size ~3.
TEST(GenerateKs, Etdrk4AgreesWithHalfItsStep) {
  const Vec z0 = ks_attractor_state();
  const Dataset d20 = ks_from(z0, 0.02), d10 = ks_from(z0, 0.01), d5 = ks_from(z0, 0.005), d25 = ks_from(z0, 0.0025);
  const double e20 = max_difference(d20, d10), e10 = max_difference(d10, d5), e5 = max_difference(d5, d25);
  std::printf("ks, 10 time units: max |u(dt) - u(dt/2)| = %.3g (dt 0.02), %.3g (0.01), %.3g (0.005)\n", e20, e10, e5);
  EXPECT_LT(e5, 1e-8);
  EXPECT_GT(e20 / e10, 8.0);
  EXPECT_GT(e10 / e5, 8.0);
  EXPECT_GT(z0.cwiseAbs().maxCoeff(), 1.0);
}

// The semi-discrete field of the suite (KuramotoSivashinsky::eval) integrated by DOP853 at tight tolerances gives
// the states of ETDRK4: the two solve the same system.
TEST(GenerateKs, Etdrk4AgreesWithDop853OnTheVectorField) {
  const Vec z0 = ks_attractor_state();
  const Dataset d = ks_from(z0, 0.005, 8);
  const KuramotoSivashinsky f(64, 22.0);
  AdaptiveOptions o;
  o.control.rtol = o.control.atol = 1e-13;
  o.max_steps = 1000000;
  const Solution s = integrate_adaptive(f, named_tableau("dop853"), z0, 0.0, 2.0, o);
  ASSERT_EQ(s.status, SolveStatus::kSuccess);
  EXPECT_LT((s.z.col(0) - d.train.states[0].col(8)).cwiseAbs().maxCoeff(), 1e-8);
}

TEST(GenerateKs, ShapeSeedsMeanAndTheAttractor) {
  GenerateOptions o;
  o.system = "ks";
  o.h = 0.25;
  o.train_steps = 400;
  o.test_steps = 30;
  o.test_trajectories = 2;
  const Dataset d = generate(o);
  EXPECT_EQ(d.system, "ks");
  EXPECT_EQ(d.parameters.at("L"), 22.0);
  EXPECT_EQ(d.parameters.at("n"), 64.0);
  ASSERT_EQ(d.dim(), 64);
  EXPECT_EQ(d.train.num_trajectories(), 1);
  EXPECT_EQ(d.train.num_times(), 401);
  EXPECT_EQ(d.test.num_trajectories(), 2);
  EXPECT_EQ(d.test.num_times(), 31);
  EXPECT_DOUBLE_EQ(d.train.t(400), 100.0);
  const Mat& u = d.train.states[0];
  // The mean of u is conserved (the default initial state has mean 0).
  EXPECT_LT(u.colwise().mean().cwiseAbs().maxCoeff(), 1e-13);
  // On the chaotic attractor: bounded, of order 1, neither steady nor decaying.
  EXPECT_LT(u.cwiseAbs().maxCoeff(), 5.0);
  EXPECT_GT(u.cwiseAbs().maxCoeff(), 1.5);
  const Vec energy = u.colwise().squaredNorm().transpose() / 64;
  EXPECT_GT(energy.minCoeff(), 0.1);
  EXPECT_GT(energy.maxCoeff() - energy.minCoeff(), 0.1 * energy.mean());
  // Not in the invariant subspace of odd states of the initial state: u(L/4 + y) != -u(L/4 - y).
  double odd_defect = 0;
  for (int j = 0; j < 64; ++j) odd_defect = std::max(odd_defect, std::abs(u((16 + j) % 64, 0) + u((80 - j) % 64, 0)));
  EXPECT_GT(odd_defect, 0.1);
  // Deterministic; the seed moves the test trajectories only.
  const Dataset again = generate(o);
  EXPECT_EQ(again.test.states[1], d.test.states[1]);
  o.seed = 1;
  const Dataset other = generate(o);
  EXPECT_EQ(other.train.states[0], d.train.states[0]);
  EXPECT_GT((other.test.states[0] - d.test.states[0]).norm(), 1.0);
}

// A non-zero mean is conserved too; L = 32 pi (Kassam & Trefethen's domain) on 128 points.
TEST(GenerateKs, ConservedMeanAndTheDomainOfKassamTrefethen) {
  GenerateOptions o;
  o.system = "ks";
  o.parameters = {{"L", 32 * std::numbers::pi}, {"n", 128}};
  o.h = 0.25;
  o.train_steps = 200;
  o.test_steps = 10;
  o.spin_up = 50;
  o.initial_state = default_initial_state("ks", o.parameters).array() + 0.3;
  const Dataset d = generate(o);
  ASSERT_EQ(d.dim(), 128);
  const Vec means = d.train.states[0].colwise().mean().transpose();
  EXPECT_LT((means.array() - 0.3).abs().maxCoeff(), 1e-13);
  EXPECT_TRUE(d.test.states[0].allFinite());
  EXPECT_LT(d.train.states[0].cwiseAbs().maxCoeff(), 10.0);
  o.etdrk4_step = 0;
  EXPECT_NE(o.validation_error().find("etdrk4-step"), std::string::npos);
  EXPECT_DOUBLE_EQ(etdrk4_step_dividing(0.25, 0.005), 0.005);
  EXPECT_DOUBLE_EQ(etdrk4_step_dividing(0.25, 0.03), 0.25 / 9);
  EXPECT_DOUBLE_EQ(etdrk4_step_dividing(0.001, 0.005), 0.001);
  EXPECT_EQ(reference_integrator("ks"), "etdrk4");
  EXPECT_EQ(reference_integrator("lorenz96"), "dop853");
}

}  // namespace
}  // namespace trk
