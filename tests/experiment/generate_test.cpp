#include "trk/experiment/generate.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace trk
