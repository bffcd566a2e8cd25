#include "trk/experiment/identify.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "trk/experiment/generate.h"
#include "trk/field/lorenz63.h"
#include "trk/tableau/named_tableaux.h"

namespace trk {
namespace {

Dataset small_data(double h) {
  GenerateOptions g;
  g.h = h;
  g.train_steps = 400;
  g.test_steps = 60;
  return generate(g);
}

// Only the main Adam phase: unit tests keep the continuation and refinement stages short or off.
IdentifyOptions main_phase_only(const std::string& solver, int iterations) {
  IdentifyOptions o;
  o.solver = solver;
  o.iterations = iterations;
  o.meet_iterations = 0;
  o.substeps_iterations = 0;
  o.refine_iterations = 0;
  o.lm_iterations = 0;
  o.restarts = 1;
  o.poor_fit_ratio = 1e9;  // toy training: the phases are under test, not the fit
  return o;
}

TEST(Identify, ParsesSolvers) {
  EXPECT_EQ(parse_solver("trk10").stages, 10);
  EXPECT_EQ(parse_solver("trk4").kind, SolverKind::kTrainable);
  EXPECT_EQ(parse_solver("rk4").kind, SolverKind::kFixed);
  EXPECT_EQ(parse_solver("dopri8").kind, SolverKind::kAdaptive);
  EXPECT_EQ(parse_solver("sr").kind, SolverKind::kSparseRegression);
  for (const char* bad : {"trk", "trk0", "trkx", "rk5", "trk1000"}) EXPECT_THROW(parse_solver(bad), std::invalid_argument) << bad;
  // The names come from the tableau registry: every named tableau is a solver, adaptive when it has an error
  // estimate; the adaptive ones keep their own tableau (a saved model is reloaded with it).
  EXPECT_EQ(parse_solver("heun").kind, SolverKind::kFixed);
  EXPECT_EQ(parse_solver("dopri5").kind, SolverKind::kAdaptive);
  EXPECT_EQ(parse_solver("dopri5").named().num_stages(), 7);
  EXPECT_EQ(parse_solver("sr").named().name, "dopri8");
  try {
    parse_solver("trk1000");
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("1 to 64 stages"), std::string::npos) << e.what();
  }
  try {
    parse_solver("rk5");
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("dop853"), std::string::npos) << e.what();
  }
}

TEST(Identify, EvaluationOfTheTrueFieldIsAccurateAndCountsNfe) {
  const Dataset d = small_data(0.02);
  FlowMap psi;
  psi.solver = parse_solver("dopri8");
  psi.h = d.h;
  psi.field = std::make_unique<Lorenz63>();
  psi.tableau = named_tableau("dopri8");
  psi.adaptive.control.rtol = psi.adaptive.control.atol = 1e-10;
  const EvaluateSummary e = evaluate_forecasts(psi, d.test);
  EXPECT_EQ(e.num_states, 57);
  EXPECT_LT(e.at_h.rmse, 1e-6);
  EXPECT_LT(e.at_4h.rmse, 1e-6);
  EXPECT_FALSE(e.at_4h.diverged);
  EXPECT_GT(e.inference_nfe_per_step, 13.0);
  // RK4 with one step of 0.02 is good but not exact; a diverging map is reported, not dropped.
  psi.solver = parse_solver("rk4");
  psi.tableau = named_tableau("rk4");
  const EvaluateSummary r = evaluate_forecasts(psi, d.test);
  EXPECT_GT(r.at_h.rmse, 1e-6);
  EXPECT_LT(r.at_h.rmse, 1e-2);
  EXPECT_EQ(r.inference_nfe_per_step, 4.0);
  psi.solver = parse_solver("euler");
  psi.tableau = named_tableau("euler");
  psi.h = 2.0;
  EXPECT_TRUE(evaluate_forecasts(psi, d.test).at_4h.diverged);
}

TEST(Identify, TrainingLowersTheLossAndKeepsSumBEqualToOne) {
  const Dataset d = small_data(0.1);
  IdentifyOptions o = main_phase_only("trk4", 300);
  o.adam.learning_rate = 1e-2;
  const IdentifySummary s = identify(d, o);
  EXPECT_EQ(s.status, RunStatus::kCompleted);
  EXPECT_EQ(s.iterations, 300);
  EXPECT_LT(s.loss_history.back(), 0.5 * s.loss_history.front());
  EXPECT_NEAR(s.flow_map.tableau.b.sum(), 1.0, 1e-14);
  EXPECT_EQ(s.nfe_forward_history.back(), 4);
  EXPECT_EQ(s.flow_map.field->num_params(), 69);
}

