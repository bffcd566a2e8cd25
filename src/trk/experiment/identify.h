// Identification (docs/method.md): learn f_theta from pairs (z_t, z_{t+h}) of a dataset, the flow map
//   Psi(z_t) ~ z_{t+h} being one step of size h of a fixed scheme (euler, rk4, ...) or a trainable TRK_q scheme
//   (A, b trained jointly with theta, sum b = 1 held by projection), or one adaptive solve over [0, h] (dopri8,
//   gradients through the accepted steps); or SINDy (sr) simulated by dopri8 at tight tolerance.
// Phases, in order (each optional): continuation (trkQ: Levenberg-Marquardt on f_theta through m RK4 sub-steps of
// h/m, substeps; or Adam on the meet-in-the-middle loss of step h/2, meet, and for dopri8), adam (Adam on
// the K-step rollout MSE, full batch or seeded mini-batches), refine and refine_rollout (L-BFGS), lm
// (Levenberg-Marquardt on K-step residuals). Then the evaluation on the test split (flow_map.h).
// Validation: the dataset's /validation split, else the last validation_fraction of every training trajectory
// (held out of training). Its one-step MSE, L_val = mean ||Psi(z_t) - z_{t+h}||^2 / dim, makes every choice:
// restarts: starts s = 0..restarts-1 (model seed + s) run the continuation and the first restart_iterations of the
// main Adam phase; the start of least L_val is run again from its beginning through every phase (so the result is
// the run of that model seed). Data without /validation: that start is then trained once more on every pair
// (refit). Status poor_fit: the final L_val > poor_fit_ratio x the persistence MSE
// mean ||z_{t+h} - z_t||^2 / dim of the validation pairs, or the validation split's 4-step forecasts diverge. The test split is read once, for the evaluation.
// Parallelism: the batch is cut into fixed chunks of columns, evaluated on OpenMP threads with a copy of the model
// each, and the chunk results are summed in chunk order, so the numbers do not depend on the thread count.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "trk/core/fields.h"
#include "trk/core/run_hooks.h"
#include "trk/core/status.h"
#include "trk/experiment/dataset.h"
#include "trk/experiment/flow_map.h"
#include "trk/experiment/solver.h"
#include "trk/train/adam.h"
#include "trk/train/guarded_adam.h"
#include "trk/train/lbfgs.h"
#include "trk/train/levenberg_marquardt.h"
#include "trk/train/convergence.h"
#include "trk/train/sindy.h"

