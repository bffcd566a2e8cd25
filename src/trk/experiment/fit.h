// Known ODE (docs/method.md): for each step h, train a TRK_q scheme on the known field f to reproduce the
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
#include "trk/core/fields.h"
#include "trk/core/run_hooks.h"
#include "trk/core/status.h"
#include "trk/train/adam.h"
#include "trk/train/guarded_adam.h"

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
  // out of reach, though the few rollouts left give a finite loss): the step is undone (train/guarded_adam.h).
  OnDivergence on_divergence = OnDivergence::kStop;
  int judge_runs = 20;
  IntegratesOptions judge;
  std::vector<std::string> compare = {"rk4"};
  std::string validation_error() const;
};

template <class V>
void visit_fields(FitOptions& o, V&& v) {
  v(Field{"stages", "stages q of the trained scheme"}, o.stages);
  v(Field{"compare", "classical schemes judged beside it"}, o.compare);
  v(Field{"init", "classical | zeros | euler_substeps | a named tableau"}, o.init);
  v(Field{"order", "order conditions held exactly (1: sum b = 1, the paper; up to 4)"}, o.order);
  v(Field{"iterations", "Adam iterations per h and candidate"}, o.iterations);
  v(Field{"batch_size", "rollouts per iteration"}, o.batch_size);
  v(Field{"rollout_steps", "steps K of the rollout loss"}, o.rollout_steps);
  visit_fields(o.adam, v);
  v(Field{"stability_weight", "weight of the stability penalty"}, o.stability_weight);
  v(Field{"stability_states", "training states whose Jacobian spectrum the penalty uses"}, o.stability_states);
  v(Field{"stability_margin", "the penalty's eigenvalues are scaled by 1 + margin"}, o.stability_margin);
  v(Field{"candidate_margins", "stability margins the candidates cycle through (overrides stability_margin)"},
    o.candidate_margins);
  v(Field{"amplification_weight", "weight of the growth penalty |R(mu h)| <= |exp(mu h)| (unstable mu)"},
    o.amplification_weight);
  v(Field{"moment_weight", "weight of the moment loss of the rollouts"}, o.moment_weight);
  v(Field{"tube_states", "perturbed training states with reference rollouts (0: none)"}, o.tube_states);
  v(Field{"tube_noise", "their noise, in standard deviations of each component"}, o.tube_noise);
  v(Field{"continuation", "start every h from the scheme kept at the previous h"}, o.continuation);
  v(Field{"candidates", "trainings per h; the one that integrates best from training states is kept"},
    o.candidates);
  v(Field{"selection_runs", "training states the candidates are judged from"}, o.selection_runs);
  v(Field{"refine_trials", "perturbed copies of the kept scheme judged from the selection states"},
    o.refine_trials);
  v(Field{"refine_scale", "standard deviation of those perturbations"}, o.refine_scale);
  v(Field{"seed", "seed of the mini-batches"}, o.seed);
  v(Field{"on_divergence", "non-finite loss: stop (keep the last good scheme) | lower_lr (halve the learning rate)"},
    o.on_divergence);
  v(Field{"judge_runs", "test states the integrates verdict is judged from"}, o.judge_runs);
}

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
  RunStatus status = RunStatus::kCompleted;  // trained rows: or non_finite_loss (stopped, last good scheme kept)
  int learning_rate_halvings = 0;     // trained rows, on_divergence = lower_lr
};

struct FitSummary {
  Climatology reference;
  std::vector<FitRow> rows;           // ordered by h, trained scheme first
  RunStatus status = RunStatus::kCompleted;  // or interrupted (stopped on request after a checkpoint)
};

// A candidate's training: its scheme, loss per iteration and how it ended.
struct FitCandidate {
  Vec scheme;
  std::vector<double> history;
  RunStatus status = RunStatus::kCompleted;
  int halvings = 0;
};
template <class V>
void visit_state(FitCandidate& c, V&& v) {
  v("scheme", c.scheme);
  v("history", c.history);
  v("status", c.status);
  v("halvings", c.halvings);
}

// The state of fit_sweep at the top of a training iteration: everything it needs to continue bit for bit. The
// steps finished before are kept as their trained schemes (their verdicts are computed again on resume).
struct FitCheckpoint {
  int h_index = 0, candidate = 0, iteration = 0;  // next iteration of this candidate at the h_index-th smallest h
  Vec start;                                      // the scheme every candidate at this h starts from
  Vec params;                                     // the candidate's parameters
  GuardedAdamState adam;
  std::vector<double> history;                    // the candidate's loss history so far
  bool progressed = false;                        // the candidate has taken a step that led somewhere finite
  std::uint64_t rng_draws = 0;                    // mini-batch draws so far (all steps and candidates)
  bool has_kept = false;                          // the best earlier candidate at this h, and its verdict
  FitCandidate kept;
  int kept_bounded_runs = 0;
  double kept_deviation = 0.0;
  double seconds = 0.0;                           // training time at this h so far
  std::vector<FitCandidate> done;                 // per finished h: the kept candidate
  std::vector<double> done_seconds;
};
template <class V>
void visit_state(FitCheckpoint& c, V&& v) {
  v("h_index", c.h_index);
  v("candidate", c.candidate);
  v("iteration", c.iteration);
  v("start", c.start);
  v("params", c.params);
  v.group("adam", c.adam);
  v("history", c.history);
  v("progressed", c.progressed);
  v("rng_draws", c.rng_draws);
  v("has_kept", c.has_kept);
  v.group("kept", c.kept);
  v("kept_bounded_runs", c.kept_bounded_runs);
  v("kept_deviation", c.kept_deviation);
  v("seconds", c.seconds);
  v.list("done", c.done);
  v("done_seconds", c.done_seconds);
}

using FitHooks = RunHooks<FitCheckpoint>;

// `fine`: a dataset whose sampling step divides every h. Throws std::invalid_argument on bad options or data.
// A run resumed from a checkpoint ends with the same rows as one that was never stopped.
FitSummary fit_sweep(const VectorField& f, const Dataset& fine, const std::vector<double>& steps,
                     const FitOptions& options, const std::function<void(const std::string&)>& log = {},
                     const FitHooks& hooks = {});

}  // namespace trk
