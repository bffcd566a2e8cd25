// Forecasts over a horizon (experiment/forecast.h): N = 4 from every state reproduces identify's evaluation bit
// for bit; the error grows from 0; diverged forecasts stay NaN; bad options and short splits are refused.
#include "trk/experiment/forecast.h"

#include <gtest/gtest.h>

#include <cmath>

#include "trk/experiment/generate.h"
#include "trk/field/lorenz63.h"
#include "trk/tableau/named_tableaux.h"

namespace trk {
namespace {

Dataset small_data() {
  GenerateOptions g;
  g.h = 0.02;  // RK4 with the true field stays within ~1e-2 of the data over 20 steps (at 0.1 it does not)
  g.train_steps = 20;
  g.test_steps = 30;
  g.test_trajectories = 2;
  return generate(g);
}

FlowMap true_field_rk4(double h) {
  FlowMap psi;
  psi.solver = parse_solver("rk4");
  psi.h = h;
  psi.model = "lorenz63";
  psi.field = std::make_unique<Lorenz63>();
  psi.tableau = named_tableau("rk4");
  return psi;
}

TEST(Forecast, FourStepsFromEveryStateAreIdentifysEvaluation) {
  const Dataset d = small_data();
  const FlowMap psi = true_field_rk4(d.h);
  const EvaluateSummary e = evaluate_forecasts(psi, d.test);
  const ForecastSummary f = forecast(psi, d.test, {.steps = 4});
  EXPECT_EQ(f.num_starts(), e.num_states);
  EXPECT_EQ(f.num_starts(), 2 * (31 - 4));
  EXPECT_EQ(f.rmse(1), e.at_h.rmse);  // bit for bit
  EXPECT_EQ(f.rmse(4), e.at_4h.rmse);
  EXPECT_EQ(f.rmse(0), 0.0);
  EXPECT_EQ(f.predicted[0], f.truth[0]);
  EXPECT_EQ(f.nfe, 4L * 4 * f.num_starts());  // rk4: 4 evaluations per step and state
  // The truth is the data: start j's lead k is the sample k after it.
  EXPECT_EQ(f.truth[3].col(5), d.test.states[f.start_trajectory[5]].col(f.start_index[5] + 3));
}

TEST(Forecast, ErrorGrowsWithLeadTimeAndStartsAreStrided) {
  const Dataset d = small_data();
  const FlowMap psi = true_field_rk4(d.h);
  const ForecastSummary f = forecast(psi, d.test, {.steps = 20, .start_every = 3});
  EXPECT_EQ(f.num_starts(), (2 * 11 + 2) / 3);  // 11 candidates per trajectory, every third
  EXPECT_EQ(f.start_index[1], 3);
  EXPECT_GT(f.rmse(20), f.rmse(1));
  EXPECT_GT(f.rmse(1), 0.0);
  for (int k = 0; k <= 20; ++k) {
    EXPECT_FALSE(f.diverged[k]);
    EXPECT_EQ(f.num_finite[k], f.num_starts());
  }
}

TEST(Forecast, DivergedForecastsStayNaN) {
  const Dataset d = small_data();
  FlowMap psi = true_field_rk4(d.h);
  psi.h = 2.0;  // far outside RK4's stability region on Lorenz-63: every forecast blows up
  const ForecastSummary f = forecast(psi, d.test, {.steps = 30 - 10});
  EXPECT_TRUE(f.diverged.back());
  EXPECT_EQ(f.num_finite.back(), 0);
  EXPECT_TRUE(std::isnan(f.rmse(f.steps)));
  EXPECT_TRUE(f.predicted.back().array().isNaN().all());
}

TEST(Forecast, RefusesBadOptionsAndShortSplits) {
  const Dataset d = small_data();
  const FlowMap psi = true_field_rk4(d.h);
  EXPECT_THROW(forecast(psi, d.test, {.steps = 0}), std::invalid_argument);
  EXPECT_THROW(forecast(psi, d.test, {.steps = 4, .start_every = 0}), std::invalid_argument);
  EXPECT_THROW(forecast(psi, d.test, {.steps = 31}), std::invalid_argument);  // 31 samples: no start with 31 after
  EXPECT_NO_THROW(forecast(psi, d.test, {.steps = 30}));
}

// The scale-free scores. sigma is the RMS over components of each one's std over every sample; the
// persistence floor is z(t0) scored on identify's start states.
TEST(Forecast, ClimatologicalStdAndThePersistenceFloor) {
  Split s;
  Mat a(2, 4), b(2, 2);
  a << 0, 2, 0, 2,  //
      1, 1, 1, 1;
  b << 0, 2,  //
      5, -3;
  s.states = {a, b};
  // Component 1: values 0,2,0,2,0,2: variance 1. Component 2: 1,1,1,1,5,-3: mean 1, variance 32/6.
  EXPECT_NEAR(climatological_std(s), std::sqrt((1.0 + 32.0 / 6.0) / 2.0), 1e-12);
  Split one;
  one.states = {Mat::Ones(3, 1)};
  EXPECT_EQ(climatological_std(one), 0.0);  // fewer than 2 samples

  const Dataset d = small_data();
  const EvaluateSummary e = evaluate_forecasts(true_field_rk4(d.h), d.test);
  const Pairs p = make_pairs(d.test, 4);
  EXPECT_EQ(e.persistence_at_h.rmse, std::sqrt((p.targets[0] - p.Z0).squaredNorm() / p.Z0.size()));
  EXPECT_EQ(e.persistence_at_4h.rmse, std::sqrt((p.targets[3] - p.Z0).squaredNorm() / p.Z0.size()));
  EXPECT_GT(e.persistence_at_4h.rmse, e.persistence_at_h.rmse);
  EXPECT_LT(e.at_h.rmse, 1e-2 * e.persistence_at_h.rmse);  // the true field is far under the floor
}

}  // namespace
}  // namespace trk
