// Identification (method.md section 3): learn f_theta from pairs (z_t, z_{t+h}) of a dataset, the flow map
//   Psi(z_t) ~ z_{t+h} being one step of size h of euler, rk4 or a trainable TRK_q scheme (A, b trained jointly
//   with theta, sum b = 1 held by projection), or one adaptive solve over [0, h] (dopri8, gradients through the
//   accepted steps); or SINDy (sr) simulated by dopri8 at tight tolerance.
// Loss: K-step rollout MSE (K = 1: the paper's one-step MSE), Adam, full batch or mini-batches, seeded.
// Evaluation: from every test state with 4 samples after it, RMSE of Psi(z) against z(t0 + h) and of Psi^4(z)
// against z(t0 + 4h), over components and start states; a forecast that is non-finite or has RMSE > 10 is
// reported as diverged.
// Parallelism: the batch is cut into fixed chunks of columns, evaluated on OpenMP threads with a copy of the model
// each, and the chunk results are summed in chunk order, so the numbers do not depend on the thread count.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "trk/experiment/dataset.h"
#include "trk/field/models.h"
#include "trk/field/vector_field.h"
#include "trk/solve/integrate.h"
#include "trk/tableau/butcher_tableau.h"
#include "trk/train/adam.h"
#include "trk/train/sindy.h"

namespace trk {

enum class SolverKind { kFixed, kTrainable, kAdaptive, kSparseRegression };

// "euler", "rk4", "trkQ" (Q >= 1 stages), "dopri8", "sr". Throws std::invalid_argument listing the choices.
struct SolverSpec {
  std::string name;
  SolverKind kind = SolverKind::kTrainable;
  int stages = 10;
};
SolverSpec parse_solver(const std::string& name);

// A learned flow map over one sampling step h.
struct FlowMap {
  SolverSpec solver;
  double h = 0.0;
  std::string model;                  // "bilinear", "mlp", "polynomial" (sr)
  ModelOptions model_options;
  std::unique_ptr<VectorField> field;
  ButcherTableau tableau;             // the fixed or trained scheme, or the adaptive pair
  AdaptiveOptions adaptive;           // dopri8 and sr