TEST(Identify, ResultsDoNotDependOnTheThreadCount) {
  const Dataset d = small_data(0.1);
  IdentifyOptions o = main_phase_only("trk4", 30);
  o.meet_iterations = 20;
  o.refine_iterations = 20;
  o.lm_iterations = 2;
  o.chunk_size = 50;
  o.threads = 1;
  const IdentifySummary one = identify(d, o);
  o.threads = 2;
  const IdentifySummary two = identify(d, o);
  EXPECT_EQ(one.loss_history, two.loss_history);
  EXPECT_EQ((one.flow_map.field->params() - two.flow_map.field->params()).norm(), 0.0);
}

TEST(Identify, ContinuationAndRefinementStagesRunAndHelp) {
  const Dataset d = small_data(0.2);
  IdentifyOptions o = main_phase_only("trk4", 200);
  const IdentifySummary plain = identify(d, o);
  o.continuation = "meet";
  o.meet_iterations = 200;
  o.refine_iterations = 100;
  o.lm_iterations = 5;
  const IdentifySummary staged = identify(d, o);
  EXPECT_EQ(staged.meet_iterations, 200);
  EXPECT_GT(staged.refine_iterations, 0);
  EXPECT_NEAR(staged.flow_map.tableau.b.sum(), 1.0, 1e-13);
  EXPECT_LT(staged.evaluation.at_h.rmse, plain.evaluation.at_h.rmse);
}

// The default continuation of trkQ, substeps: Levenberg-Marquardt on f_theta alone through RK4 sub-steps (x = theta,
// the scheme untouched), then the main scheme from tableau_init; it lowers its loss and helps. A model of more than
// lm_max_parameters parameters takes the meet continuation instead.
TEST(Identify, SubstepsContinuationFitsTheFieldThenTheScheme) {
  const Dataset d = small_data(0.2);
  IdentifyOptions o = main_phase_only("trk4", 200);
  const IdentifySummary plain = identify(d, o);
  ASSERT_EQ(o.continuation, "substeps");
  o.substeps_iterations = 15;
  const IdentifySummary sub = identify(d, o);
  ASSERT_GT(sub.meet_iterations, 0);
  EXPECT_LE(sub.meet_iterations, 15);
  ASSERT_EQ(sub.meet_loss_history.size(), static_cast<std::size_t>(sub.meet_iterations));
  EXPECT_LT(sub.meet_loss_history.back(), 1e-2 * sub.meet_loss_history.front());
  EXPECT_NEAR(sub.flow_map.tableau.b.sum(), 1.0, 1e-13);
  EXPECT_LT(sub.evaluation.at_h.rmse, plain.evaluation.at_h.rmse);
  o.meet_iterations = 7;
  o.lm_max_parameters = 10;
  o.lm_iterations = 0;
  EXPECT_EQ(identify(d, o).meet_iterations, 7);
}

TEST(Identify, SparseRegressionAndDopri8Baselines) {
  const Dataset d = small_data(0.05);
  IdentifyOptions o;
  o.solver = "sr";
  const IdentifySummary sr = identify(d, o);
  ASSERT_TRUE(sr.sindy.has_value());
  EXPECT_EQ(sr.iterations, 0);
  EXPECT_LT(sr.evaluation.at_h.rmse, 1.0);  // fine enough sampling for finite differences
  o.solver = "dopri8";
  o.iterations = 5;
  o.meet_iterations = 0;
  o.refine_iterations = 0;
  const IdentifySummary d8 = identify(d, o);
  EXPECT_EQ(d8.iterations, 5);
  EXPECT_GT(d8.nfe_forward_history.front(), 13);
  EXPECT_GT(d8.nfe_backward_history.front(), d8.nfe_forward_history.front() / 2);
  o.rollout_steps = 2;
  EXPECT_NE(o.validation_error(), "");
}

