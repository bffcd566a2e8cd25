#include "trk/experiment/identify.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <span>
#include <stdexcept>

#include "trk/core/rng.h"
#include "trk/experiment/identify_problem.h"
#include "trk/experiment/split.h"
#include "trk/field/polynomial.h"
#include "trk/tableau/trainable_tableau.h"

namespace trk {

std::string IdentifyOptions::validation_error() const {
  SolverSpec s;
  try {
    s = parse_solver(solver);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  if (s.kind != SolverKind::kSparseRegression) {
    const auto models = model_names();
    if (std::find(models.begin(), models.end(), model) == models.end()) {
      std::string known;
      for (const auto& n : models) known += (known.empty() ? "" : ", ") + n;
      return "unknown model '" + model + "' (" + known + ")";
    }
    if (auto e = model_options.validation_error(); !e.empty()) return e;
  }
  if (iterations < 0) return "iterations must be >= 0";
  if (auto e = adam.validation_error(); !e.empty()) return e;
  if (batch_size < 0) return "batch size must be >= 0 (0: full batch)";
  if (rollout_steps < 1) return "rollout steps must be at least 1";
  if (refine_iterations < 0) return "refine iterations must be >= 0";
  if (refine_rollout_iterations < 0) return "refine rollout iterations must be >= 0";
  if (refine_rollout_steps < 1) return "refine rollout steps must be at least 1";
  if (refine_memory < 1) return "refine memory must be at least 1";
  if (meet_iterations < 0 || lm_iterations < 0) return "meet and lm iterations must be >= 0";
  if (continuation != "meet" && continuation != "substeps")
    return "unknown continuation '" + continuation + "' (meet, substeps)";
  if (continuation_substeps < 1) return "continuation substeps must be at least 1";
  if (substeps_iterations < 0) return "substeps iterations must be >= 0";
  if (lm_rollout_steps < 1) return "lm rollout steps must be at least 1";
  if (std::isnan(lm_horizon_decay)) return "lm horizon decay must be a number (< 0: the solver's)";
  if (lm_max_parameters < 0) return "lm max parameters must be >= 0";
  if (refit != "scratch" && refit != "warm" && refit != "none")
    return "unknown refit '" + refit + "' (scratch, warm, none)";
  if (lm_jacobian != "forward_differences" && lm_jacobian != "forward_mode")
    return "unknown lm jacobian '" + lm_jacobian + "' (forward_differences, forward_mode)";
  if (s.kind == SolverKind::kAdaptive && rollout_steps != 1) return s.name + " trains on one-step pairs only";
  if (s.kind == SolverKind::kTrainable) {
    if (auto e = validate_trainable_init(tableau_init, s.stages); !e.empty()) return e;
  }
  if (!(rtol > 0) || !(atol > 0) || !(sr_rtol > 0)) return "tolerances must be positive";
  if (auto e = sindy.validation_error(); !e.empty()) return e;
  if (restarts < 0) return "restarts must be >= 0 (0: the solver's default)";
  if (restart_iterations < 0) return "restart iterations must be >= 0";
  if (restart_continuation_iterations < 0) return "restart continuation iterations must be >= 0 (0: all)";
  if (lm_stop_window < 0 || !(lm_stop_decrease >= 0 && lm_stop_decrease < 1))
    return "lm stop window must be >= 0 and lm stop decrease in [0, 1)";
  if (!(refine_stop_decrease < 1) || std::isnan(refine_stop_decrease))
    return "refine stop decrease must be below 1 (< 0: the solver's)";
  if (!(validation_fraction > 0 && validation_fraction < 0.9)) return "validation fraction must be in (0, 0.9)";
  if (!(poor_fit_ratio > 0)) return "poor fit ratio must be positive";
  if (max_nfe_per_step < 0 || !(max_train_seconds >= 0)) return "budgets must be >= 0 (0: no budget)";
  if (threads < 0) return "threads must be >= 0";
  if (chunk_size < 1) return "chunk size must be at least 1";
  if (log_every < 0) return "log interval must be >= 0";
  return "";
}

int IdentifyOptions::resolved_restarts() const {
  if (restarts > 0) return restarts;
  const SolverKind kind = parse_solver(solver).kind;
  return kind == SolverKind::kAdaptive || kind == SolverKind::kSparseRegression ? 1 : 8;
}

ConvergenceTest IdentifyOptions::resolved_refine_stop() const {
  const bool adaptive = parse_solver(solver).kind == SolverKind::kAdaptive;
  return {refine_stop_window >= 0 ? refine_stop_window : adaptive ? 500 : 2000,
          refine_stop_decrease >= 0 ? refine_stop_decrease : 1e-3};
}

double IdentifyOptions::resolved_lm_horizon_decay() const {
  if (lm_horizon_decay >= 0) return lm_horizon_decay;
  return solver == "euler" ? 0.5 : solver == "rk4" ? 1.0 : 2.0;
}

namespace {

using Clock = std::chrono::steady_clock;
using Log = std::function<void(const std::string&)>;

// What the phases share: the problem, the parameters x, the summary so far, checkpoints and progress.
struct Run {
  Run(const Dataset& data, const IdentifyOptions& o, const Log& log, const IdentifyHooks& hooks, IdentifySummary& out,
      const IdentifyCheckpoint* resume)
      : data(data), o(o), log(log), hooks(hooks), out(out), problem(out.flow_map, o),
        all(make_pairs(data.train, o.rollout_steps)), rng(static_cast<std::uint64_t>(o.seed) ^ 0x5eedULL),
        resume(resume), adam_until(o.iterations) {}

  const Dataset& data;
  const IdentifyOptions& o;
  const Log& log;
  const IdentifyHooks& hooks;
  IdentifySummary& out;
  IdentifyProblem problem;
  const Pairs all;
  Vec x;
  Rng rng;
  std::uint64_t rng_draws = 0;
  const IdentifyCheckpoint* resume;
  Clock::time_point t_start = Clock::now();
  double seconds_before = 0.0;
  Boundaries boundaries;
  bool stopped = false;
  std::vector<IdentifyPhase> plan;  // the phases this run has, for progress lines "phase k/n"
  int adam_until;                   // the main Adam phase stops here (screening a start: restart_iterations)
  bool screening = false;           // a start screened: no phase after the main Adam phase
  int start = 0;                    // model seed + start
  std::vector<double> screened;     // L_val of the starts screened before this run
  double screening_seconds = 0.0;   // and their training time
  std::string label;                // progress lines' prefix ("start 3/8 ")
  bool over_budget = false;         // max_nfe_per_step or max_train_seconds exceeded: every phase ends
  Vec held_out_x;                   // the refit: the selected model's parameters and record (for checkpoints)
  TrainingRecord held_out_record;
  bool warm = false;                // the warm refit: the refinement phases only, from held_out_x

  double seconds() const { return seconds_before + std::chrono::duration<double>(Clock::now() - t_start).count(); }
  // The checkpoint of this phase when resuming inside it, else null.
  const IdentifyCheckpoint* resume_in(IdentifyPhase phase) const {
    return resume && resume->phase == phase ? resume : nullptr;
  }
  // Phases before the one resumed are done already.
  bool done_before_resume(IdentifyPhase phase) const { return resume && phase < resume->phase; }
  IdentifyCheckpoint state(IdentifyPhase phase, int iteration) const {
    IdentifyCheckpoint c;
    c.phase = phase;
    c.iteration = iteration;
    c.x = x;
    c.record = out;
    c.record.train_seconds = seconds();
    c.rng_draws = rng_draws;
    c.start = start;
    c.screened = screened;
    c.screening_seconds = screening_seconds;
    c.held_out_x = held_out_x;
    c.held_out_record = held_out_record;
    return c;
  }
  // At the top of every iteration of every phase: saves every checkpoint_every iterations, and when a stop is
  // requested (then true: the run ends here with status interrupted).
  bool at_boundary(const std::function<IdentifyCheckpoint()>& make_state) {
    if (budget_spent(0)) return true;
    const bool stop = boundaries.stop_here(hooks, make_state);
    if (stop) {
      out.status = RunStatus::kInterrupted;
      stopped = true;
      if (log) log("stopped on request; the state is saved");
    }
    return stop;
  }

  // Seconds of this run before the phase begun now: at a resume inside it, the phases recorded so far.
  double phase_start(IdentifyPhase phase) const {
    if (!resume_in(phase)) return seconds();
    double sum = 0.0;  // a warm refit's record begins with the phases of the run it continues
    for (size_t i = warm ? held_out_record.phases.size() : 0; i < out.phases.size(); ++i) sum += out.phases[i].seconds;
    return sum;
  }
  // Records a phase that ended: `otherwise` unless it ended on a stop request, the budget or a non-finite loss.
  void end_phase(IdentifyPhase phase, int iterations, double started, PhaseStop otherwise) {
    const PhaseStop stop = stopped ? PhaseStop::kInterrupted
                           : over_budget ? PhaseStop::kBudget
                           : out.status == RunStatus::kNonFiniteLoss ? PhaseStop::kNonFinite
                                                                      : otherwise;
    out.phases.push_back({phase, iterations, seconds() - started, stop});
  }

  // True once training went over its budget (this iteration's forward NFE per step, or the seconds so far):
  // status budget_exceeded, the phases end and the model reached is kept.
  bool budget_spent(long nfe_per_step) {
    if (!over_budget && ((o.max_nfe_per_step > 0 && problem.adaptive() && nfe_per_step > o.max_nfe_per_step) ||
                         (o.max_train_seconds > 0 && seconds() + screening_seconds > o.max_train_seconds))) {
      over_budget = true;
      out.status = RunStatus::kBudgetExceeded;
      if (log)
        log(nfe_per_step > o.max_nfe_per_step && o.max_nfe_per_step > 0
                ? "budget exceeded: " + std::to_string(nfe_per_step) + " evaluations per step > max_nfe_per_step " +
                      std::to_string(o.max_nfe_per_step) + ": training ends here"
                : "budget exceeded: max_train_seconds " + std::to_string(o.max_train_seconds) + ": training ends here");
    }
    return over_budget;
  }
};

// Progress lines of a phase: "phase k/n name it/total  <what>  rate  elapsed  eta".
class Progress {
 public:
  Progress(Run& run, IdentifyPhase phase, int first, int total)
      : run_(run), name_(to_string(phase)), total_(total),
        every_(run.o.log_every > 0 ? run.o.log_every : std::max(1, total / 20)), last_it_(first),
        start_(Clock::now()), last_(start_) {
    number_ = static_cast<int>(std::find(run.plan.begin(), run.plan.end(), phase) - run.plan.begin()) + 1;
  }
  void after(int it, const std::string& what) {
    if (!run_.log || ((it + 1) % every_ != 0 && it + 1 != total_)) return;
    const auto now = Clock::now();
    const double rate = (it + 1 - last_it_) / std::max(std::chrono::duration<double>(now - last_).count(), 1e-9);
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    char line[320];
    std::snprintf(line, sizeof line, "%sphase %d/%d %s %d/%d  %s  %.1f it/s  elapsed %.0f s  eta %.0f s",
                  run_.label.c_str(), number_, static_cast<int>(run_.plan.size()), name_.c_str(), it + 1, total_, what.c_str(), rate, elapsed,
                  (total_ - it - 1) / std::max(rate, 1e-9));
    run_.log(line);
    last_ = now;
    last_it_ = it + 1;
  }

 private:
  Run& run_;
  std::string name_;
  int number_, total_, every_, last_it_;
  Clock::time_point start_, last_;
};

bool diverged(Run& run, GuardedAdam& adam, int it, const char* what) {
  std::string happened;
  const bool stop = adam.diverged(run.x, happened);
  run.out.learning_rate_halvings = adam.halvings();
  if (stop) run.out.status = RunStatus::kNonFiniteLoss;
  if (run.log)
    run.log(std::string("non-finite ") + what + " at iteration " + std::to_string(it + 1) +
            ": last good model restored" + (happened == "restored" ? "" : ", " + happened));
  return stop;
}

// Iterations [first, total) of an Adam phase (the continuation when meet). False when the run stops.
bool adam_loop(Run& run, GuardedAdam& adam, IdentifyPhase phase, int first, int total) {
  const bool meet = phase == IdentifyPhase::kContinuation;
  const long n_all = run.all.size();
  Progress progress(run, phase, first, total);
  for (int it = first; it < total; ++it) {
    if (run.at_boundary([&] {
          IdentifyCheckpoint c = run.state(phase, it);
          c.adam = adam.state();
          return c;
        }))
      return false;
    std::vector<long> cols;
    if (run.o.batch_size > 0 && run.o.batch_size < n_all)
      for (int j = 0; j < run.o.batch_size; ++j, ++run.rng_draws)
        cols.push_back(static_cast<long>(run.rng.next_u64() % n_all));
    const LossEval r = run.problem.loss(run.all, run.x, cols, meet);
    if (meet) {
      run.out.meet_loss_history.push_back(r.loss);
    } else {
      run.out.loss_history.push_back(r.loss);
      run.out.nfe_forward_history.push_back(r.nfe_forward);
      run.out.nfe_backward_history.push_back(r.nfe_backward);
    }
    if (run.budget_spent(r.nfe_forward)) return false;
    if (!std::isfinite(r.loss) || !r.grad.allFinite()) {
      if (diverged(run, adam, it, "loss")) return false;
      continue;
    }
    adam.step(run.x, r.grad);
    run.problem.retract(run.x, meet);
    if (!run.x.allFinite()) {
      if (diverged(run, adam, it, "parameters")) return false;
      continue;
    }
    (meet ? run.out.meet_iterations : run.out.iterations) = it + 1;
    char what[96];
    std::snprintf(what, sizeof what, "loss %.4e  nfe %ld+%ld", r.loss, r.nfe_forward, r.nfe_backward);
    progress.after(it, what);
  }
  // Fewer than 10 iterations, none of them finite: no progress at all, which is no completed phase.
  if (total > 0 && (meet ? run.out.meet_iterations : run.out.iterations) == 0) {
    run.out.status = RunStatus::kNonFiniteLoss;
    if (run.log) run.log("no iteration of " + to_string(phase) + " had a finite loss and step: training stopped");
    return false;
  }
  return true;
}

// adam_loop, its phase recorded.
bool adam_iterations(Run& run, GuardedAdam& adam, IdentifyPhase phase, int first, int total) {
  const double started = run.phase_start(phase);
  const bool go_on = adam_loop(run, adam, phase, first, total);
  run.end_phase(phase, phase == IdentifyPhase::kContinuation ? run.out.meet_iterations : run.out.iterations, started,
                PhaseStop::kIterations);
  return go_on;
}

bool levenberg_marquardt(Run& run, IdentifyPhase phase, const Pairs& pairs, int iterations);

// Phase 1 (trainable and adaptive solvers): the continuation (meet in the middle, or the substeps fit of f_theta),
// then the main scheme's start (composed from the half-step scheme, or tableau_init). Phase 2: Adam on the rollout
// loss. False when the run stops or diverged.
bool adam_phases(Run& run) {
  const IdentifyOptions& o = run.o;
  const int meet = run.problem.continuation_iterations();
  const IdentifyCheckpoint* from = run.resume_in(IdentifyPhase::kContinuation);
  std::optional<GuardedAdam> continuation;
  if (meet > 0 && run.problem.substeps() && !run.done_before_resume(IdentifyPhase::kContinuation)) {
    run.x = from ? from->x : run.problem.initial_x(true);
    if (!levenberg_marquardt(run, IdentifyPhase::kContinuation, make_pairs(run.data.train, 1), meet)) return false;
    run.problem.compose(run.x);
  } else if (meet > 0 && !run.done_before_resume(IdentifyPhase::kContinuation)) {
    run.x = from ? from->x : run.problem.initial_x(true);
    continuation.emplace(run.x, o.adam, meet, o.on_divergence);
    if (from) continuation->restore(from->adam);
    const bool go_on = adam_iterations(run, *continuation, IdentifyPhase::kContinuation, from ? from->iteration : 0,
                                       meet);
    if (run.stopped) return false;
    run.problem.compose(run.x);
    if (!go_on) return false;
  } else if (!run.resume || run.resume->phase == IdentifyPhase::kContinuation) {
    run.x = run.problem.initial_x(false);
  }
  from = run.resume_in(IdentifyPhase::kAdam);
  if (from) run.x = from->x;
  GuardedAdam adam(run.x, o.adam, o.iterations, o.on_divergence);
  if (continuation) adam.continue_from(*continuation);
  if (from) adam.restore(from->adam);
  return adam_iterations(run, adam, IdentifyPhase::kAdam, from ? from->iteration : 0, run.adam_until) &&
         run.out.status == RunStatus::kCompleted && run.out.iterations == run.adam_until;
}

// Phases 3 and 4: L-BFGS on the full batch of `pairs` (sum b = 1 kept by projection), until converged
// (resolved_refine_stop: an adaptive solver's loss is noisy at the level of its tolerances, the accepted steps
// changing with theta, where L-BFGS keeps taking tiny steps).
void refine(Run& run, IdentifyPhase phase, const Pairs& pairs, int iterations) {
  const ConvergenceTest stop = run.o.resolved_refine_stop();
  const double started = run.phase_start(phase);
  PhaseStop ended = PhaseStop::kIterations;
  const char* label = phase == IdentifyPhase::kRefine ? "refine" : "refine rollout";
  LbfgsProblem problem;
  problem.evaluate = [&](const Vec& x, Vec& g) {
    LossEval e = run.problem.loss(pairs, x);
    run.budget_spent(e.nfe_forward);  // ends the phase at the next iteration
    g = std::move(e.grad);
    return e.loss;
  };
  problem.project_gradient = [&](Vec g) { return run.problem.project_gradient(std::move(g)); };
  problem.retract = [&](Vec& x) { run.problem.retract(x); };
  const IdentifyCheckpoint* from = run.resume_in(phase);
  LbfgsState st = from ? from->lbfgs : lbfgs_start(problem, run.x);
  int done = from ? from->lbfgs_accepted : 0;
  Progress progress(run, phase, from ? from->iteration : 0, iterations);
  for (int it = from ? from->iteration : 0; it < iterations; ++it) {
    if (!std::isfinite(st.loss)) {
      ended = PhaseStop::kNonFinite;
      break;
    }
    if (run.at_boundary([&] {
          IdentifyCheckpoint c = run.state(phase, it);
          c.lbfgs = st;
          c.lbfgs_accepted = done;
          return c;
        })) {
      run.end_phase(phase, done, started, ended);
      return;
    }
    if (!lbfgs_iteration(problem, {.memory = run.o.refine_memory}, run.x, st)) {
      ended = PhaseStop::kNoDecrease;
      break;
    }
    std::vector<double>& history = run.out.refine_loss_history;
    history.push_back(st.loss);
    ++done;
    if (stop.converged(std::span<const double>(history).last(static_cast<size_t>(done)))) {
      if (run.log) run.log(std::string(label) + " converged at iteration " + std::to_string(it + 1) + ": stopped");
      ended = PhaseStop::kConverged;
      break;
    }
    char what[48];
    std::snprintf(what, sizeof what, "loss %.4e", st.loss);
    progress.after(it, what);
  }
  run.out.refine_iterations += done;
  run.end_phase(phase, done, started, ended);
}

// Phase 5 (fixed-step solvers): Levenberg-Marquardt on the lm_rollout_steps-step residuals. Phase 1 of the substeps
// continuation (phase kContinuation): on the one-step residuals of f_theta through the fixed sub-step scheme.
// False when the run stops.
bool levenberg_marquardt(Run& run, IdentifyPhase phase, const Pairs& pairs, int iterations) {
  const bool continuation = phase == IdentifyPhase::kContinuation;
  if (run.x.size() > run.o.lm_max_parameters) {
    if (run.log)
      run.log("lm skipped: " + std::to_string(run.x.size()) + " parameters > lm_max_parameters " +
              std::to_string(run.o.lm_max_parameters));
    return true;
  }
  LevenbergMarquardtProblem problem;
  problem.residuals = [&](const Vec& x) { return run.problem.residuals(pairs, x, continuation); };
  problem.normal_equations = [&](const Vec& x, const Vec& r, Mat& JTJ, Vec& g) {
    run.problem.normal_equations(pairs, x, r, JTJ, g, continuation);
  };
  problem.retract = [&](Vec& x) { run.problem.retract(x, continuation); };
  const IdentifyCheckpoint* from = run.resume_in(phase);
  const double started = run.phase_start(phase);
  // The stopping test ends the last phase only: the continuation's count decides how far each start is fitted.
  const ConvergenceTest stop = continuation ? ConvergenceTest{} : run.o.lm_stop();
  // The continuation stops early when screening a start (restart_continuation_iterations).
  const int until = continuation && run.screening && run.o.restart_continuation_iterations > 0
                        ? std::min(iterations, run.o.restart_continuation_iterations)
                        : iterations;
  LevenbergMarquardtState st = from ? from->lm : levenberg_marquardt_start(problem, run.x);
  std::vector<double>& history = continuation ? run.out.meet_loss_history : run.out.lm_loss_history;
  const size_t first_entry = history.size() - static_cast<size_t>(from ? from->iteration : 0);
  PhaseStop ended = PhaseStop::kIterations;
  Progress progress(run, phase, from ? from->iteration : 0, until);
  bool halted = false;  // stopped on request or over budget
  for (int it = from ? from->iteration : 0; it < until; ++it) {
    if (!std::isfinite(st.loss)) {
      ended = PhaseStop::kNonFinite;
      break;
    }
    if (run.at_boundary([&] {
          IdentifyCheckpoint c = run.state(phase, it);
          c.lm = st;
          return c;
        })) {
      halted = true;
      break;
    }
    if (!levenberg_marquardt_iteration(problem, run.x, st)) {
      ended = PhaseStop::kNoDecrease;
      break;
    }
    history.push_back(st.loss);
    ++(continuation ? run.out.meet_iterations : run.out.refine_iterations);
    char what[64];
    std::snprintf(what, sizeof what, "loss %.4e  mu %.1e", st.loss, st.mu);
    progress.after(it, what);
    if (stop.converged(std::span<const double>(history).subspan(first_entry))) {
      if (run.log) run.log(to_string(phase) + " converged at iteration " + std::to_string(it + 1) + ": stopped");
      ended = PhaseStop::kConverged;
      break;
    }
  }
  run.end_phase(phase, static_cast<int>(history.size() - first_entry), started, ended);
  return !halted;
}

// sr: SINDy on the training trajectories, simulated by its adaptive solver at tight tolerance.
void identify_sparse(const Dataset& data, const IdentifyOptions& o, IdentifySummary& out) {
  const auto t_start = Clock::now();
  FlowMap& psi = out.flow_map;
  psi.solver = parse_solver(o.solver);
  psi.h = data.h;
  out.sindy = sindy(data.train.states, data.h, o.sindy);
  psi.model = "polynomial";
  psi.field = std::make_unique<PolynomialField>(out.sindy->field());
  psi.tableau = psi.solver.named();
  psi.adaptive.control.rtol = psi.adaptive.control.atol = o.sr_rtol;
  psi.adaptive.control.convention = StepControlConvention::kHairer;  // the simulation of the committed sr cells
  psi.adaptive.max_steps = 100000;
  out.train_seconds = std::chrono::duration<double>(Clock::now() - t_start).count();
}

std::vector<IdentifyPhase> planned_phases(const Run& run) {
  const IdentifyOptions& o = run.o;
  const bool fixed = !run.problem.adaptive();
  std::vector<IdentifyPhase> plan;
  if (!run.warm) {
    if (run.problem.continuation_iterations() > 0) plan.push_back(IdentifyPhase::kContinuation);
    plan.push_back(IdentifyPhase::kAdam);
  }
  if (run.screening) return plan;
  if (o.refine_iterations > 0) plan.push_back(IdentifyPhase::kRefine);
  if (fixed && o.refine_rollout_iterations > 0) plan.push_back(IdentifyPhase::kRefineRollout);
  if (fixed && o.lm_iterations > 0) plan.push_back(IdentifyPhase::kLevenbergMarquardt);
  return plan;
}

// The flow map of a start: solver, h, tolerances and the model initialised with model seed + start.
void init_flow_map(FlowMap& psi, const SolverSpec& solver, const Dataset& data, const IdentifyOptions& o, int start) {
  psi.solver = solver;
  psi.h = data.h;
  psi.adaptive.control.rtol = o.rtol;
  psi.adaptive.control.atol = o.atol;
  psi.adaptive.control.convention = o.step_control;
  psi.adaptive.max_steps = 100000;
  psi.model = o.model;
  psi.model_options = o.model_options;
  psi.model_options.seed = o.resolved_model_seed() + static_cast<std::uint64_t>(start);
  psi.field = make_model(o.model, data.dim(), psi.model_options);
  if (solver.kind != SolverKind::kTrainable) psi.tableau = solver.named();
  if (o.max_nfe_per_step > 0 && solver.kind == SolverKind::kAdaptive)  // a solve past the budget is cut
    psi.adaptive.max_steps = o.max_nfe_per_step / psi.tableau.num_stages() + 1;
}

// The phases of the plan from `resume` (or the start); the parameters left in run.x. False when stopped on request.
bool train(Run& run) {
  const IdentifyOptions& o = run.o;
  const Dataset& data = run.data;
  IdentifySummary& out = run.out;
  if (run.all.size() < 1)
    throw std::invalid_argument("the training split has no pair for " + std::to_string(o.rollout_steps) +
                                "-step rollouts");
  run.plan = planned_phases(run);
  if (const IdentifyCheckpoint* r = run.resume) {
    static_cast<TrainingRecord&>(out) = r->record;
    run.seconds_before = r->record.train_seconds;
    for (std::uint64_t i = 0; i < r->rng_draws; ++i) run.rng.next_u64();
    run.rng_draws = r->rng_draws;
    const bool meet_layout = r->phase == IdentifyPhase::kContinuation;
    const Eigen::Index expected = run.problem.initial_x(meet_layout).size();
    if (r->x.size() != expected)
      throw std::invalid_argument("checkpoint: " + std::to_string(r->x.size()) + " parameters, these options have " +
                                  std::to_string(expected));
    run.x = r->x;
  }
  // Phases resumed past are done; the refinements follow a main Adam phase that completed.
  const bool adam_done = run.warm || run.done_before_resume(IdentifyPhase::kAdam);
  if ((adam_done ? out.status == RunStatus::kCompleted && out.iterations == o.iterations : adam_phases(run)) &&
      !run.screening) {
    if (o.refine_iterations > 0 && !run.done_before_resume(IdentifyPhase::kRefine))
      refine(run, IdentifyPhase::kRefine, run.all, o.refine_iterations);
    if (!run.problem.adaptive() && !run.stopped && o.refine_rollout_iterations > 0 &&
        !run.done_before_resume(IdentifyPhase::kRefineRollout))
      refine(run, IdentifyPhase::kRefineRollout, make_pairs(data.train, o.refine_rollout_steps),
             o.refine_rollout_iterations);
    if (!run.problem.adaptive() && !run.stopped && o.lm_iterations > 0)
      levenberg_marquardt(run, IdentifyPhase::kLevenbergMarquardt, make_pairs(data.train, o.lm_rollout_steps),
                          o.lm_iterations);
  }
  if (run.stopped) return false;
  run.problem.set_flow_map(run.x);
  out.train_seconds = run.seconds();
  return true;
}

// One-step MSE mean ||Psi(z_t) - z_{t+h}||^2 / dim over the pairs of a split (+inf when a forecast is not finite).
double one_step_mse(const FlowMap& psi, const Split& split) {
  const Pairs p = make_pairs(split, 1);
  const double mse = (psi.apply(p.Z0) - p.targets[0]).squaredNorm() / static_cast<double>(p.targets[0].size());
  return std::isfinite(mse) ? mse : std::numeric_limits<double>::infinity();
}

// The data identify trains and chooses on: the dataset itself when it has a /validation split, else its training
// trajectories with their last validation_fraction held out (split.h).
Dataset with_validation(const Dataset& data, double fraction, bool* held_out) {
  *held_out = data.validation.num_trajectories() == 0;
  Dataset d = *held_out ? hold_out_validation(data, fraction) : data;
  if (d.validation.num_times() < 5)  // its 4-step forecasts judge the status
    throw std::invalid_argument("the validation split has " + std::to_string(d.validation.num_times()) +
                                " samples per trajectory; scoring needs at least 5 (a start and 4 steps)");
  return d;
}

// Every rollout a phase trains on fits in the training trajectories (a longer one has no pair: a loss of 0).
void check_rollouts(const Dataset& work, const IdentifyOptions& o, const SolverSpec& solver) {
  if (solver.kind == SolverKind::kSparseRegression) return;
  const bool fixed_step = solver.kind != SolverKind::kAdaptive;
  const std::pair<int, const char*> rollouts[] = {
      {o.rollout_steps, "rollout_steps"},
      {fixed_step && o.refine_rollout_iterations > 0 ? o.refine_rollout_steps : 0, "refine_rollout_steps"},
      {fixed_step && o.lm_iterations > 0 ? o.lm_rollout_steps : 0, "lm_rollout_steps"}};
  for (const auto& [steps, key] : rollouts)
    if (work.train.num_times() < 1 + steps)
      throw std::invalid_argument(std::string(key) + " " + std::to_string(steps) + ": the training trajectories have " +
                                  std::to_string(work.train.num_times()) + " samples, a rollout needs " +
                                  std::to_string(1 + steps));
}

// The selected model's losses and verdict on the validation split: L_val, its persistence MSE, its forecasts, and
// status poor_fit (above poor_fit_ratio x persistence, or diverging 4-step forecasts).
void score_on_validation(IdentifySummary& out, const Dataset& work, const IdentifyOptions& o, const Log& log) {
  const Pairs val = make_pairs(work.validation, 1);
  out.validation_pairs = val.size();
  out.persistence_loss = (val.targets[0] - val.Z0).squaredNorm() / static_cast<double>(val.Z0.size());
  out.validation_loss = one_step_mse(out.flow_map, work.validation);
  const bool four_steps = make_pairs(work.validation, 4).size() > 0;
  if (four_steps) out.validation = evaluate_forecasts(out.flow_map, work.validation);
  const bool above = !(out.validation_loss <= o.poor_fit_ratio * out.persistence_loss);
  if (out.status == RunStatus::kCompleted && (above || (four_steps && out.validation.at_4h.diverged))) {
    out.status = RunStatus::kPoorFit;
    if (log) {
      char line[200];
      if (above)
        std::snprintf(line, sizeof line,
                      "warning: poor fit: validation loss %.3e is %.2g x the persistence MSE %.3e (limit %g)",
                      out.validation_loss, out.validation_loss / out.persistence_loss, out.persistence_loss,
                      o.poor_fit_ratio);
      else
        std::snprintf(line, sizeof line, "warning: poor fit: the 4-step forecasts of the validation split diverge");
      log(line);
    }
  }
}

// RMSE(t0+h) x RMSE(t0+4h) of the forecasts of a split (+inf when either diverges): the rule of every choice.
double forecast_score(const FlowMap& psi, const Split& split) {
  const EvaluateSummary e = evaluate_forecasts(psi, split);
  const double score = e.at_h.rmse * e.at_4h.rmse;
  return e.at_h.diverged || e.at_4h.diverged || !std::isfinite(score) ? std::numeric_limits<double>::infinity()
                                                                      : score;
}

}  // namespace

IdentifySummary identify(const Dataset& data, const IdentifyOptions& o, const Log& log, const IdentifyHooks& hooks) {
  if (auto e = o.validation_error(); !e.empty()) throw std::invalid_argument(e);
  if (!(data.h > 0)) throw std::invalid_argument("the dataset's h must be positive");
  const SolverSpec solver = parse_solver(o.solver);
  bool held_out = false;
  const Dataset work = with_validation(data, o.validation_fraction, &held_out);
  check_rollouts(work, o, solver);
  IdentifySummary out;
  if (solver.kind == SolverKind::kSparseRegression) {
    identify_sparse(work, o, out);
    out.train_pairs = make_pairs(work.train, 1).size();
    out.train_loss = one_step_mse(out.flow_map, work.train);
    score_on_validation(out, work, o, log);
  } else {
    // Restarts: each start screened (continuation and the first restart_iterations of Adam), then the best one's run.
    const int starts = o.resolved_restarts();
    const IdentifyCheckpoint* resume = hooks.resume;
    std::vector<double> screened = resume ? resume->screened : std::vector<double>{};
    double screening_seconds = resume ? resume->screening_seconds : 0.0;
    if (starts > 1 && screened.size() > static_cast<size_t>(starts))
      throw std::invalid_argument("checkpoint: " + std::to_string(screened.size()) + " starts screened, these " +
                                  "options have " + std::to_string(starts));
    for (int s = static_cast<int>(screened.size()); starts > 1 && s < starts; ++s) {
      IdentifySummary trial;
      init_flow_map(trial.flow_map, solver, work, o, s);
      Run run(work, o, log, hooks, trial, resume);
      resume = nullptr;
      run.adam_until = std::min(o.restart_iterations, o.iterations);
      run.screening = true;
      run.start = s;
      run.screened = screened;
      run.screening_seconds = screening_seconds;
      run.label = "start " + std::to_string(s + 1) + "/" + std::to_string(starts) + " ";
      if (!train(run)) return trial;
      screening_seconds += trial.train_seconds;
      screened.push_back(trial.status == RunStatus::kCompleted ? one_step_mse(trial.flow_map, work.validation)
                                                               : std::numeric_limits<double>::infinity());
      if (log) {
        char line[160];
        std::snprintf(line, sizeof line, "start %d/%d (model seed %llu): validation loss %.4e", s + 1, starts,
                      static_cast<unsigned long long>(trial.flow_map.model_options.seed), screened.back());
        log(line);
      }
    }
    const int chosen =
        starts > 1 ? static_cast<int>(std::min_element(screened.begin(), screened.end()) - screened.begin()) : 0;
    if (starts > 1 && log)
      log("start " + std::to_string(chosen + 1) + " chosen (least validation loss): trained to the end");
    init_flow_map(out.flow_map, solver, work, o, chosen);
    TrainingRecord selected_record;  // the chosen start's run on the held-out split, its own seconds
    Vec selected_x;
    const bool resume_in_refit = resume && resume->held_out_x.size() > 0;
    if (!resume_in_refit) {
      Run run(work, o, log, hooks, out, resume);
      run.start = chosen;
      run.screened = screened;
      run.screening_seconds = screening_seconds;
      if (!train(run)) return out;
      selected_record = out;
      selected_x = run.x;
    } else {
      selected_record = resume->held_out_record;
      selected_x = resume->held_out_x;
      static_cast<TrainingRecord&>(out) = selected_record;
      IdentifyProblem(out.flow_map, o).set_flow_map(selected_x);
    }
    out.train_seconds = selected_record.train_seconds + screening_seconds;
    out.start = chosen;
    out.restart_losses = screened;
    out.screening_seconds = screening_seconds;
    score_on_validation(out, work, o, log);
    if (held_out && o.refit != "none" && starts > 1 && out.status == RunStatus::kCompleted) {
      IdentifySummary full;
      init_flow_map(full.flow_map, solver, data, o, chosen);
      Run run(data, o, log, hooks, full, resume_in_refit ? resume : nullptr);
      run.warm = o.refit == "warm";
      if (run.warm && !resume_in_refit) {  // the record goes on from the selected model's
        static_cast<TrainingRecord&>(full) = selected_record;
        full.train_seconds = 0.0;
        run.x = selected_x;
      }
      run.start = chosen;
      run.screened = screened;
      run.screening_seconds = screening_seconds + selected_record.train_seconds;
      run.held_out_x = selected_x;
      run.held_out_record = selected_record;
      run.label = "refit ";
      if (log)
        log("refit (" + o.refit + "): start " + std::to_string(chosen + 1) + " trained once more on all " +
            std::to_string(run.all.size()) + " training pairs");
      if (!train(run)) return full;
      out.refit.done = true;
      out.refit.seconds = full.train_seconds;
      out.refit.score = forecast_score(full.flow_map, data.train);
      out.refit.selected_score = forecast_score(out.flow_map, data.train);
      out.refit.kept = full.status == RunStatus::kCompleted && out.refit.score <= out.refit.selected_score;
      if (out.refit.kept) {
        static_cast<TrainingRecord&>(out) = full;
        out.flow_map = std::move(full.flow_map);
      }
      out.train_seconds = screening_seconds + selected_record.train_seconds + out.refit.seconds;
      if (log) {
        char line[200];
        std::snprintf(line, sizeof line, "refit %s: training-trajectory score (RMSE t0+h x t0+4h) %.4e, without the "
                      "held-out part %.4e", out.refit.kept ? "kept" : "discarded", out.refit.score,
                      out.refit.selected_score);
        log(line);
      }
    }
    out.train_pairs = make_pairs(out.refit.kept ? data.train : work.train, 1).size();
    out.train_loss = one_step_mse(out.flow_map, out.refit.kept ? data.train : work.train);
  }
  out.validation_held_out = held_out;
  out.evaluation = evaluate_forecasts(out.flow_map, data.test);
  return out;
}

}  // namespace trk
