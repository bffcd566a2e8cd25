// Checkpoint and resume of identify() and fit_sweep(): a run stopped at any iteration boundary of any phase and
// resumed from the saved state ends with exactly the numbers of a run that was never stopped; periodic saves;
// divergence handling (stop with the last good model, or restore it with a lower learning rate).
#include <gtest/gtest.h>

#include <cmath>

#include "trk/experiment/fit.h"
#include "trk/experiment/generate.h"
#include "trk/experiment/identify.h"
#include "trk/field/lorenz63.h"

namespace trk {
namespace {

Dataset small_data(double h, int train_steps = 200) {
  GenerateOptions g;
  g.h = h;
  g.train_steps = train_steps;
  g.test_steps = 40;
  return generate(g);
}

// Every phase short: 12 continuation (meet-in-the-middle Adam, or substeps Levenberg-Marquardt), 20 main
// (mini-batches of 50), 10 + 5 L-BFGS, 3 Levenberg-Marquardt.
IdentifyOptions all_phases(const std::string& solver, const std::string& continuation = "meet") {
  IdentifyOptions o;
  o.solver = solver;
  o.continuation = continuation;
  o.meet_iterations = 12;
  o.substeps_iterations = 12;
  o.iterations = 20;
  o.batch_size = 50;
  o.refine_iterations = 10;
  o.refine_rollout_iterations = 5;
  o.lm_iterations = 3;
  o.chunk_size = 60;
  o.threads = 1;
  o.restarts = 3;  // stops land in the screening of the starts too
  o.restart_iterations = 8;
  o.poor_fit_ratio = 1e9;  // toy training: the phases and their resumption are under test, not the fit
  return o;
}

void expect_same(const IdentifySummary& a, const IdentifySummary& b) {
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.start, b.start);
  EXPECT_EQ(a.restart_losses, b.restart_losses);
  EXPECT_EQ(a.validation_loss, b.validation_loss);
  EXPECT_EQ(a.iterations, b.iterations);
  EXPECT_EQ(a.meet_iterations, b.meet_iterations);
  EXPECT_EQ(a.refine_iterations, b.refine_iterations);
  EXPECT_EQ(a.loss_history, b.loss_history);
  EXPECT_EQ(a.meet_loss_history, b.meet_loss_history);
  EXPECT_EQ(a.refine_loss_history, b.refine_loss_history);
  EXPECT_EQ(a.nfe_forward_history, b.nfe_forward_history);
  EXPECT_EQ(a.nfe_backward_history, b.nfe_backward_history);
  EXPECT_EQ(a.flow_map.field->params(), b.flow_map.field->params());
  EXPECT_EQ(a.flow_map.tableau.A, b.flow_map.tableau.A);
  EXPECT_EQ(a.flow_map.tableau.b, b.flow_map.tableau.b);
  EXPECT_EQ(a.evaluation.at_h.rmse, b.evaluation.at_h.rmse);
  EXPECT_EQ(a.evaluation.at_4h.rmse, b.evaluation.at_4h.rmse);
}

// Stops at the `stop_at`-th iteration boundary (1-based) and returns the saved state.
IdentifyCheckpoint stop_identify(const Dataset& d, const IdentifyOptions& o, long stop_at,
                                 const IdentifyCheckpoint* resume = nullptr) {
  long polls = 0;
  IdentifyCheckpoint saved;
  int saves = 0;
  IdentifyHooks hooks;
  hooks.resume = resume;
  hooks.stop_requested = [&] { return ++polls >= stop_at; };
  hooks.save = [&](const IdentifyCheckpoint& c) {
    saved = c;
    ++saves;
  };
  const IdentifySummary s = identify(d, o, {}, hooks);
  EXPECT_EQ(s.status, RunStatus::kInterrupted) << stop_at;
  EXPECT_EQ(saves, 1);
  return saved;
}

IdentifySummary resume_identify(const Dataset& d, const IdentifyOptions& o, const IdentifyCheckpoint& c) {
  IdentifyHooks hooks;
  hooks.resume = &c;
  return identify(d, o, {}, hooks);
}

// An uninterrupted run, and the number of iteration boundaries at which it polled for a stop.
IdentifySummary identify_counting_boundaries(const Dataset& d, const IdentifyOptions& o, long* boundaries) {
  IdentifyHooks count;
  count.stop_requested = [boundaries] {
    ++*boundaries;
    return false;
  };
  return identify(d, o, {}, count);
}

TEST(Resume, IdentifyStoppedInEveryPhaseEndsBitForBitAsUninterrupted) {
  const Dataset d = small_data(0.1);
  for (const auto& [solver, continuation] : std::vector<std::pair<std::string, std::string>>{
           {"trk4", "meet"}, {"trk4", "substeps"}, {"rk4", "meet"}}) {
    SCOPED_TRACE(solver + " " + continuation);
    const IdentifyOptions o = all_phases(solver, continuation);
    long boundaries = 0;
    const IdentifySummary full = identify_counting_boundaries(d, o, &boundaries);
    ASSERT_EQ(full.status, RunStatus::kCompleted);
    ASSERT_GT(full.refine_iterations, 3);
    if (solver == "trk4") {
      ASSERT_EQ(full.meet_iterations, 12);
    }
    const int meet = solver == "trk4" ? o.meet_iterations : 0, adam = meet + o.iterations;
    const int screen = o.restarts * (meet + o.restart_iterations);  // the starts' screening comes first
    EXPECT_GT(boundaries, screen + adam + 3);  // the refinement phases poll too
    // In the screening: the first iteration, inside meet, the meet -> main switch, the last start; then in the chosen
    // start's run: inside meet, inside main, each refinement phase, the last.
    std::vector<long> stops = {1,           5,           13,          screen - 2,           screen + 1,
                               screen + 5,  screen + 13, screen + adam - 3, screen + adam + 1, screen + adam + 4,
                               boundaries - 2, boundaries};
    std::vector<IdentifyPhase> phases;
    for (long stop : stops) {
      SCOPED_TRACE(stop);
      const IdentifyCheckpoint c = stop_identify(d, o, stop);
      phases.push_back(c.phase);
      expect_same(resume_identify(d, o, c), full);
    }
    EXPECT_NE(std::find(phases.begin(), phases.end(), IdentifyPhase::kRefine), phases.end());
    EXPECT_EQ(phases.back(), IdentifyPhase::kLevenbergMarquardt);
    // Stopped twice (the second time while resumed), then resumed: still the same.
    const IdentifyCheckpoint first = stop_identify(d, o, 7);
    const IdentifyCheckpoint second = stop_identify(d, o, adam, &first);
    expect_same(resume_identify(d, o, second), full);
  }
}

// Data without /validation: stops in the chosen start's run on the held-out split and in the refit on every pair.
TEST(Resume, IdentifyStoppedInTheRefitEndsBitForBitAsUninterrupted) {
  Dataset d = small_data(0.1);
  d.validation = Split{};
  for (const std::string refit : {"scratch", "warm"}) {
    SCOPED_TRACE(refit);
    IdentifyOptions o = all_phases("trk4", "substeps");
    o.refit = refit;
    long boundaries = 0;
    const IdentifySummary full = identify_counting_boundaries(d, o, &boundaries);
    ASSERT_EQ(full.status, RunStatus::kCompleted);
    ASSERT_TRUE(full.refit.done);
    const long screen = o.restarts * (o.meet_iterations + o.restart_iterations);
    // The chosen start's run, then the refit's (scratch: as long; warm: its refinement phases only).
    const long selected = refit == "scratch" ? (boundaries - screen) / 2 : o.meet_iterations + o.iterations + 15;
    const long first = screen + selected;  // about the refit's first boundary
    int in_refit = 0;
    for (long stop : {screen + 3, first - 2, first + 2, first + 10, boundaries}) {
      SCOPED_TRACE(stop);
      const IdentifyCheckpoint c = stop_identify(d, o, stop);
      in_refit += c.held_out_x.size() > 0;
      const IdentifySummary resumed = resume_identify(d, o, c);
      expect_same(resumed, full);
      EXPECT_EQ(resumed.refit.kept, full.refit.kept);
      EXPECT_EQ(resumed.refit.score, full.refit.score);
      EXPECT_EQ(resumed.refit.selected_score, full.refit.selected_score);
      EXPECT_EQ(resumed.train_pairs, full.train_pairs);
      EXPECT_EQ(resumed.phases.size(), full.phases.size());
    }
    EXPECT_GE(in_refit, 2);
  }
}

TEST(Resume, IdentifySavesEveryNIterationsAndResumesFromAnyOfThem) {
  const Dataset d = small_data(0.1);
  IdentifyOptions o = all_phases("trk4");
  o.threads = 2;  // results do not depend on the thread count: a checkpoint can be resumed with another
  const IdentifySummary full = identify(d, o);
  std::vector<IdentifyCheckpoint> saved;
  IdentifyHooks hooks;
  hooks.checkpoint_every = 9;
  hooks.save = [&](const IdentifyCheckpoint& c) { saved.push_back(c); };
  expect_same(identify(d, o, {}, hooks), full);  // saving changes nothing
  ASSERT_GE(saved.size(), 4u);
  EXPECT_EQ(saved[0].phase, IdentifyPhase::kContinuation);  // 12 continuation iterations, then the main ones
  EXPECT_EQ(saved[0].iteration, 9);
  EXPECT_EQ(saved[1].phase, IdentifyPhase::kAdam);
  EXPECT_EQ(saved[1].iteration, 18 - 12);
  o.threads = 1;
  for (const IdentifyCheckpoint& c : saved) expect_same(resume_identify(d, o, c), full);
}

TEST(Resume, IdentifyRefusesACheckpointOfOtherOptions) {
  const Dataset d = small_data(0.1);
  const IdentifyCheckpoint c = stop_identify(d, all_phases("trk4"), 3);
  EXPECT_THROW(resume_identify(d, all_phases("trk6"), c), std::invalid_argument);
}

// A learning rate far too large: the loss goes non-finite within a few iterations.
IdentifyOptions diverging() {
  IdentifyOptions o;
  o.solver = "trk4";
  o.meet_iterations = 0;
  o.refine_iterations = 0;
  o.lm_iterations = 0;
  o.iterations = 60;
  o.adam = {.learning_rate = 20.0, .schedule = LrSchedule::kConstant};
  o.threads = 1;
  return o;
}

TEST(Divergence, StopsWithTheLastGoodModel) {
  const Dataset d = small_data(0.2);
  std::string said;
  const IdentifySummary s = identify(d, diverging(), [&](const std::string& line) { said += line + "\n"; });
  EXPECT_EQ(s.status, RunStatus::kNonFiniteLoss);
  EXPECT_LT(s.iterations, 60);
  EXPECT_NE(said.find("10 times in a row"), std::string::npos) << said;
  EXPECT_TRUE(s.flow_map.field->params().allFinite());
  EXPECT_TRUE(s.flow_map.tableau.A.allFinite());
  EXPECT_TRUE(std::isfinite(s.evaluation.at_h.rmse) || s.evaluation.at_h.diverged);
}

// With clipping every step from the restored model is the same step into overflow: the finite loss at the restored
// model must not reset the count, else restore and diverge alternate until the iterations run out (RunStatus::kCompleted).
TEST(Divergence, AlternatingWithTheRestoredModelStillStops) {
  const Dataset d = small_data(0.2);
  IdentifyOptions o = diverging();
  o.adam = {.learning_rate = 1e10, .clip_norm = 1.0, .schedule = LrSchedule::kConstant, .warmup = 500};
  const IdentifySummary s = identify(d, o);
  EXPECT_EQ(s.status, RunStatus::kNonFiniteLoss);
  EXPECT_LT(s.iterations, 60);
  EXPECT_TRUE(s.flow_map.field->params().allFinite());
}

TEST(Divergence, LowerLearningRateRestoresAndContinues) {
  const Dataset d = small_data(0.2);
  IdentifyOptions o = diverging();
  o.on_divergence = OnDivergence::kLowerLr;
  std::string said;
  const IdentifySummary s = identify(d, o, [&](const std::string& line) { said += line + "\n"; });
  EXPECT_NE(said.find("learning rate halved"), std::string::npos) << said;
  EXPECT_GT(s.learning_rate_halvings, 0);
  EXPECT_LE(s.learning_rate_halvings, 10);
  if (s.status == RunStatus::kCompleted) {
    EXPECT_EQ(s.iterations, 60);
    EXPECT_TRUE(std::isfinite(s.loss_history.back()));
  }
  EXPECT_TRUE(s.flow_map.field->params().allFinite());
  EXPECT_FALSE(parse_enum<OnDivergence>("retry"));
}

// fit with a learning rate far too large: the first Adam step throws the scheme out of reach (every rollout
// leaves the bound, the loss is not finite).
struct DivergingFit {
  Dataset fine;
  FitOptions o;
  DivergingFit(double learning_rate) {
    GenerateOptions g;
    g.h = 0.01;
    g.train_steps = 300;
    g.test_steps = 300;
    fine = generate(g);
    o.iterations = 40;
    o.batch_size = 16;
    o.candidates = 1;
    o.judge_runs = 2;
    o.judge.duration = 10.0;
    o.judge.transient = 1.0;
    o.stability_states = 10;
    o.compare.clear();
    o.adam.learning_rate = learning_rate;
  }
  FitSummary run(const std::string& policy, std::string* said, const FitHooks& hooks = {}) {
    o.on_divergence = *parse_enum<OnDivergence>(policy);
    return fit_sweep(Lorenz63(), fine, {0.05}, o, [&](const std::string& line) { *said += line + "\n"; }, hooks);
  }
};

TEST(Divergence, FitStopsWithTheLastGoodScheme) {
  DivergingFit d(1e4);
  std::string said;
  const FitSummary s = d.run("stop", &said);
  ASSERT_EQ(s.rows.size(), 1u);
  const FitRow& r = s.rows[0];
  EXPECT_EQ(r.status, RunStatus::kNonFiniteLoss);
  EXPECT_LT(r.loss_history.size(), 40u);
  EXPECT_FALSE(std::isfinite(r.loss_history.back()));
  EXPECT_NE(said.find("10 times in a row"), std::string::npos) << said;
  EXPECT_TRUE(r.tableau.A.allFinite());
  EXPECT_TRUE(r.tableau.b.allFinite());
  EXPECT_NEAR(r.tableau.b.sum(), 1.0, 1e-12);
  EXPECT_EQ(r.learning_rate_halvings, 0);
  // Without the huge rate the same run completes.
  DivergingFit calm(5e-3);
  said.clear();
  EXPECT_EQ(calm.run("stop", &said).rows[0].status, RunStatus::kCompleted);
}

TEST(Divergence, FitLowerLearningRateRestoresAndContinues) {
  DivergingFit d(4.0);  // "stop" gives up at this rate
  std::string said;
  const FitSummary s = d.run("lower_lr", &said);
  const FitRow& r = s.rows[0];
  EXPECT_NE(said.find("learning rate halved"), std::string::npos) << said;
  EXPECT_GT(r.learning_rate_halvings, 0);
  EXPECT_LE(r.learning_rate_halvings, 10);
  EXPECT_EQ(r.status, RunStatus::kCompleted);
  EXPECT_EQ(r.loss_history.size(), 40u);
  EXPECT_TRUE(std::isfinite(r.loss_history.back()));
  EXPECT_TRUE(r.tableau.A.allFinite());
  EXPECT_TRUE(r.tableau.b.allFinite());
  std::string ignored;
  EXPECT_EQ(d.run("stop", &ignored).rows[0].status, RunStatus::kNonFiniteLoss);
  // Stopped after the first halving and resumed: the same scheme (learning rate and counters are in the state).
  long polls = 0;
  FitCheckpoint saved;
  FitHooks hooks;
  hooks.stop_requested = [&] { return ++polls >= 22; };
  hooks.save = [&](const FitCheckpoint& c) { saved = c; };
  ASSERT_EQ(d.run("lower_lr", &ignored, hooks).status, RunStatus::kInterrupted);
  EXPECT_LT(saved.adam.learning_rate, 4.0);
  FitHooks resume;
  resume.resume = &saved;
  const FitSummary resumed = d.run("lower_lr", &ignored, resume);
  EXPECT_EQ(resumed.rows[0].tableau.A, r.tableau.A);
  EXPECT_EQ(resumed.rows[0].tableau.b, r.tableau.b);
  EXPECT_EQ(resumed.rows[0].loss_history, r.loss_history);
  EXPECT_EQ(resumed.rows[0].learning_rate_halvings, r.learning_rate_halvings);
  EXPECT_THROW(parse_enum_or_throw<OnDivergence>("retry", "divergence policy"), std::invalid_argument);
}

// fit: two steps, two candidates each, mini-batches; stopped in each candidate of each step.
TEST(Resume, FitStoppedAnywhereEndsWithTheSameRows) {
  GenerateOptions g;
  g.h = 0.01;
  g.train_steps = 600;
  g.test_steps = 600;
  const Dataset fine = generate(g);
  Lorenz63 f;
  FitOptions o;
  o.iterations = 12;
  o.batch_size = 16;
  o.candidates = 2;
  o.selection_runs = 4;
  o.refine_trials = 2;  // the random search after the candidates replays too
  o.judge_runs = 3;
  o.judge.duration = 20.0;
  o.judge.transient = 2.0;
  o.stability_states = 10;
  const std::vector<double> steps = {0.05, 0.02};
  const FitSummary full = fit_sweep(f, fine, steps, o);
  ASSERT_EQ(full.rows.size(), 4u);
  auto expect_same_rows = [&](const FitSummary& s) {
    ASSERT_EQ(s.rows.size(), full.rows.size());
    for (size_t i = 0; i < s.rows.size(); ++i) {
      EXPECT_EQ(s.rows[i].tableau.A, full.rows[i].tableau.A) << i;
      EXPECT_EQ(s.rows[i].tableau.b, full.rows[i].tableau.b) << i;
      EXPECT_EQ(s.rows[i].loss_history, full.rows[i].loss_history) << i;
      EXPECT_EQ(s.rows[i].verdict.worst_deviation, full.rows[i].verdict.worst_deviation) << i;
      EXPECT_EQ(s.rows[i].one_step_rmse, full.rows[i].one_step_rmse) << i;
    }
  };
  // 48 boundaries: 2 steps x 2 candidates x 12 iterations.
  for (long stop_at : {1L, 5L, 13L, 20L, 25L, 40L, 48L}) {
    SCOPED_TRACE(stop_at);
    long polls = 0;
    FitCheckpoint saved;
    FitHooks hooks;
    hooks.stop_requested = [&] { return ++polls >= stop_at; };
    hooks.save = [&](const FitCheckpoint& c) { saved = c; };
    EXPECT_EQ(fit_sweep(f, fine, steps, o, {}, hooks).status, RunStatus::kInterrupted);
    EXPECT_EQ(saved.h_index * 24 + saved.candidate * 12 + saved.iteration, stop_at - 1);
    FitHooks resume;
    resume.resume = &saved;
    expect_same_rows(fit_sweep(f, fine, steps, o, {}, resume));
  }
  // Periodic saves change nothing.
  int saves = 0;
  FitHooks every;
  every.checkpoint_every = 10;
  every.save = [&](const FitCheckpoint&) { ++saves; };
  expect_same_rows(fit_sweep(f, fine, steps, o, {}, every));
  EXPECT_EQ(saves, 4);
}

}  // namespace
}  // namespace trk

namespace trk {
namespace {

// Five iterations, every loss non-finite (a step far beyond RK4's stability on Lorenz-63): fewer than the 10 that stop
// a run, yet no progress at all, which is not "completed".
TEST(Resume, FitWithoutAFiniteIterationIsNotCompleted) {
  GenerateOptions g;
  g.h = 0.01;
  g.train_steps = 3000;
  g.test_steps = 300;
  FitOptions o;
  o.iterations = 5;
  o.batch_size = 16;
  o.candidates = 1;
  o.judge_runs = 2;
  o.judge.duration = 10.0;
  o.judge.transient = 1.0;
  o.compare.clear();
  const FitSummary s = fit_sweep(Lorenz63(), generate(g), {2.0}, o);
  ASSERT_EQ(s.rows.size(), 1u);
  EXPECT_EQ(s.rows[0].status, RunStatus::kNonFiniteLoss);
  EXPECT_EQ(fit_sweep(Lorenz63(), generate(g), {0.05}, o).rows[0].status, RunStatus::kCompleted);
}

}  // namespace
}  // namespace trk