// dopri8 runs the continuation (half steps forward and backward) and the L-BFGS refinement, not the
// Levenberg-Marquardt stage; each phase lowers its loss.
TEST(Identify, Dopri8ContinuationAndRefinement) {
  const Dataset d = small_data(0.2);
  IdentifyOptions o = main_phase_only("dopri8", 10);
  o.meet_iterations = 30;
  o.refine_iterations = 10;
  o.lm_iterations = 5;
  const IdentifySummary s = identify(d, o);
  EXPECT_NE(s.status, RunStatus::kNonFiniteLoss);  // toy training: completed or poor_fit, the phases are under test
  EXPECT_EQ(s.meet_iterations, 30);
  EXPECT_EQ(s.iterations, 10);
  ASSERT_EQ(s.meet_loss_history.size(), 30u);
  EXPECT_LT(s.meet_loss_history.back(), s.meet_loss_history.front());
  EXPECT_GT(s.refine_iterations, 0);
  EXPECT_LE(s.refine_iterations, 10);  // L-BFGS only
  EXPECT_LT(s.refine_loss_history.back(), s.loss_history.back());
}

// The Levenberg-Marquardt horizon decay d (residual of step k weighted by k^-d) defaults to the solver's, chosen on
// validation data: 0.5 for euler, 1 for rk4, 2 otherwise; the default run is the run with that value bit for bit,
// and another value gives another model.
TEST(Identify, LevenbergMarquardtHorizonDecayDefaultsToTheSolvers) {
  const Dataset d = small_data(0.1);
  for (const auto& [solver, decay] : std::vector<std::pair<std::string, double>>{{"euler", 0.5}, {"rk4", 1.0},
                                                                                 {"trk4", 2.0}, {"dopri8", 2.0}}) {
    IdentifyOptions o = main_phase_only(solver, 20);
    EXPECT_LT(o.lm_horizon_decay, 0);
    EXPECT_EQ(o.validation_error(), "");
    EXPECT_EQ(o.resolved_lm_horizon_decay(), decay) << solver;
    o.lm_horizon_decay = 3.0;
    EXPECT_EQ(o.resolved_lm_horizon_decay(), 3.0);
  }
  IdentifyOptions o = main_phase_only("euler", 20);
  o.lm_iterations = 3;
  const IdentifySummary by_default = identify(d, o);
  o.lm_horizon_decay = 0.5;
  const IdentifySummary explicit_value = identify(d, o);
  o.lm_horizon_decay = 2.0;
  const IdentifySummary other = identify(d, o);
  EXPECT_EQ((by_default.flow_map.field->params() - explicit_value.flow_map.field->params()).norm(), 0.0);
  EXPECT_NE((by_default.flow_map.field->params() - other.flow_map.field->params()).norm(), 0.0);
  o.lm_horizon_decay = NAN;
  EXPECT_NE(o.validation_error(), "");
}

// Levenberg-Marquardt runs only up to lm_max_parameters: above, the run is the one without it.
TEST(Identify, LevenbergMarquardtSkippedAboveMaxParameters) {
  const Dataset d = small_data(0.1);
  IdentifyOptions o = main_phase_only("trk4", 20);
  o.lm_iterations = 3;
  const IdentifySummary with_lm = identify(d, o);
  EXPECT_EQ(with_lm.refine_iterations, 3);
  o.lm_max_parameters = 10;
  const IdentifySummary capped = identify(d, o);
  o.lm_iterations = 0;
  const IdentifySummary without = identify(d, o);
  EXPECT_EQ(capped.refine_iterations, 0);
  EXPECT_EQ((capped.flow_map.field->params() - without.flow_map.field->params()).norm(), 0.0);
  EXPECT_NE((with_lm.flow_map.field->params() - without.flow_map.field->params()).norm(), 0.0);
  o.lm_max_parameters = -1;
  EXPECT_NE(o.validation_error(), "");
}

// The local models have a few dozen parameters whatever the dimension: a 40-dimensional Lorenz-96 run keeps its
// Levenberg-Marquardt stage (the plain bilinear model of that dimension has 5160 parameters and skips it).
TEST(Identify, LocalModelsOnLorenz96KeepLevenbergMarquardt) {
  GenerateOptions g;
  g.system = "lorenz96";
  g.h = 0.05;
  g.train_steps = 150;
  g.test_steps = 20;
  const Dataset d = generate(g);
  ASSERT_EQ(d.dim(), 40);
  for (const std::string model : {"local-bilinear", "local-mlp"}) {
    IdentifyOptions o = main_phase_only("trk4", 10);
    o.model = model;
    o.model_options.widths = {8};
    o.lm_iterations = 3;
    const IdentifySummary s = identify(d, o);
    EXPECT_EQ(s.status, RunStatus::kCompleted) << model;
    EXPECT_LT(s.flow_map.field->num_params(), 100) << model;
    EXPECT_EQ(s.refine_iterations, 3) << model;
    ASSERT_EQ(s.lm_loss_history.size(), 3u) << model;
    EXPECT_LE(s.lm_loss_history.back(), s.lm_loss_history.front()) << model;  // steps only downhill
    EXPECT_FALSE(s.evaluation.at_h.diverged) << model;
  }
  IdentifyOptions o = main_phase_only("trk4", 1);
  o.lm_iterations = 1;
  EXPECT_GT(make_model("bilinear", 40, o.model_options)->num_params(), o.lm_max_parameters);
}