  // Z (dim x n) -> Psi(Z); columns whose solve fails or goes non-finite are NaN. Adds evaluations to *nfe.
  Mat apply(const ConstMatRef& Z, long* nfe = nullptr) const;
};

struct IdentifyOptions {
  std::string solver = "trk10";
  std::string model = "bilinear";
  ModelOptions model_options;
  int iterations = 10000;             // Adam iterations of the main phase
  AdamOptions adam = {.learning_rate = 3e-3, .clip_norm = 1.0, .schedule = LrSchedule::kCosine, .warmup = 500};
  int batch_size = 0;                 // 0: full batch
  int rollout_steps = 1;
  std::string tableau_init = "euler_substeps";
  // Continuation (trkQ, dopri8): before the Adam iterations above, meet_iterations Adam iterations (same
  // settings) on the meet-in-the-middle loss mean ||Psi_{h/2}(z_t) - Psi_{-h/2}(z_{t+h})||^2 / dim, a problem of
  // step h/2 whose landscape is much milder than the one of step h.
  int meet_iterations = 10000;
  // Refinement after Adam: L-BFGS on the full batch, first refine_iterations on the rollout_steps-step loss, then
  // (fixed-step solvers) refine_rollout_iterations on the refine_rollout_steps-step loss (sum b = 1 kept by
  // projecting the gradient). dopri8's loss is smooth in theta only between changes of its accepted steps; the
  // line search accepts a step only when the loss decreases, and its L-BFGS stops when 500 iterations gain < 0.1 %.
  int refine_iterations = 20000;
  int refine_rollout_iterations = 0;
  int refine_rollout_steps = 4;
  int refine_memory = 20;
  // Then (fixed-step solvers) Levenberg-Marquardt on the lm_rollout_steps-step residuals (Jacobian by forward differences), when the
  // parameters number at most lm_max_parameters (an iteration costs P rollouts and a P x P solve; an MLP ends after
  // L-BFGS).
  int lm_iterations = 500;
  int lm_max_parameters = 1000;
  int lm_rollout_steps = 4;
  double lm_horizon_decay = 0.5;      // d: the residual of step k is weighted by k^-d (errors grow with k)
  double rtol = 1e-7, atol = 1e-9;    // dopri8 training
  double sr_rtol = 1e-10;             // sr simulation (rtol = atol)
  SindyOptions sindy;
  std::int64_t seed = 0;
  int threads = 0;                    // 0: OpenMP's default
  int chunk_size = 250;               // columns per parallel chunk (fixed: results independent of threads)
  int log_every = 0;                  // 0: about 20 progress lines
  // Non-finite loss or gradient in the Adam phases: the step is undone (last good parameters). "stop": after 10
  // in a row training stops with status "non_finite_loss" and keeps the last good model. "lower_lr": each time,
  // the learning rate is halved (Adam moments kept), up to 10 times, then as "stop".
  std::string on_divergence = "stop";
  std::string validation_error() const;
};

struct ForecastScore {
  double rmse = 0.0;
  bool diverged = false;
};

struct EvaluateSummary {
  ForecastScore at_h, at_4h;
  long num_states = 0;
  double inference_nfe_per_step = 0.0;  // evaluations of f per application of Psi (one step h)
};

struct IdentifySummary {
  FlowMap flow_map;
  // "completed", "non_finite_loss" (training stopped, last good model kept) or "interrupted" (stopped on request
  // after a checkpoint; no evaluation).
  std::string status = "completed";
  int iterations = 0;                // completed Adam iterations of the main phase
  double train_seconds = 0.0;
  std::vector<double> loss_history;  // main Adam phase (the loss of options.rollout_steps-step rollouts)
  std::vector<long> nfe_forward_history, nfe_backward_history;  // per iteration of the main phase
  int meet_iterations = 0;           // completed continuation iterations and their (meet-in-the-middle) loss
  std::vector<double> meet_loss_history;
  int refine_iterations = 0;         // completed L-BFGS and Levenberg-Marquardt iterations and their loss
  std::vector<double> refine_loss_history;
  int learning_rate_halvings = 0;    // on_divergence = "lower_lr": times the learning rate was halved
  std::optional<SindySummary> sindy;
  EvaluateSummary evaluation;
};

// The training state at an iteration boundary: everything identify() needs to continue bit for bit. Phases run
// in order "adam" (the meet-in-the-middle iterations, then the main ones, in one count), "refine", "refine_rollout"
// (L-BFGS), "lm" (Levenberg-Marquardt); `iteration` is the next iteration of `phase` to run.
struct IdentifyCheckpoint {
  std::string phase = "adam";
  int iteration = 0;
  Vec x;                                  // optimiser parameters [theta; scheme parameters of the phase]
  // adam
  Vec last_good, adam_m, adam_v;
  long adam_t = 0;
  int bad_in_a_row = 0;
  double learning_rate = 0.0;             // current (lowered after divergence with on_divergence = "lower_lr")
  std::uint64_t rng_draws = 0;            // mini-batch draws so far
  // refine, refine_rollout: loss and projected gradient at x, memory pairs; lm: residuals at x and damping
  double loss = 0.0;
  Vec gradient;
  std::vector<Vec> s_memory, y_memory;
  int phase_accepted = 0;                 // accepted iterations of this phase so far
  Vec residuals;
  double mu = 0.0;
  // What the summary has so far.
  std::string status = "completed";
  int iterations = 0, meet_iterations = 0, refine_iterations = 0, learning_rate_halvings = 0;
  std::vector<double> loss_history, meet_loss_history, refine_loss_history;
  std::vector<long> nfe_forward_history, nfe_backward_history;
  double train_seconds = 0.0;             // spent before this checkpoint
};

// Checkpointing and stopping, for long runs (the library writes no file: `save` does).
struct IdentifyHooks {
  int checkpoint_every = 0;                                // iterations (any phase) between saves; 0: none
  std::function<void(const IdentifyCheckpoint&)> save;    // also called when a stop is requested
  std::function<bool()> stop_requested;                   // polled every iteration; true: save, status "interrupted"
  const IdentifyCheckpoint* resume = nullptr;             // continue from this state (same data and options)
};

// Throws std::invalid_argument on invalid options or data (too few samples, ...). A run resumed from a checkpoint
// ends with the same numbers as one that was never stopped (same data, options and thread-independent chunks).
IdentifySummary identify(const Dataset& data, const IdentifyOptions& options,
                         const std::function<void(const std::string&)>& log = {}, const IdentifyHooks& hooks = {});

EvaluateSummary evaluate_forecasts(const FlowMap& psi, const Split& test);

}  // namespace trk