namespace trk {

struct IdentifyOptions {
  std::string solver = "trk10";       // the grid's axis (solver.h): not a field of the table below
  std::string model = "bilinear";
  ModelOptions model_options;
  std::int64_t model_seed = -1;       // initialisation of the model; < 0: `seed`
  int iterations = 10000;             // Adam iterations of the main phase
  AdamOptions adam = {.learning_rate = 3e-3, .clip_norm = 1.0, .schedule = LrSchedule::kConstant, .warmup = 500};
  int batch_size = 0;                 // 0: full batch
  int rollout_steps = 1;
  std::string tableau_init = "euler_substeps";
  // Continuation (adaptive solvers; trkQ with continuation = "meet"): before the Adam iterations above,
  // meet_iterations Adam iterations (same settings) on the meet-in-the-middle loss
  // mean ||Psi_{h/2}(z_t) - Psi_{-h/2}(z_{t+h})||^2 / dim, a problem of step h/2 whose landscape is much milder than
  // the one of step h.
  int meet_iterations = 10000;
  // trkQ: the continuation's problem. meet: the meet-in-the-middle loss above, with the half-step scheme held at
  // q/2 Euler sub-steps, then the main scheme starts from two of those half steps. substeps: f_theta alone is fitted
  // to the flow, by substeps_iterations of Levenberg-Marquardt on the one-step residuals of the model stepped by
  // m = continuation_substeps classical RK4 sub-steps of h/m (a fixed, accurate integrator; LM rejects the steps
  // into a blow-up where Adam walks into them), then the main scheme starts from tableau_init. Models of more than
  // lm_max_parameters parameters take the meet continuation.
  std::string continuation = "substeps";
  int continuation_substeps = 8;
  int substeps_iterations = 200;
  // Refinement after Adam: L-BFGS on the full batch, first refine_iterations on the rollout_steps-step loss, then
  // (fixed-step solvers) refine_rollout_iterations on the refine_rollout_steps-step loss (sum b = 1 kept by
  // projecting the gradient). An adaptive solver's loss is smooth in theta only between changes of its accepted
  // steps; its L-BFGS stops when 500 iterations gain < 0.1 %.
  int refine_iterations = 20000;
  int refine_rollout_iterations = 0;
  int refine_rollout_steps = 4;
  int refine_memory = 20;
  // Each L-BFGS phase stops once converged (train/convergence.h): its loss fell by at most refine_stop_decrease
  // (relative) over the last refine_stop_window iterations. < 0: the solver's (adaptive: 500 and 1e-3, the level
  // of its tolerances; otherwise 2000 and 1e-3; decisions/convergence-stopping.md).
  int refine_stop_window = -1;
  double refine_stop_decrease = -1.0;
  // Then (fixed-step solvers) Levenberg-Marquardt on the lm_rollout_steps-step residuals, when the parameters number at most lm_max_parameters (an iteration costs P rollouts and a P x P
  // solve; an MLP ends after L-BFGS).
  int lm_iterations = 500;
  // The Jacobian of the Levenberg-Marquardt residuals: forward_differences (one rollout per parameter), or
  // forward_mode (exact: the tangents of every parameter carried through the stages with the primal; models that
  // provide VectorField::eval_gradients, else forward differences).
  std::string lm_jacobian = "forward_differences";
  int lm_max_parameters = 1000;
  int lm_rollout_steps = 4;
  // The last Levenberg-Marquardt phase stops once converged: its loss fell by at most lm_stop_decrease (relative)
  // over the last lm_stop_window iterations (0: never). The substeps continuation runs its count.
  int lm_stop_window = 50;
  double lm_stop_decrease = 1e-3;
  // d: the residual of step k is weighted by k^-d (errors grow with k). < 0: the solver's, chosen on validation
  // data by the product of the validation RMSEs at t0+h and t0+4h (README): 0.5 for euler, 1 for rk4, 2 otherwise.
  double lm_horizon_decay = -1.0;
  double rtol = 1e-7, atol = 1e-9;    // adaptive solvers in training
  // Adaptive solvers' step control (solve/step_control.h): auto (torchdiffeq's for dopri5 and dopri8, Hairer's for
  // dop853), torchdiffeq or hairer.
  StepControlConvention step_control = StepControlConvention::kAuto;
  // Budget (an adaptive solver on a stiff learned field can take huge NFE): training ends with status
  // budget_exceeded once an iteration's forward NFE per step h exceeds max_nfe_per_step (adaptive solvers; the
  // solves of every later evaluation are also cut there, a cut forecast counting as diverged), or once
  // training has taken max_train_seconds (any solver, the starts' screening included). The model reached is
  // evaluated and saved. 0: no budget.
  long max_nfe_per_step = 0;
  double max_train_seconds = 0.0;
  double sr_rtol = 1e-10;             // sr simulation (rtol = atol)
  SindyOptions sindy;
  // Starts screened (model seed + 0..restarts-1). 0: 8 for fixed-step and trainable solvers, 1 for adaptive ones
  // (a start of dopri8 costs 40-90 of TRK10's, and it reached the true field from its first start on every
  // dataset tried) and sr (nothing to restart).
  int restarts = 0;
  int restart_iterations = 2000;      // main Adam iterations of each start before the choice
  int restart_continuation_iterations = 0;  // continuation iterations of each start before the choice (0: all)
  double validation_fraction = 0.2;   // data without /validation: held out from the end of each training trajectory
  // Data without /validation and more than one start: once the start is chosen on the held-out part, it is trained
  // once more on every training pair (held-out part included), the standard refit after a validation split:
  // scratch (from its beginning through every phase), warm (the refinement phases, L-BFGS and Levenberg-Marquardt,
  // from the model trained without the held-out part) or none. The refit is saved unless its forecasts of the
  // training trajectories score worse (the product of the RMSEs at t0+h and t0+4h) than that model.
  std::string refit = "scratch";
  double poor_fit_ratio = 0.02;       // status poor_fit above this L_val / persistence MSE
  std::int64_t seed = 0;
  int chunk_size = 250;               // columns per parallel chunk (fixed: results independent of threads)
  // Non-finite loss or gradient in the Adam phases (train/guarded_adam.h): the step is undone (last good
  // parameters); stop: after 10 in a row training stops with status non_finite_loss and keeps the last good
  // model; lower_lr: the learning rate is halved each time (up to 10 times), then as stop.
  OnDivergence on_divergence = OnDivergence::kStop;
  int threads = 0;                    // 0: OpenMP's default
  int log_every = 0;                  // 0: about 20 progress lines per phase

