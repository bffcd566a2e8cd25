#include "trk/solve/integrate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "test_fields.h"
#include "trk/field/linear.h"
#include "trk/field/lorenz63.h"
#include "trk/tableau/named_tableaux.h"

namespace trk {
namespace {

using testing::Kepler;

// Order from the local error of one step on the Kepler orbit (e = 0.3): err(h) ~ C h^(p+1), so p is the
// least-squares slope of log err against log h, minus one. Worst error over four start points.
double measured_order(const ButcherTableau& t, double h0) {
  Kepler f;
  std::vector<double> lh, le;
  for (double h = h0; h > h0 / 7; h /= 2) {
    double err = 0.0;
    for (double t0 : {0.0, 1.0, 2.0, 3.0}) {
      Solution s = integrate_fixed(f, t, Kepler::exact(t0, 0.3), h, 1);
      err = std::max(err, (s.z - Kepler::exact(t0 + h, 0.3)).norm());
    }
    lh.push_back(std::log(h));
    le.push_back(std::log(err));
  }
  const double mh = std::accumulate(lh.begin(), lh.end(), 0.0) / lh.size();
  const double me = std::accumulate(le.begin(), le.end(), 0.0) / le.size();
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < lh.size(); ++i) {
    sxy += (lh[i] - mh) * (le[i] - me);
    sxx += (lh[i] - mh) * (lh[i] - mh);
  }
  return sxy / sxx - 1.0;
}

// Lower bound tight (a scheme of lower order fails), upper bound looser: DOPRI5's small principal error
// coefficients make its pre-asymptotic slope a little steep.
TEST(IntegrateFixed, ConvergenceOrderOfEveryNamedTableau) {
  struct Case { const char* name; int order; double h0; };
  for (auto c : {Case{"euler", 1, 0.1}, Case{"midpoint", 2, 0.1}, Case{"heun", 2, 0.1}, Case{"kutta3", 3, 0.1},
                 Case{"rk4", 4, 0.1}, Case{"rk38", 4, 0.1}, Case{"dopri5", 5, 0.05}, Case{"dopri8", 8, 0.25}, Case{"dop853", 8, 0.25}}) {
    const double p = measured_order(named_tableau(c.name), c.h0);
    EXPECT_GT(p, c.order - 0.2) << c.name;
    EXPECT_LT(p, c.order + 0.5) << c.name;
  }
}

TEST(IntegrateFixed, EmbeddedSolutionOfDopri5HasOrderFour) {
  ButcherTableau t = named_tableau("dopri5");
  t.b -= *t.error_weights;
  t.error_weights.reset();
  const double p = measured_order(t, 0.1);
  EXPECT_GT(p, 3.8);
  EXPECT_LT(p, 4.5);
}

TEST(IntegrateFixed, CountsEvaluationsAndReportsNonFinite) {
  Mat M(1, 1);
  M << -100.0;
  LinearField f(M);
  testing::SelfCountingField sf(f);
  Solution s = integrate_fixed(sf, named_tableau("rk4"), Mat::Ones(1, 3), 0.01, 10);
  EXPECT_EQ(s.status, SolveStatus::kSuccess);
  EXPECT_EQ(s.stats.num_function_evaluations, 40);
  EXPECT_EQ(sf.calls, 40);
  // Euler at h = 0.1 on lambda = -100 grows by |1 - 10| = 9 per step: non-finite after ~325 steps.
  Solution bad = integrate_fixed(f, named_tableau("euler"), Mat::Ones(1, 1), 0.1, 100000);
  EXPECT_EQ(bad.status, SolveStatus::kNonFinite);
  EXPECT_TRUE(bad.z.allFinite());
  EXPECT_LT(bad.stats.num_accepted, 1000);
}

TEST(IntegrateAdaptive, ErrorBelowToleranceScaledBound) {
  Kepler f;
  for (const char* name : {"dopri5", "dopri8", "dop853"}) {
    for (double tol : {1e-6, 1e-9, 1e-12}) {
      AdaptiveOptions o;
      o.control.rtol = o.control.atol = tol;
      testing::SelfCountingField sf(f);
      Solution s = integrate_adaptive(sf, named_tableau(name), Kepler::exact(0.0, 0.2), 0.0, 10.0, o);
      ASSERT_EQ(s.status, SolveStatus::kSuccess) << name;
      EXPECT_DOUBLE_EQ(s.t, 10.0);
      const double err = (s.z - Kepler::exact(10.0, 0.2)).cwiseAbs().maxCoeff();
      // Global error over ~1.6 eccentric orbits: the local tolerance accumulates to a few hundred tol.
      EXPECT_LT(err, 1000 * tol) << name << " tol " << tol;
      EXPECT_GT(err, 1e-3 * tol) << name << " tol " << tol << ": suspiciously exact (steps too small?)";
      EXPECT_EQ(s.stats.num_function_evaluations, sf.calls) << name;
      EXPECT_EQ(s.stats.num_steps, s.stats.num_accepted + s.stats.num_rejected);
    }
  }
}

TEST(IntegrateAdaptive, EighthOrderPairsNeedFewerEvaluationsThanDopri5AtTightTolerance) {
  Kepler f;
  AdaptiveOptions o;
  o.control.rtol = o.control.atol = 1e-12;
  const auto s5 = integrate_adaptive(f, named_tableau("dopri5"), Kepler::exact(0.0), 0.0, 10.0, o);
  for (const char* name : {"dopri8", "dop853"}) {
    const auto s8 = integrate_adaptive(f, named_tableau(name), Kepler::exact(0.0), 0.0, 10.0, o);
    EXPECT_LT(s8.stats.num_function_evaluations, s5.stats.num_function_evaluations / 2) << name;
  }
}

TEST(IntegrateAdaptive, BatchColumnsMatchSeparateSolvesClosely) {
  Lorenz63 f;
  Mat Z(3, 2);
  Z << 1, -5, 2, 3, 20, 25;
  AdaptiveOptions o;
  o.control.rtol = o.control.atol = 1e-11;
  const auto sb = integrate_adaptive(f, named_tableau("dopri8"), Z, 0.0, 2.0, o);
  for (int j = 0; j < 2; ++j) {
    const auto s = integrate_adaptive(f, named_tableau("dopri8"), Z.col(j), 0.0, 2.0, o);
    EXPECT_LT((sb.z.col(j) - s.z).norm(), 1e-7);
  }
}

TEST(IntegrateAdaptive, StatusesInsteadOfCrashes) {
  // dz/dt = z^2, z(0) = 1 blows up at t = 1.
  struct Square final : VectorField {
    std::string name() const override { return "square"; }
    int dim() const override { return 1; }
    void eval(const ConstMatRef& Z, MatRef F) const override { F = Z.array().square().matrix(); }
    void vjp(const ConstMatRef&, const ConstMatRef&, MatRef, Vec*) const override {}
    std::unique_ptr<VectorField> clone() const override { return nullptr; }
  } sq;
  const auto blow = integrate_adaptive(sq, named_tableau("dopri5"), Mat::Ones(1, 1), 0.0, 2.0);
  EXPECT_NE(blow.status, SolveStatus::kSuccess);
  EXPECT_LT(blow.t, 1.001);
  AdaptiveOptions o;
  o.max_steps = 5;
  o.control.rtol = o.control.atol = 1e-12;
  const auto capped = integrate_adaptive(Kepler(), named_tableau("dopri8"), Kepler::exact(0.0), 0.0, 10.0, o);
  EXPECT_EQ(capped.status, SolveStatus::kMaxStepsReached);
  Mat nan = Mat::Constant(4, 1, std::nan(""));
  EXPECT_EQ(integrate_adaptive(Kepler(), named_tableau("dopri8"), nan, 0.0, 1.0).status, SolveStatus::kNonFinite);
  EXPECT_THROW(integrate_adaptive(Kepler(), named_tableau("rk4"), Kepler::exact(0), 0.0, 1.0), std::invalid_argument);
}

TEST(SampleAdaptive, SamplesLandOnTheGrid) {
  Kepler f;
  AdaptiveOptions o;
  o.control.rtol = o.control.atol = 1e-12;
  std::vector<Mat> samples;
  const auto s = sample_adaptive(f, named_tableau("dopri8"), Kepler::exact(0.0), 0.0, 0.2, 51, o,
                                 [&](long k, const Mat& z) { samples.push_back(z); });
  ASSERT_EQ(s.status, SolveStatus::kSuccess);
  ASSERT_EQ(samples.size(), 51u);
  for (int k = 0; k < 51; ++k) EXPECT_LT((samples[k] - Kepler::exact(0.2 * k)).norm(), 1e-10) << k;
}

}  // namespace
}  // namespace trk