TEST(Identify, RefusesBadOptions) {
  IdentifyOptions o;
  o.solver = "trk0";
  EXPECT_NE(o.validation_error(), "");
  o = {};
  o.model = "transformer";
  EXPECT_NE(o.validation_error().find("transformer"), std::string::npos);
  o = {};
  o.iterations = -1;
  EXPECT_NE(o.validation_error(), "");
  o = {};
  o.tableau_init = "rk4";  // 4 stages, trk10 has 10
  EXPECT_NE(o.validation_error(), "");
}

}  // namespace
}  // namespace trk

namespace trk {
namespace {

// A trainable scheme of one stage has no half-step scheme: its continuation is skipped, not run out of bounds.
TEST(Identify, OneStageSchemesSkipTheContinuation) {
  GenerateOptions g;
  g.h = 0.1;
  g.train_steps = 60;
  g.test_steps = 20;
  IdentifyOptions o;
  o.solver = "trk1";
  o.iterations = 20;
  o.meet_iterations = 5;
  o.refine_iterations = 0;
  o.lm_iterations = 0;
  o.poor_fit_ratio = 1e9;
  const IdentifySummary s = identify(generate(g), o);
  EXPECT_EQ(s.meet_iterations, 0);
  EXPECT_EQ(s.iterations, 20);
  EXPECT_NE(s.status, RunStatus::kNonFiniteLoss);  // toy training: completed or poor_fit
}

// The test split is read once, for the reported RMSE: every choice (the start, the phases' stopping) is made on
// training and validation data, so garbage in place of the test states leaves the trained model bit for bit.
TEST(Identify, TheTestSplitPlaysNoPartInTraining) {
  Dataset d = small_data(0.2);
  d.validation.t = d.test.t.head(30);
  d.validation.states = {d.test.states.front().leftCols(30)};  // shorter than the generator's: a faster test
  IdentifyOptions o;
  o.solver = "trk4";
  o.meet_iterations = 10;
  o.substeps_iterations = 10;  // the default continuation, substeps
  o.iterations = 20;
  o.restart_iterations = 5;
  o.restarts = 3;
  o.refine_iterations = 5;
  o.lm_iterations = 2;
  const IdentifySummary a = identify(d, o);
  Dataset garbage = d;
  garbage.test.states.front().setRandom();
  garbage.test.states.front() *= 1e3;
  const IdentifySummary b = identify(garbage, o);
  EXPECT_EQ(a.flow_map.field->params(), b.flow_map.field->params());
  EXPECT_EQ(a.flow_map.tableau.A, b.flow_map.tableau.A);
  EXPECT_EQ(a.flow_map.tableau.b, b.flow_map.tableau.b);
  EXPECT_EQ(a.start, b.start);
  EXPECT_EQ(a.restart_losses, b.restart_losses);
  EXPECT_EQ(a.validation_loss, b.validation_loss);
  EXPECT_EQ(a.status, b.status);
  ASSERT_EQ(a.restart_losses.size(), 3u);
  EXPECT_EQ(a.restart_losses[a.start], *std::min_element(a.restart_losses.begin(), a.restart_losses.end()));
  EXPECT_NE(a.evaluation.at_h.rmse, b.evaluation.at_h.rmse);  // the test split is read, for the evaluation
}

// Without a /validation split, the end of the training trajectory is held out; a far too short training ends as a
// poor fit (the validation MSE against the persistence MSE), not "completed".
TEST(Identify, HeldOutValidationAndPoorFit) {
  Dataset d = small_data(0.2);
  d.validation = Split{};
  IdentifyOptions o = main_phase_only("rk4", 3);
  const IdentifySummary s = identify(d, o);
  EXPECT_TRUE(s.validation_held_out);
  EXPECT_EQ(s.validation_pairs, 79);  // round(0.2 x 401) = 80 samples held out: 79 pairs
  o.poor_fit_ratio = 0.1;
  const IdentifySummary poor = identify(d, o);
  EXPECT_EQ(poor.status, RunStatus::kPoorFit);
  EXPECT_GT(poor.validation_loss, 0.1 * poor.persistence_loss);
  o.solver = "euler";
  o.iterations = 0;
  o.validation_fraction = 0.95;
  EXPECT_THROW(identify(d, o), std::invalid_argument);
}

// Data without /validation: the chosen start is trained once more on every pair (the refit), saved unless it
// forecasts the training trajectories worse; none keeps the model trained without the held-out part. A dataset
// with its own /validation, or a single start, has no refit.
TEST(Identify, RefitTrainsTheChosenStartOnEveryTrainingPair) {
  Dataset d = small_data(0.05);
  IdentifyOptions o = main_phase_only("rk4", 100);
  o.restarts = 2;
  o.restart_iterations = 10;
  o.refine_iterations = 100;
  const IdentifySummary with_validation = identify(d, o);
  EXPECT_FALSE(with_validation.refit.done);
  EXPECT_EQ(with_validation.train_pairs, 400);
  d.validation = Split{};
  const IdentifySummary s = identify(d, o);
  ASSERT_EQ(s.status, RunStatus::kCompleted);
  EXPECT_TRUE(s.refit.done);
  EXPECT_GT(s.refit.score, 0.0);
  EXPECT_GT(s.refit.selected_score, 0.0);
  EXPECT_EQ(s.refit.kept, s.refit.score <= s.refit.selected_score);
  EXPECT_EQ(s.train_pairs, s.refit.kept ? 400 : 320);  // 401 samples; 80 held out
  EXPECT_EQ(s.validation_pairs, 79);
  o.refit = "none";
  const IdentifySummary selected = identify(d, o);
  EXPECT_FALSE(selected.refit.done);
  EXPECT_EQ(selected.train_pairs, 320);
  EXPECT_EQ(selected.validation_loss, s.validation_loss);  // the refit does not change the choice or its scores
  EXPECT_EQ(selected.start, s.start);
  if (s.refit.kept) {
    EXPECT_NE(selected.flow_map.field->params(), s.flow_map.field->params());
  }
  // warm: the refinement phases again, on every pair, from the selected model; its record goes on from that model's.
  o.refit = "warm";
  const IdentifySummary warm = identify(d, o);
  EXPECT_TRUE(warm.refit.done);
  EXPECT_EQ(warm.refit.selected_score, s.refit.selected_score);
  if (warm.refit.kept) {
    ASSERT_EQ(warm.phases.size(), selected.phases.size() + 1);  // adam, refine; then refine
    EXPECT_EQ(warm.phases.back().phase, IdentifyPhase::kRefine);
    EXPECT_GT(warm.refine_iterations, selected.refine_iterations);
  }
  o.refit = "scratch";
  o.restarts = 1;
  EXPECT_FALSE(identify(d, o).refit.done);
}

// A budget ends training with status budget_exceeded, the model reached evaluated (not a crash, not a
// hang): dopri8 above max_nfe_per_step at its first iteration, any solver after max_train_seconds.
TEST(Identify, BudgetEndsTrainingWithItsStatus) {
  const Dataset d = small_data(0.1);
  IdentifyOptions o = main_phase_only("dopri8", 50);
  o.refine_iterations = 20;
  o.max_nfe_per_step = 20;  // one dopri8 step is 12 or 13 evaluations: the first iteration needs more than 20
  const IdentifySummary s = identify(d, o);
  EXPECT_EQ(s.status, RunStatus::kBudgetExceeded);
  EXPECT_EQ(to_string(s.status), "budget_exceeded");
  EXPECT_EQ(s.iterations, 0);
  ASSERT_EQ(s.nfe_forward_history.size(), 1u);  // the iteration that went over is recorded
  EXPECT_GT(s.nfe_forward_history.front(), 20);
  EXPECT_EQ(s.refine_iterations, 0);
  EXPECT_GT(s.evaluation.num_states, 0);  // evaluated; its solves cut at the budget
  EXPECT_LE(s.evaluation.inference_nfe_per_step, 2 * 13.0 + 1);

  IdentifyOptions t = main_phase_only("trk4", 1000000);
  t.max_train_seconds = 0.3;
  const IdentifySummary ts = identify(d, t);
  EXPECT_EQ(ts.status, RunStatus::kBudgetExceeded);
  EXPECT_GT(ts.iterations, 0);
  EXPECT_LT(ts.iterations, 1000000);
  EXPECT_LT(ts.train_seconds, 5.0);
  EXPECT_TRUE(std::isfinite(ts.evaluation.at_h.rmse));

  IdentifyOptions bad = o;
  bad.max_nfe_per_step = -1;
  EXPECT_NE(bad.validation_error(), "");
  bad = o;
  bad.max_train_seconds = -1;
  EXPECT_NE(bad.validation_error(), "");
}

}  // namespace
}  // namespace trk

