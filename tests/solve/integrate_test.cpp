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

// torchdiffeq 0.2.5's dopri8 on Lorenz-63 from two states, t in [0, 1], rtol 1e-7, atol 1e-9: accepted and rejected
// step sizes (callback_accept_step / callback_reject_step) and its NFE: 314 = 2 (f0, initial step) + 13 x 24 steps (its
// 14th stage, f at the new state, is evaluated in every step; trk evaluates it after accepted steps only and not
// after the last: 2 + 12 x 24 + 21 = 311). The step sizes agree to ~1e-9 (the error ratios are summed in another
// order; the ratio is a small difference of large stage values). Printed by
//   odeint(f, z0, torch.tensor([0.0, 1.0]), method="dopri8", rtol=1e-7, atol=1e-9)
// with z0 = [[1, 1, 20], [-5, 3, 25]]. torchdiffeq steps past t = 1 and interpolates; trk shortens its last step.
TEST(IntegrateAdaptive, TorchdiffeqConventionTakesTorchdiffeqsSteps) {
  const std::vector<double> accepted = {
      0.04277119565626243, 0.048904689287512175, 0.048904689287512175, 0.048904689287512175, 0.048904689287512175,
      0.05309903090658535, 0.058713653497043126, 0.0481264476283028, 0.048376949982559696, 0.03940392875312781,
      0.03962320883556139, 0.03962320883556139, 0.03962320883556139, 0.03962320883556139, 0.03962320883556139,
      0.03962320883556139, 0.044387347803980855, 0.044387347803980855, 0.04807031281229912, 0.051072717749241825,
      0.052235744910971674, 0.05677456787609243};
  const long torchdiffeq_rejected = 2, torchdiffeq_nfe = 314;
  Lorenz63 f;
  Mat Z(3, 2);
  Z << 1, -5, 1, 3, 20, 25;
  for (auto convention : {StepControlConvention::kAuto, StepControlConvention::kTorchdiffeq}) {
    AdaptiveOptions o;
    o.control.rtol = 1e-7;
    o.control.atol = 1e-9;
    o.control.convention = convention;
    o.record_steps = true;
    const Solution s = integrate_adaptive(f, named_tableau("dopri8"), Z, 0.0, 1.0, o);
    ASSERT_EQ(s.status, SolveStatus::kSuccess);
    ASSERT_EQ(s.accepted_steps.size(), accepted.size());
    for (size_t k = 0; k + 1 < accepted.size(); ++k)
      EXPECT_NEAR(s.accepted_steps[k], accepted[k], 1e-8 * accepted[k]) << "step " << k;
    EXPECT_LE(s.accepted_steps.back(), accepted.back());  // shortened to land on t = 1
    EXPECT_EQ(s.stats.num_rejected, torchdiffeq_rejected);
    EXPECT_EQ(s.stats.num_function_evaluations, 2 + 12 * s.stats.num_steps + s.stats.num_accepted - 1);
    EXPECT_NEAR(s.stats.num_function_evaluations, torchdiffeq_nfe, 0.02 * torchdiffeq_nfe);
  }
  // Hairer's convention (DOP853's factors) takes other, more cautious steps.
  AdaptiveOptions o;
  o.control.convention = StepControlConvention::kHairer;
  const Solution hairer = integrate_adaptive(f, named_tableau("dopri8"), Z, 0.0, 1.0, o);
  ASSERT_EQ(hairer.status, SolveStatus::kSuccess);
  EXPECT_GT(hairer.stats.num_function_evaluations, torchdiffeq_nfe);
}

TEST(StepControl, TorchdiffeqNextStepAndConventionNames) {
  StepControlOptions o;
  EXPECT_DOUBLE_EQ(torchdiffeq_next_step(o, 8, 0.1, 0.0), 1.0);                       // ifactor
  EXPECT_DOUBLE_EQ(torchdiffeq_next_step(o, 8, 0.1, 1e-12), 1.0);                     // capped by ifactor
  EXPECT_DOUBLE_EQ(torchdiffeq_next_step(o, 8, 0.1, 0.9), 0.1);                       // accepted: never shrinks
  EXPECT_DOUBLE_EQ(torchdiffeq_next_step(o, 8, 0.1, 2.0), 0.1 * 0.9 / std::pow(2.0, 1.0 / 8));
  EXPECT_DOUBLE_EQ(torchdiffeq_next_step(o, 8, 0.1, 1e12), 0.1 * 0.2);                // dfactor
  EXPECT_DOUBLE_EQ(torchdiffeq_next_step(o, 8, 0.1, INFINITY), 0.1 * 0.2);
  for (auto c : {StepControlConvention::kAuto, StepControlConvention::kTorchdiffeq, StepControlConvention::kHairer})
    EXPECT_EQ(parse_step_control_convention(to_string(c)), c);
  EXPECT_FALSE(parse_step_control_convention("scipy").has_value());
}

// Recorded tapes hold what a replay of the accepted steps computes, bit for bit.
TEST(IntegrateAdaptive, RecordedTapesEqualAReplay) {
  Lorenz63 f;
  Mat Z(3, 2);
  Z << 1, -5, 1, 3, 20, 25;
  AdaptiveOptions o;
  o.record_steps = o.record_tapes = true;
  const ButcherTableau t = named_tableau("dopri8");
  const Solution s = integrate_adaptive(f, t, Z, 0.0, 0.5, o);
  ASSERT_EQ(s.status, SolveStatus::kSuccess);
  ASSERT_EQ(s.tapes.size(), s.accepted_steps.size());
  CountedField cf(f);
  Mat z = Z, zn(3, 2);
  for (size_t k = 0; k < s.tapes.size(); ++k) {
    StageTape replay;
    rk_step(cf, t, s.accepted_steps[k], z, zn, replay);
    for (int i = 0; i < t.num_stages(); ++i) {
      EXPECT_TRUE((replay.Y[i].array() == s.tapes[k].Y[i].array()).all()) << k << " " << i;
      EXPECT_TRUE((replay.K[i].array() == s.tapes[k].K[i].array()).all()) << k << " " << i;
    }
    z.swap(zn);
  }
  EXPECT_TRUE((z.array() == s.z.array()).all());
  // The tapes' memory is bounded: past max_tape_bytes the solve ends with a status, not with the memory full.
  const std::size_t per_step = s.tapes.front().bytes();
  EXPECT_EQ(per_step, 2u * 13 * 3 * 2 * sizeof(double));  // Y and K of 13 stages, 3 x 2 states
  o.max_tape_bytes = 3 * per_step;
  ASSERT_GT(s.tapes.size(), 3u);
  const Solution capped = integrate_adaptive(f, t, Z, 0.0, 0.5, o);
  EXPECT_EQ(capped.status, SolveStatus::kMaxStepsReached);
  EXPECT_EQ(capped.tapes.size(), 3u);
  o.max_tape_bytes = s.tapes.size() * per_step;
  EXPECT_EQ(integrate_adaptive(f, t, Z, 0.0, 0.5, o).status, SolveStatus::kSuccess);
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
