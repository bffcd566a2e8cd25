// Known ODE (method.md, section 3): for each step h, train a TRK_q scheme on the known field f to reproduce the
// reference flow map at step h, then judge it, and each comparison scheme, with the integrates criterion.
// Training objective for a scheme (A, b) at step h:
//   L = (1 / (K n dim)) sum_{k=1..K} ||Psi_h^k(z_i) - z(t_i + k h)||^2              (K-step rollouts, mini-batch)
//     + w mean_lambda relu(|R((1 + margin) lambda h)| - 1)^2                             (stability penalty)
//     + w_a mean_mu relu(|R(mu h)| - |exp(mu h)|)^2                                       (growth penalty)
//     + w_m (1/K) sum_k ||m_k||^2 + ||C_k||_F^2               (moments of the batch, losses.h rollout_moment_loss)
// over start states z_i of the fine training trajectories (and optionally perturbed "tube" states), lambda the
// eigenvalues with negative real part of df/dz at training states (or a user list), mu those with Re mu >= 0;
// after every Adam step the order conditions up to `order` are restored by projection (order 1: sum b = 1).
// With continuation, the scheme kept at the previous (smaller) h initialises the next.
// The defaults are the plain recipe (fast); experiments/fit_l63_trk4.json sets the one of the committed results.
// Selection: at each h, `candidates` trainings (different mini-batch streams, stability margins cycling through
// `candidate_margins`) are judged with the integrates criterion from `selection_runs` training states, the best
// kept (candidate order in fit.cpp `better`), then `refine_trials` perturbed copies of it are judged the same way
// (a seeded random search). The test states, which give the verdict, take no part in training or selection.
#pragma once
#include <complex>
#include <functional>
#include <string>
#include <vector>

#include "trk/experiment/dataset.h"
#include "trk/experiment/integrates.h"
#include "trk/field/vector_field.h"
#include "trk/tableau/butcher_tableau.h"
#include "trk/train/adam.h"