namespace trk {
namespace {

// Every phase run is recorded with its iterations and why it ended; the stopping tests end the last
// Levenberg-Marquardt phase and L-BFGS early, and screening a start runs only restart_continuation_iterations of the continuation.
TEST(Identify, PhasesAreRecordedAndStopWhenConverged) {
  const Dataset d = small_data(0.2);
  IdentifyOptions o = main_phase_only("trk4", 50);
  o.substeps_iterations = 30;
  o.refine_iterations = 300;
  o.lm_iterations = 60;
  o.lm_stop_window = 0;  // no stopping test: every phase runs its count
  o.refine_stop_window = 0;
  const IdentifySummary full = identify(d, o);
  ASSERT_EQ(full.phases.size(), 4u);
  EXPECT_EQ(full.phases[0].phase, IdentifyPhase::kContinuation);
  EXPECT_EQ(full.phases[1].phase, IdentifyPhase::kAdam);
  EXPECT_EQ(full.phases[1].iterations, 50);
  EXPECT_EQ(full.phases[1].stop, PhaseStop::kIterations);
  EXPECT_EQ(full.phases[2].phase, IdentifyPhase::kRefine);
  EXPECT_EQ(full.phases[3].phase, IdentifyPhase::kLevenbergMarquardt);
  EXPECT_EQ(full.phases[3].iterations, static_cast<int>(full.lm_loss_history.size()));
  for (const PhaseRecord& p : full.phases) EXPECT_GE(p.seconds, 0.0);

  o.lm_stop_window = 2;
  o.lm_stop_decrease = 0.5;  // any iteration that does not halve the loss over two ends the phase
  o.refine_stop_window = 5;
  o.refine_stop_decrease = 0.5;
  const IdentifySummary early = identify(d, o);
  ASSERT_EQ(early.phases.size(), 4u);
  EXPECT_EQ(early.phases[0].stop, PhaseStop::kIterations);  // the continuation runs its count
  EXPECT_EQ(early.meet_loss_history, full.meet_loss_history);
  EXPECT_EQ(early.phases[2].stop, PhaseStop::kConverged);
  EXPECT_LT(early.phases[2].iterations, full.phases[2].iterations);
  EXPECT_EQ(early.phases[3].stop, PhaseStop::kConverged);
  EXPECT_LT(early.lm_loss_history.size(), full.lm_loss_history.size());
  // Until the stop the run is the same run.
  EXPECT_EQ(early.meet_loss_history[0], full.meet_loss_history[0]);

  IdentifyOptions s = main_phase_only("trk4", 20);
  s.substeps_iterations = 30;
  s.restarts = 2;
  s.restart_iterations = 10;
  s.restart_continuation_iterations = 0;
  const IdentifySummary screened_fully = identify(d, s);
  s.restart_continuation_iterations = 3;
  const IdentifySummary screened_briefly = identify(d, s);
  ASSERT_EQ(screened_briefly.restart_losses.size(), 2u);
  EXPECT_NE(screened_briefly.restart_losses[0], screened_fully.restart_losses[0]);
  EXPECT_EQ(screened_briefly.meet_iterations, 30);  // the chosen start's run has the whole continuation
}

TEST(Identify, RefusesBadStoppingOptions) {
  IdentifyOptions o;
  o.lm_stop_window = -1;
  EXPECT_NE(o.validation_error().find("lm stop"), std::string::npos);
  o = {};
  o.lm_stop_decrease = 1.0;
  EXPECT_NE(o.validation_error().find("lm stop"), std::string::npos);
  o = {};
  o.refine_stop_decrease = 2.0;
  EXPECT_NE(o.validation_error().find("refine stop"), std::string::npos);
  o = {};
  o.restart_continuation_iterations = -2;
  EXPECT_NE(o.validation_error().find("restart continuation"), std::string::npos);
  o = {};
  o.lm_jacobian = "backward";
  EXPECT_NE(o.validation_error().find("backward"), std::string::npos);
  o = {};
  o.solver = "dopri8";
  EXPECT_EQ(o.resolved_refine_stop().window, 500);
  o.solver = "trk10";
  EXPECT_EQ(o.resolved_refine_stop().window, 2000);
}

}  // namespace
}  // namespace trk