  std::uint64_t resolved_model_seed() const { return static_cast<std::uint64_t>(model_seed >= 0 ? model_seed : seed); }
  int resolved_restarts() const;
  double resolved_lm_horizon_decay() const;
  ConvergenceTest resolved_refine_stop() const;
  ConvergenceTest lm_stop() const { return {lm_stop_window, lm_stop_decrease}; }
  std::string validation_error() const;
};

template <class V>
void visit_fields(IdentifyOptions& o, V&& v) {
  v(Field{"model", "trainable model: bilinear | mlp | local-bilinear | local-mlp"}, o.model);
  visit_fields(o.model_options, v);
  v(Field{"model_seed", "seed of the model's initialisation (< 0: --seed)"}, o.model_seed);
  v(Field{"iterations", "Adam iterations of the main phase"}, o.iterations);
  visit_fields(o.adam, v);
  v(Field{"batch_size", "pairs per Adam iteration (0: full batch)"}, o.batch_size);
  v(Field{"rollout_steps", "K of the K-step rollout loss (1: one-step MSE)"}, o.rollout_steps);
  v(Field{"tableau_init", "trkQ: euler_substeps | rk4_substeps | zeros | classical | a named tableau"}, o.tableau_init);
  v(Field{"meet_iterations",
          "Adam iterations of the meet-in-the-middle continuation (adaptive; trkQ with continuation meet)"},
    o.meet_iterations);
  v(Field{"continuation", "trkQ: meet (Adam, meet in the middle at h/2) | substeps (Levenberg-Marquardt on f_theta "
                          "through RK4 sub-steps)"},
    o.continuation);
  v(Field{"continuation_substeps", "RK4 sub-steps of h of the substeps continuation"}, o.continuation_substeps);
  v(Field{"substeps_iterations", "Levenberg-Marquardt iterations of the substeps continuation"},
    o.substeps_iterations);
  v(Field{"refine_iterations", "L-BFGS iterations after Adam (not sr)"}, o.refine_iterations);
  v(Field{"refine_rollout_iterations", "then L-BFGS iterations on refine_rollout_steps-step rollouts"},
    o.refine_rollout_iterations);
  v(Field{"refine_rollout_steps", "rollout steps of that L-BFGS"}, o.refine_rollout_steps);
  v(Field{"refine_memory", "L-BFGS memory pairs"}, o.refine_memory);
  v(Field{"refine_stop_window",
          "L-BFGS stops when its loss fell by at most refine_stop_decrease over this many iterations (< 0: 500 for "
          "adaptive solvers, else 2000)"},
    o.refine_stop_window);
  v(Field{"refine_stop_decrease", "relative decrease of that test (< 0: 1e-3)"},
    o.refine_stop_decrease);
  v(Field{"lm_iterations", "Levenberg-Marquardt iterations at the end (fixed-step solvers)"}, o.lm_iterations);
  v(Field{"lm_jacobian", "Levenberg-Marquardt Jacobian: forward_differences | forward_mode (exact; bilinear)"},
    o.lm_jacobian);
  v(Field{"lm_max_parameters", "Levenberg-Marquardt only up to this many parameters"}, o.lm_max_parameters);
  v(Field{"lm_rollout_steps", "rollout steps of the Levenberg-Marquardt residuals"}, o.lm_rollout_steps);
  v(Field{"lm_stop_window",
          "Levenberg-Marquardt stops when its loss fell by at most lm_stop_decrease over this many iterations (0: "
          "never)"},
    o.lm_stop_window);
  v(Field{"lm_stop_decrease", "relative decrease of that test"}, o.lm_stop_decrease);
  v(Field{"lm_horizon_decay",
          "the residual of step k is weighted by k^-d (< 0: 0.5 for euler, 1 for rk4, 2 otherwise)"},
    o.lm_horizon_decay);
  v(Field{"rtol", "adaptive solvers: relative tolerance in training"}, o.rtol);
  v(Field{"atol", "adaptive solvers: absolute tolerance in training"}, o.atol);
  v(Field{"step_control", "adaptive solvers' step control: auto | torchdiffeq | hairer"}, o.step_control);
  v(Field{"max_nfe_per_step", "adaptive solvers: end training (status budget_exceeded) above this NFE per step; "
                              "cuts later solves there (0: no budget)"},
    o.max_nfe_per_step);
  v(Field{"max_train_seconds", "end training (status budget_exceeded) after this many seconds (0: no budget)"},
    o.max_train_seconds);
  v(Field{"sr_rtol", "sr: tolerance of the simulation (rtol = atol)"}, o.sr_rtol);
  visit_fields(o.sindy, v);
  v(Field{"restarts", "starts screened (model seed + 0..K-1), the best by validation loss trained to the end (0: 8, "
                      "adaptive solvers 1)"},
    o.restarts);
  v(Field{"restart_iterations", "main Adam iterations of each start before the choice"}, o.restart_iterations);
  v(Field{"restart_continuation_iterations", "continuation iterations of each start before the choice (0: all)"},
    o.restart_continuation_iterations);
  v(Field{"validation_fraction", "data without /validation: fraction of each training trajectory held out"},
    o.validation_fraction);
  v(Field{"refit", "data without /validation: train the chosen start once more on every training pair: scratch | "
                   "warm (its refinement phases only) | none"},
    o.refit);
  v(Field{"poor_fit_ratio", "status poor_fit when validation MSE > ratio x persistence MSE"}, o.poor_fit_ratio);
  v(Field{"seed", "seed of the mini-batches (and of the model, unless model_seed)"}, o.seed);
  v(Field{"chunk_size", "columns per parallel chunk (results do not depend on threads)"}, o.chunk_size);
  v(Field{"on_divergence", "non-finite loss: stop (keep the last good model) | lower_lr (halve the learning rate)"},
    o.on_divergence);
  v(Field{"threads", "OpenMP threads (0: OMP_NUM_THREADS or all cores)", false}, o.threads);
  v(Field{"log_every", "iterations between progress lines (0: about 20 per phase)", false}, o.log_every);
}

enum class IdentifyPhase { kContinuation, kAdam, kRefine, kRefineRollout, kLevenbergMarquardt };
template <>
struct EnumNames<IdentifyPhase> {
  static constexpr std::pair<IdentifyPhase, const char*> items[] = {
      {IdentifyPhase::kContinuation, "continuation"}, {IdentifyPhase::kAdam, "adam"},
      {IdentifyPhase::kRefine, "refine"},             {IdentifyPhase::kRefineRollout, "refine_rollout"},
      {IdentifyPhase::kLevenbergMarquardt, "lm"}};
};

// How a phase ended: its iteration count reached, converged (its stopping test), no further decrease (Levenberg-
// Marquardt: no damping decreased the loss; L-BFGS: no step along its direction did), a non-finite loss, a stop
// on request, or the budget.
enum class PhaseStop { kIterations, kConverged, kNoDecrease, kNonFinite, kInterrupted, kBudget };
template <>
struct EnumNames<PhaseStop> {
  static constexpr std::pair<PhaseStop, const char*> items[] = {
      {PhaseStop::kIterations, "iterations"}, {PhaseStop::kConverged, "converged"},
      {PhaseStop::kNoDecrease, "no_decrease"}, {PhaseStop::kNonFinite, "non_finite"},
      {PhaseStop::kInterrupted, "interrupted"}, {PhaseStop::kBudget, "budget"}};
};

// One phase of a run: its iterations, its training time (seconds) and why it ended.
struct PhaseRecord {
  IdentifyPhase phase = IdentifyPhase::kAdam;
  int iterations = 0;
  double seconds = 0.0;
  PhaseStop stop = PhaseStop::kIterations;
};
template <class V>
void visit_state(PhaseRecord& p, V&& v) {
  v("phase", p.phase);
  v("iterations", p.iterations);
  v("seconds", p.seconds);
  v("stop", p.stop);
}

// What a run has done so far: the summary's training part, kept in checkpoints.
struct TrainingRecord {
  RunStatus status = RunStatus::kCompleted;
  int iterations = 0;                // completed Adam iterations of the main phase
  int meet_iterations = 0;           // completed continuation iterations (meet or substeps)
  int refine_iterations = 0;         // completed L-BFGS and Levenberg-Marquardt iterations
  int learning_rate_halvings = 0;    // on_divergence = lower_lr
  std::vector<double> loss_history;  // main Adam phase (the loss of options.rollout_steps-step rollouts)
  std::vector<double> meet_loss_history;    // the continuation (meet or substeps)
  std::vector<double> refine_loss_history;  // L-BFGS (refine, then refine_rollout)
  std::vector<double> lm_loss_history;      // Levenberg-Marquardt
  std::vector<long> nfe_forward_history, nfe_backward_history;  // per iteration of the main phase
  double train_seconds = 0.0;           // identify's summary: the starts' screening included
  std::vector<PhaseRecord> phases;      // the phases ended so far, in order (of the chosen start's run)
};
template <class V>
void visit_state(TrainingRecord& r, V&& v) {
  v("status", r.status);
  v("iterations", r.iterations);
  v("meet_iterations", r.meet_iterations);
  v("refine_iterations", r.refine_iterations);
  v("learning_rate_halvings", r.learning_rate_halvings);
  v("loss_history", r.loss_history);
  v("meet_loss_history", r.meet_loss_history);
  v("refine_loss_history", r.refine_loss_history);
  v("lm_loss_history", r.lm_loss_history);
  v("nfe_forward_history", r.nfe_forward_history);
  v("nfe_backward_history", r.nfe_backward_history);
  v("train_seconds", r.train_seconds);
  v.list("phases", r.phases);
}

struct IdentifySummary : TrainingRecord {
  FlowMap flow_map;
  std::optional<SindySummary> sindy;
  int start = 0;                        // the start chosen (model seed + start)
  std::vector<double> restart_losses;   // L_val of every start screened (empty: one start)
  double screening_seconds = 0.0;       // their training time (part of train_seconds)
  double train_loss = 0.0;              // one-step MSE of the saved model on the training pairs
  double validation_loss = 0.0;         // L_val of the saved model
  double persistence_loss = 0.0;        // mean ||z_{t+h} - z_t||^2 / dim on the validation pairs
  long validation_pairs = 0;
  bool validation_held_out = false;     // the dataset had no /validation: held out of the training trajectories
  EvaluateSummary validation;           // the selected model's forecasts on the validation split (as on the test split)
  long train_pairs = 0;                 // one-step pairs the saved model was trained on
  // The refit (IdentifyOptions::refit): done, kept (saved), the training-trajectory score (RMSE t0+h x t0+4h) of
  // the refit and of the model selected without the held-out part, the refit's training time. When kept, the
  // validation numbers above remain those of the selected model (the refit saw the held-out part).
  struct Refit {
    bool done = false, kept = false;
    double score = 0.0, selected_score = 0.0, seconds = 0.0;
  } refit;
  EvaluateSummary evaluation;           // on the test split
};

// The training state at the top of an iteration of a phase: everything identify() needs to continue bit for bit.
struct IdentifyCheckpoint {
  IdentifyPhase phase = IdentifyPhase::kAdam;
  int iteration = 0;                    // the next iteration of `phase`
  Vec x;                                // parameters [theta; scheme parameters of the phase]
  TrainingRecord record;                // the summary so far
  GuardedAdamState adam;                // continuation, adam
  std::uint64_t rng_draws = 0;          // mini-batch draws so far
  LbfgsState lbfgs;                     // refine, refine_rollout
  int lbfgs_accepted = 0;               // accepted iterations of this L-BFGS phase so far
  LevenbergMarquardtState lm;           // lm, and the substeps continuation
  int start = 0;                        // the start this state belongs to (model seed + start)
  std::vector<double> screened;         // L_val of the starts screened so far (all: the chosen start's run)
  double screening_seconds = 0.0;       // their training time
  Vec held_out_x;                       // in the refit: the chosen start's parameters trained on the held-out split
  TrainingRecord held_out_record;       // and its record (empty x: not in the refit)
};
template <class V>
void visit_state(IdentifyCheckpoint& c, V&& v) {
  v("phase", c.phase);
  v("iteration", c.iteration);
  v("x", c.x);
  v.group("record", c.record);
  v.group("adam", c.adam);
  v("rng_draws", c.rng_draws);
  v.group("lbfgs", c.lbfgs);
  v("lbfgs_accepted", c.lbfgs_accepted);
  v.group("lm", c.lm);
  v("start", c.start);
  v("screened", c.screened);
  v("screening_seconds", c.screening_seconds);
  v("held_out_x", c.held_out_x);
  v.group("held_out_record", c.held_out_record);
}

using IdentifyHooks = RunHooks<IdentifyCheckpoint>;

// Throws std::invalid_argument on invalid options or data (too few samples, ...). A run resumed from a checkpoint
// ends with the same numbers as one that was never stopped (same data, options and thread-independent chunks).
IdentifySummary identify(const Dataset& data, const IdentifyOptions& options,
                         const std::function<void(const std::string&)>& log = {}, const IdentifyHooks& hooks = {});

}  // namespace trk