namespace trk {

struct FitOptions {
  int stages = 4;
  std::string init = "classical";
  int order = 1;
  int iterations = 5000;
  int batch_size = 1024;
  int rollout_steps = 3;
  AdamOptions adam = {.learning_rate = 5e-3, .clip_norm = 1.0, .schedule = LrSchedule::kCosine};
  double stability_weight = 1e6;
  int stability_states = 200;
  std::vector<std::complex<double>> stability_eigenvalues;  // non-empty: used instead of the Jacobian spectrum
  double stability_margin = 0.0;   // the penalty's eigenvalues are scaled by 1 + margin (room for excursions)
  // Non-empty: candidate c trains with the margin candidate_margins[c mod size] instead (a little more stability
  // costs accuracy, and the outcome is not monotone in the margin: the selection finds the balance at each h).
  std::vector<double> candidate_margins;
  // Growth penalty: amplification_weight mean relu(|R(mu h)| - |exp(mu h)|)^2 over the eigenvalues mu with
  // Re mu >= 0 of df/dz at the same training states: the scheme should not amplify the unstable modes (the
  // rotation about the two foci) much more than the exact flow does (an inflated attractor, then escapes). A soft
  // penalty: at large |mu h| no 4-stage scheme meets it. 0: off.
  double amplification_weight = 0.0;
  // Moment loss (losses.h rollout_moment_loss, states normalised by the training split's mean and std) on the same
  // rollouts, times this weight: the batch's first and second moments must move as the reference's do. 0: off.
  double moment_weight = 0.0;
  // Off-attractor training states: `tube_states` training states, each component perturbed by Gaussian noise of
  // tube_noise x its standard deviation over the training split, with reference rollouts from them (DOP853,
  // rtol = atol = 1e-10); mini-batches draw from data and tube states alike. 0: data only.
  int tube_states = 0;
  double tube_noise = 0.1;
  bool continuation = true;
  int candidates = 3;              // trainings per h (see the selection above)
  int selection_runs = 100;        // training states the candidates are judged from (more: fewer lucky picks)
  // Then `refine_trials` perturbed copies of the kept scheme (each parameter + refine_scale N(0, 1), order
  // re-projected) are judged from the same states; one that is better replaces it.
  int refine_trials = 0;
  double refine_scale = 0.02;
  std::int64_t seed = 0;
  // Non-finite loss, gradient or parameters, or most rollouts of a mini-batch beyond judge.bound (a scheme thrown
  // out of reach, though the few rollouts left give a finite loss): the step is undone (last good scheme).
  // "stop": after 10 such results with no step between them that led to a finite loss, the candidate stops with
  // status "non_finite_loss" and keeps the last good scheme. "lower_lr": each time, the learning rate is halved
  // (Adam moments kept when finite), up to 10 times, then as "stop".
  std::string on_divergence = "stop";
  int judge_runs = 20;
  IntegratesOptions judge;
  std::vector<std::string> compare = {"rk4"};
  std::string validation_error() const;
};

struct FitRow {
  double h = 0.0;
  std::string scheme;                 // "trk4", "rk4", ...
  bool trained = false;
  ButcherTableau tableau;
  IntegratesSummary verdict;
  double one_step_rmse = 0.0;         // from test states, one step of h against the reference
  int order = 0;                      // order conditions satisfied (order_conditions.h, default tolerance)
  double real_axis_interval = 0.0;
  std::vector<double> loss_history;   // trained rows: loss per iteration
  double train_seconds = 0.0;
  std::string status = "completed";   // trained rows: or "non_finite_loss" (stopped, last good scheme kept)
  int learning_rate_halvings = 0;     // trained rows, on_divergence = "lower_lr"
};

struct FitSummary {
  Climatology reference;
  std::vector<FitRow> rows;           // ordered by h, trained scheme first
  std::string status = "completed";   // or "interrupted" (stopped on request after a checkpoint; rows incomplete)
};

// The state of fit_sweep at an iteration boundary: everything it needs to continue bit for bit. The steps
// finished before are kept as their trained schemes (their verdicts are computed again on resume).
struct FitCheckpoint {
  int h_index = 0, candidate = 0, iteration = 0;  // next iteration of this candidate at the h_index-th smallest h
  Vec scheme;                                     // the scheme every candidate at this h starts from
  Vec params, best;                               // the candidate's parameters and its last finite-loss ones
  Vec adam_m, adam_v;
  long adam_t = 0;
  std::vector<double> history;                    // the candidate's loss history so far
  std::uint64_t rng_draws = 0;                    // mini-batch draws so far (all steps and candidates)
  bool has_kept = false;                          // the best earlier candidate at this h
  Vec kept;
  std::vector<double> kept_history;
  int kept_bounded_runs = 0;
  double kept_deviation = 0.0;
  double seconds = 0.0;                           // training time at this h so far
  std::vector<Vec> done_schemes;                  // per finished h: trained scheme, loss history, seconds
  std::vector<std::vector<double>> done_histories;
  std::vector<double> done_seconds;
  // on_divergence: the candidate's learning rate, non-finite results since its last good step, whether its scheme
  // was just put back, and its halvings; the status and halvings of the kept candidate and of every finished h
  // ("completed" | "non_finite_loss").
  double learning_rate = 0.0;
  int bad_in_a_row = 0, learning_rate_halvings = 0;
  bool restored = false;
  std::string kept_status = "completed";
  int kept_halvings = 0;
  std::vector<std::string> done_status;
  std::vector<int> done_halvings;
};

// Checkpointing and stopping for long runs (the library writes no file: `save` does).
struct FitHooks {
  int checkpoint_every = 0;                          // training iterations between saves; 0: none
  std::function<void(const FitCheckpoint&)> save;    // also called when a stop is requested
  std::function<bool()> stop_requested;              // polled every iteration; true: save, status "interrupted"
  const FitCheckpoint* resume = nullptr;             // continue from this state (same data and options)
};

// `fine`: a dataset whose sampling step divides every h. Throws std::invalid_argument on bad options or data.
// A run resumed from a checkpoint ends with the same rows as one that was never stopped.
FitSummary fit_sweep(const VectorField& f, const Dataset& fine, const std::vector<double>& steps,
                     const FitOptions& options, const std::function<void(const std::string&)>& log = {},
                     const FitHooks& hooks = {});

}  // namespace trk
