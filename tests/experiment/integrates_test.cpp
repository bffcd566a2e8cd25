#include "trk/experiment/integrates.h"

#include <gtest/gtest.h>

#include "trk/field/lorenz63.h"
#include "trk/solve/integrate.h"
#include "trk/tableau/named_tableaux.h"

namespace trk {
namespace {

// Ten states on the Lorenz-63 attractor, 5 time units apart.
Mat attractor_states() {
  Lorenz63 f;
  Mat Z(3, 10);
  Mat z = Vec{{8.0, 0.0, 30.0}};
  for (int k = 0; k < 10; ++k) {
    z = integrate_fixed(f, named_tableau("rk4"), z, 0.005, 1000).z;
    Z.col(k) = z;
  }
  return Z;
}

TEST(Integrates, ReferenceClimatologyOfLorenz63) {
  Lorenz63 f;
  IntegratesOptions o;
  o.duration = 300;
  const Climatology c = reference_climatology(f, attractor_states(), o);
  EXPECT_NEAR(c.mean(2), 23.5, 0.5);
  EXPECT_NEAR(c.std(0), 7.9, 0.3);
  EXPECT_NEAR(c.std(1), 9.0, 0.3);
  EXPECT_NEAR(c.std(2), 8.6, 0.3);
}

TEST(Integrates, Rk4PassesAtSmallStepsAndFailsAtLargeOnes) {
  Lorenz63 f;
  IntegratesOptions o;
  o.duration = 300;
  const Mat Z0 = attractor_states();
  const Climatology ref = reference_climatology(f, Z0, o);
  const IntegratesSummary good = judge_integrates(f, named_tableau("rk4"), 0.05, Z0, ref, o);
  EXPECT_TRUE(good.integrates);
  EXPECT_EQ(good.bounded_runs, 10);
  EXPECT_LT(good.worst_deviation, 0.05);
  // At h = 0.15 the -22.8 eigenvalue is outside RK4's region: runs collapse or diverge (docs/method.md).
  const IntegratesSummary bad = judge_integrates(f, named_tableau("rk4"), 0.15, Z0, ref, o);
  EXPECT_FALSE(bad.integrates);
  EXPECT_GT(bad.worst_deviation, 0.1);
  // Euler at h = 0.1 is unstable for the whole spectrum: nothing stays bounded.
  const IntegratesSummary euler = judge_integrates(f, named_tableau("euler"), 0.1, Z0, ref, o);
  EXPECT_FALSE(euler.integrates);
  EXPECT_EQ(euler.bounded_runs, 0);
  EXPECT_TRUE(std::isinf(euler.worst_deviation));
}

}  // namespace
}  // namespace trk
