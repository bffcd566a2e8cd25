#include "trk/experiment/fit.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <stdexcept>

#include "trk/core/number_text.h"
#include "trk/core/rng.h"
#include "trk/tableau/named_tableaux.h"
#include "trk/tableau/order_conditions.h"
#include "trk/tableau/stability.h"
#include "trk/tableau/trainable_tableau.h"
#include "trk/train/losses.h"
#include "trk/train/stability_penalty.h"
#include "trk/solve/integrate.h"
#include "trk/solve/rk_step.h"

namespace trk {

std::string FitOptions::validation_error() const {
  if (stages < 1 || stages > 64) return "stages must be between 1 and 64";
  if (auto e = validate_trainable_init(init, stages); !e.empty()) return e;
  if (order < 1 || order > 4) return "order must be between 1 and 4";
  // An explicit scheme of q stages has order q at most (q <= 4): the conditions could not be held.
  if (order > stages)
    return "order " + std::to_string(order) + " needs at least " + std::to_string(order) + " stages (an explicit " +
           "scheme of q stages has order <= q); give --stages " + std::to_string(order) + " or more, or --order " +
           std::to_string(stages);
  if (iterations < 0) return "iterations must be >= 0";
  if (batch_size < 1) return "batch size must be at least 1";
  if (rollout_steps < 1) return "rollout steps must be at least 1";
  if (auto e = adam.validation_error(); !e.empty()) return e;
  if (!(stability_weight >= 0)) return "stability weight must be >= 0";
  if (stability_states < 0) return "stability states must be >= 0";
  if (candidates < 1) return "candidates must be at least 1";
  if (judge_runs < 1) return "judge runs must be at least 1";
  if (selection_runs < 1) return "selection runs must be at least 1";
  if (!(stability_margin >= 0) || !std::isfinite(stability_margin)) return "stability margin must be >= 0";
  for (double margin : candidate_margins)
    if (!(margin >= 0) || !std::isfinite(margin)) return "candidate margins must be >= 0";
  if (!(amplification_weight >= 0) || !std::isfinite(amplification_weight))
    return "amplification weight must be >= 0";
  if (!(moment_weight >= 0) || !std::isfinite(moment_weight)) return "moment weight must be >= 0";
  if (refine_trials < 0) return "refine trials must be >= 0";
  if (!(refine_scale >= 0) || !std::isfinite(refine_scale)) return "refine scale must be >= 0";
  if (tube_states < 0) return "tube states must be >= 0";
  if (!(tube_noise >= 0) || !std::isfinite(tube_noise)) return "tube noise must be >= 0";
  if (auto e = judge.validation_error(); !e.empty()) return e;
  for (size_t i = 0; i < compare.size(); ++i) {
    if (!is_named_tableau(compare[i])) return "unknown comparison scheme '" + compare[i] + "'";
    if (std::find(compare.begin(), compare.begin() + i, compare[i]) != compare.begin() + i)
      return "comparison scheme '" + compare[i] + "' is given twice";
  }
  return "";
}

namespace {

// Steps of the fine data per step h; throws unless h is a whole multiple of the sampling step.
int stride_of(double h, double dt) {
  const double r = h / dt;
  const long m = std::lround(r);
  if (m < 1 || std::abs(r - m) > 1e-6 * r)
    throw std::invalid_argument("h = " + number_text(h) + " is not a whole multiple of the data's step " +
                                number_text(dt));
  return static_cast<int>(m);
}

// Start indices (trajectory, time) that have K steps of stride m after them.
struct Starts {
  std::vector<std::pair<int, long>> items;
};

Starts rollout_starts(const Split& s, int m, int K) {
  Starts st;
  for (int tr = 0; tr < s.num_trajectories(); ++tr)
    for (long i = 0; i + static_cast<long>(K) * m < s.num_times(); ++i) st.items.emplace_back(tr, i);
  return st;
}

// `num` states spread evenly over a split (dim x num); throws if the split has fewer states.
Mat spread_states(const Split& s, int num, const std::string& what) {
  long total = 0;
  for (const auto& t : s.states) total += t.cols();
  if (total < num) throw std::invalid_argument("the " + what + " split has fewer states than judge runs");
  Mat Z0(s.states.front().rows(), num);
  const long stride = total / num;
  long k = 0, j = 0;
  for (const auto& t : s.states)
    for (long i = 0; i < t.cols() && j < num; ++i, ++k)
      if (k % stride == 0) Z0.col(j++) = t.col(i);
  return Z0;
}

// Eigenvalues of df/dz at num_states training states, split by the sign of the real part.
struct Spectrum {
  std::vector<std::complex<double>> stable;    // Re < 0
  std::vector<std::complex<double>> unstable;  // Re >= 0
};

Spectrum jacobian_spectrum(const VectorField& f, const Split& s, int num_states) {
  Spectrum out;
  long total = 0;
  for (const auto& t : s.states) total += t.cols();
  if (num_states <= 0 || total == 0) return out;
  const long stride = std::max(1L, total / num_states);
  long k = 0;
  for (const auto& t : s.states)
    for (long i = 0; i < t.cols(); ++i, ++k)
      if (k % stride == 0) {
        const Eigen::VectorXcd ev = f.jacobian(t.col(i)).eigenvalues();
        for (auto e : ev) (e.real() < 0 ? out.stable : out.unstable).push_back(e);
      }
  return out;
}

double one_step_rmse(const VectorField& f, const ButcherTableau& t, double h, int m, const Split& test) {
  double sum = 0.0;
  long count = 0;
  CountedField cf(f);
  StageTape tape;
  for (const auto& traj : test.states) {
    const long n = (traj.cols() - 1) / m;
    if (n < 1) continue;
    Mat Z(traj.rows(), n), Y(traj.rows(), n), Zn(traj.rows(), n);
    for (long j = 0; j < n; ++j) {
      Z.col(j) = traj.col(j * m);
      Y.col(j) = traj.col(j * m + m);
    }
    rk_step(cf, t, h, Z, Zn, tape);
    sum += (Zn - Y).squaredNorm();
    count += Zn.size();
  }
  return count ? std::sqrt(sum / count) : std::nan("");
}

struct TrainingProblem {
  const VectorField& f;
  const Split& train;
  const Starts& starts;
  const Split& tube;  // off-attractor rollouts (FitOptions::tube_states), one trajectory per start state
  const std::vector<std::complex<double>>& spectrum;       // stability penalty
  const std::vector<std::complex<double>>& amplification;  // growth penalty
  const std::pair<Vec, Vec>& moments;                      // moment loss: center and scale
  double h;
  int m;  // data steps per step h
};

// Mean and standard deviation of each component over a split.
std::pair<Vec, Vec> split_moments(const Split& s) {
  Vec s1 = Vec::Zero(s.dim()), s2 = Vec::Zero(s.dim());
  long count = 0;
  for (const auto& t : s.states) {
    s1 += t.rowwise().sum();
    s2 += t.cwiseAbs2().rowwise().sum();
    count += t.cols();
  }
  const Vec mean = s1 / count;
  return {mean, (s2 / count - mean.cwiseAbs2()).cwiseMax(0.0).cwiseSqrt()};
}

// Start states for the tube: `num` training states with each component perturbed by N(0, (noise std_i)^2), std_i
// the component's standard deviation over the training split. Seeded apart from the mini-batch stream.
Mat tube_start_states(const Split& train, int num, double noise, std::int64_t seed) {
  if (num <= 0) return Mat();
  Mat Z = spread_states(train, num, "training");
  const Vec sd = split_moments(train).second;
  Rng rng(static_cast<std::uint64_t>(seed) ^ 0x74756265ULL);  // "tube"
  for (Eigen::Index j = 0; j < Z.cols(); ++j)
    for (Eigen::Index i = 0; i < Z.rows(); ++i) Z(i, j) += noise * sd(i) * rng.normal();
  return Z;
}

// Reference trajectories from the columns of Z0, K m + 1 samples every dt (DOP853, rtol = atol = 1e-10).
Split tube_split(const VectorField& f, const Mat& Z0, double dt, int m, int K) {
  Split s;
  if (Z0.cols() == 0) return s;
  const long n = static_cast<long>(K) * m + 1;
  s.t = Vec::LinSpaced(n, 0.0, dt * (n - 1));
  s.states.assign(Z0.cols(), Mat(Z0.rows(), n));
  AdaptiveOptions a;
  a.control.rtol = a.control.atol = 1e-10;
  a.max_steps = 1000000;
  const Solution sol = sample_adaptive(f, named_tableau("dop853"), Z0, 0.0, dt, n, a, [&](long k, const Mat& Z) {
    for (Eigen::Index j = 0; j < Z.cols(); ++j) s.states[j].col(k) = Z.col(j);
  });
  if (sol.status != SolveStatus::kSuccess)
    throw std::runtime_error("tube states: reference solve failed (" + to_string(sol.status) + ")");
  return s;
}

// Asked at the top of every training iteration with the candidate's state; true: stop here.
using AtBoundary = std::function<bool(int iteration, const Vec& params, const GuardedAdam& adam,
                                      const std::vector<double>& history, bool progressed)>;

// Adam on the objective of fit.h from `scheme` (updated in place), guarded by options.on_divergence. Continues from
// `from` when given. When `at_boundary` says stop, *stopped is set and the result so far returned.
FitCandidate train_scheme(const TrainingProblem& p, const FitOptions& o, Rng& rng, std::uint64_t& rng_draws,
                          double margin, TrainableTableau& scheme, const std::function<void(const std::string&)>& log,
                          const FitCheckpoint* from, const AtBoundary& at_boundary, bool* stopped) {
  const VectorField& f = p.f;
  FitCandidate out;
  std::vector<double>& history = out.history;
  GuardedAdam adam(scheme.params(), o.adam, o.iterations, o.on_divergence);
  StabilityPenaltyOptions sp{.weight = o.stability_weight, .step = p.h, .eigenvalues = p.spectrum};
  for (auto& lambda : sp.eigenvalues) lambda *= 1.0 + margin;
  const StabilityPenaltyOptions gp{
      .weight = o.amplification_weight, .step = p.h, .eigenvalues = p.amplification, .exact_bound = true};
  int first = 0;
  if (from) {
    const Eigen::Index np = scheme.params().size();
    if (from->params.size() != np || from->adam.last_good.size() != np)
      throw std::invalid_argument("checkpoint: the scheme has " + std::to_string(from->params.size()) +
                                  " parameters, these options have " + std::to_string(np));
    scheme.set_params(from->params);
    adam.restore(from->adam);
    out.halvings = adam.halvings();
    history = from->history;
    first = from->iteration;
  }
  bool progressed = from && from->progressed;
  // Back to the last good scheme, then the policy. True: stop training.
  auto diverged = [&](int it, const char* what) {
    Vec x = scheme.params();
    std::string happened;
    const bool stop = adam.diverged(x, happened);
    scheme.set_params(x);
    out.halvings = adam.halvings();
    if (stop) out.status = RunStatus::kNonFiniteLoss;
    if (log)
      log("h=" + std::to_string(p.h) + ": non-finite " + what + " at iteration " + std::to_string(it + 1) +
          ": last good scheme restored" + (happened == "restored" ? "" : ", " + happened));
    return stop;
  };
  const int n = static_cast<int>(std::min<long>(o.batch_size, p.starts.items.size()));
  const std::uint64_t pool = p.starts.items.size() + p.tube.states.size();
  Mat Zs(f.dim(), n);
  std::vector<Mat> targets(o.rollout_steps, Mat(f.dim(), n));
  for (int it = first; it < o.iterations; ++it) {
    if (at_boundary && at_boundary(it, scheme.params(), adam, history, progressed)) {
      *stopped = true;
      return out;
    }
    // Mini-batch of rollouts, from the data or (beyond its starts) from the tube.
    for (int j = 0; j < n; ++j, ++rng_draws) {
      const std::uint64_t r = rng.next_u64() % pool;
      const bool data = r < p.starts.items.size();
      const auto [tr, i] = data ? p.starts.items[r] : std::pair<int, long>(static_cast<int>(r - p.starts.items.size()), 0);
      const Mat& traj = data ? p.train.states[tr] : p.tube.states[tr];
      Zs.col(j) = traj.col(i);
      for (int k = 1; k <= o.rollout_steps; ++k) targets[k - 1].col(j) = traj.col(i + static_cast<long>(k) * p.m);
    }
    const Mat A = scheme.A();
    const Vec b = scheme.b();
    Mat A_bar, A_pen;
    Vec b_bar, b_pen;
    // Curriculum: rollouts grow from one step to K over the first half of the iterations.
    const int K = std::min<int>(o.rollout_steps, 1 + (2L * it * o.rollout_steps) / std::max(1, o.iterations));
    const std::vector<Mat> tK(targets.begin(), targets.begin() + K);
    const RolloutLoss l =
        rollout_mse_bounded(f, A, b, p.h, Zs, tK, o.judge.bound, {.A_bar = &A_bar, .b_bar = &b_bar});
    double loss = l.loss;
    if (!std::isfinite(loss) || 2 * l.num_dropped > n) {  // most rollouts left the bound (all: no gradient)
      history.push_back(loss);
      if (diverged(it, "loss")) break;
      continue;
    }
    if (o.stability_weight > 0 && !p.spectrum.empty()) {
      loss += stability_penalty(A, b, sp, &A_pen, &b_pen);
      A_bar += A_pen;
      b_bar += b_pen;
    }
    if (o.moment_weight > 0 && l.num_dropped == 0) {
      Mat A_mom;
      Vec b_mom;
      const RolloutLoss ml = rollout_moment_loss(f, A, b, p.h, Zs, tK, p.moments.first, p.moments.second,
                                                 {.A_bar = &A_mom, .b_bar = &b_mom});
      loss += o.moment_weight * ml.loss;
      A_bar += o.moment_weight * A_mom;
      b_bar += o.moment_weight * b_mom;
    }
    if (o.amplification_weight > 0 && !p.amplification.empty()) {
      loss += stability_penalty(A, b, gp, &A_pen, &b_pen);
      A_bar += A_pen;
      b_bar += b_pen;
    }
    history.push_back(loss);
    if (!std::isfinite(loss) || !A_bar.allFinite() || !b_bar.allFinite()) {
      if (diverged(it, "loss")) break;
      continue;
    }
    Vec x = scheme.params();
    adam.step(x, scheme.pack_gradient(A_bar, b_bar));
    scheme.set_params(x);
    scheme.project_order(o.order);
    if (!scheme.params().allFinite()) {
      if (diverged(it, "parameters")) break;
      continue;
    }
    progressed = true;
    if (log && (it + 1) % std::max(1, o.iterations / 10) == 0)
      log("h=" + std::to_string(p.h) + " iter " + std::to_string(it + 1) + "/" + std::to_string(o.iterations) +
          " loss " + std::to_string(loss));
  }
  // Fewer than 10 iterations, none of them finite: no progress at all, which is no completed training.
  if (o.iterations > 0 && !progressed && out.status == RunStatus::kCompleted) {
    out.status = RunStatus::kNonFiniteLoss;
    if (log) log("h=" + std::to_string(p.h) + ": no iteration had a finite loss and step: the initial scheme is kept");
  }
  return out;
}

// Candidate order on the selection states: a climatology (of the bounded runs) within the tolerance first, as a
// scheme outside it fails however many runs stay bounded; then more bounded runs (all: it integrates); then the
// smaller deviation (margin).
bool better(const IntegratesSummary& a, const IntegratesSummary& b, double tolerance) {
  const bool a_close = a.worst_deviation <= tolerance, b_close = b.worst_deviation <= tolerance;
  if (a_close != b_close) return a_close;
  if (a.bounded_runs != b.bounded_runs) return a.bounded_runs > b.bounded_runs;
  return a.worst_deviation < b.worst_deviation;
}

// What every step of the sweep shares: the judge's and the selection's states and references, the spectra, the
// mini-batch stream, checkpoints.
struct Sweep {
  const VectorField& f;
  const Dataset& fine;
  const FitOptions& o;
  const std::function<void(const std::string&)>& log;
  const FitHooks& hooks;
  FitSummary summary;
  Mat Z0;                      // judge states (test split)
  Mat Z_val;                   // selection states (training split)
  Climatology val_reference;
  Spectrum jacobian;
  Mat tube_starts;
  std::pair<Vec, Vec> moments;
  std::string trained_name;
  Rng rng;
  std::uint64_t rng_draws = 0;
  Boundaries boundaries;
  std::vector<FitCandidate> done;  // the kept candidate of every finished h
  std::vector<double> done_seconds;

  const std::vector<std::complex<double>>& spectrum() const {
    return o.stability_eigenvalues.empty() ? jacobian.stable : o.stability_eigenvalues;
  }
  IntegratesSummary select_verdict(const TrainableTableau& t, double h) const {
    return judge_integrates(f, t.tableau(trained_name), h, Z_val, val_reference, o.judge);
  }
  // The rows of one h: the trained scheme, then every comparison scheme, judged from the test states.
  void judge_rows(double h, int m, const TrainableTableau& t, const FitCandidate& kept, double seconds);
};

void Sweep::judge_rows(double h, int m, const TrainableTableau& t, const FitCandidate& kept, double seconds) {
  FitRow trained;
  trained.h = h;
  trained.scheme = trained_name;
  trained.trained = true;
  trained.tableau = t.tableau(trained_name);
  trained.loss_history = kept.history;
  trained.train_seconds = seconds;
  trained.status = kept.status;
  trained.learning_rate_halvings = kept.halvings;
  std::vector<FitRow> rows = {std::move(trained)};
  for (const auto& c : o.compare) {
    FitRow r;
    r.h = h;
    r.scheme = c;
    r.tableau = named_tableau(c);
    rows.push_back(r);
  }
  for (auto& r : rows) {
    r.verdict = judge_integrates(f, r.tableau, h, Z0, summary.reference, o.judge);
    r.one_step_rmse = one_step_rmse(f, r.tableau, h, m, fine.test);
    r.order = order(r.tableau);
    r.real_axis_interval = real_axis_interval(r.tableau);
    if (log)
      log("h=" + number_text(h) + " " + r.scheme + ": " + (r.verdict.integrates ? "integrates" : "fails") +
          " (bounded " + std::to_string(r.verdict.bounded_runs) + "/" + std::to_string(r.verdict.runs) +
          ", worst deviation " + std::to_string(r.verdict.worst_deviation) + ", one-step rmse " +
          std::to_string(r.one_step_rmse) + ")");
    summary.rows.push_back(std::move(r));
  }
}

// The kept candidate at one h (index hi of the sorted steps) and where the training of candidates stands.
struct StepState {
  std::optional<TrainableTableau> kept;
  FitCandidate kept_result;
  IntegratesSummary kept_verdict;
};

// Seeded random search on the selection states around the kept scheme: a perturbed scheme replaces it when it is
// better by the candidate order. Seeded per h apart from the mini-batch stream; the test states play no part.
void refine_search(Sweep& w, size_t hi, double h, StepState& st) {
  const FitOptions& o = w.o;
  if (o.candidates == 1) st.kept_verdict = w.select_verdict(*st.kept, h);
  Rng search(static_cast<std::uint64_t>(o.seed) ^ (0x736561726368ULL + hi));  // "search"
  for (int t = 0; t < o.refine_trials; ++t) {
    TrainableTableau trial = *st.kept;
    Vec x = trial.params();
    for (Eigen::Index i = 0; i < x.size(); ++i) x(i) += o.refine_scale * search.normal();
    trial.set_params(x);
    trial.project_order(o.order);
    const IntegratesSummary v = w.select_verdict(trial, h);
    if (!better(v, st.kept_verdict, o.judge.tolerance)) continue;
    if (w.log)
      w.log("h=" + number_text(h) + " search " + std::to_string(t + 1) + ": bounded " +
            std::to_string(v.bounded_runs) + "/" + std::to_string(v.runs) + " on training states, deviation " +
            std::to_string(v.worst_deviation));
    st.kept = trial;
    st.kept_verdict = v;
  }
}

// Trains the candidates at step hs[hi] from `scheme` and keeps the best; then the search. False: stopped.
bool fit_step(Sweep& w, size_t hi, double h, TrainableTableau& scheme, const FitCheckpoint* resume) {
  const FitOptions& o = w.o;
  const int m = stride_of(h, w.fine.h);
  const Starts starts = rollout_starts(w.fine.train, m, o.rollout_steps);
  if (starts.items.empty())
    throw std::invalid_argument("the training split is too short for the rollouts at h = " + number_text(h));
  const auto t_start = std::chrono::steady_clock::now();
  const double seconds_before = resume ? resume->seconds : 0.0;
  auto seconds = [&] {
    return seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  };
  const Split tube = tube_split(w.f, w.tube_starts, w.fine.h, m, o.rollout_steps);
  const TrainingProblem problem{w.f, w.fine.train, starts, tube, w.spectrum(), w.jacobian.unstable, w.moments, h, m};
  StepState st;
  if (resume && resume->has_kept) {
    st.kept = scheme;
    st.kept->set_params(resume->kept.scheme);
    st.kept_result = resume->kept;
    st.kept_verdict.runs = o.selection_runs;
    st.kept_verdict.bounded_runs = resume->kept_bounded_runs;
    st.kept_verdict.worst_deviation = resume->kept_deviation;
    st.kept_verdict.integrates =
        st.kept_verdict.bounded_runs == st.kept_verdict.runs && st.kept_verdict.worst_deviation <= o.judge.tolerance;
  }
  for (int c = resume ? resume->candidate : 0; c < o.candidates; ++c) {
    TrainableTableau candidate = scheme;
    auto at_boundary = [&](int iteration, const Vec& params, const GuardedAdam& adam,
                           const std::vector<double>& history, bool progressed) {
      const bool stop = w.boundaries.stop_here(w.hooks, [&] {
        FitCheckpoint s{.h_index = static_cast<int>(hi), .candidate = c, .iteration = iteration, .start = scheme.params(),
                        .params = params, .adam = adam.state(), .history = history, .progressed = progressed,
                        .rng_draws = w.rng_draws};
        s.has_kept = st.kept.has_value();
        if (st.kept) {
          s.kept = st.kept_result;
          s.kept.scheme = st.kept->params();
          s.kept_bounded_runs = st.kept_verdict.bounded_runs;
          s.kept_deviation = st.kept_verdict.worst_deviation;
        }
        s.seconds = seconds();
        s.done = w.done;
        s.done_seconds = w.done_seconds;
        return s;
      });
      if (stop && w.log) w.log("stopped on request; the state is saved");
      return stop;
    };
    bool stopped = false;
    const FitCheckpoint* from = resume && c == resume->candidate ? resume : nullptr;
    const double margin =
        o.candidate_margins.empty() ? o.stability_margin : o.candidate_margins[c % o.candidate_margins.size()];
    FitCandidate result = train_scheme(problem, o, w.rng, w.rng_draws, margin, candidate, w.log, from, at_boundary,
                                       &stopped);
    if (stopped) return false;
    if (o.candidates > 1) {
      const IntegratesSummary v = w.select_verdict(candidate, h);
      if (w.log)
        w.log("h=" + number_text(h) + " candidate " + std::to_string(c + 1) + ": bounded " +
              std::to_string(v.bounded_runs) + "/" + std::to_string(v.runs) + " on training states, deviation " +
              std::to_string(v.worst_deviation) + " (stability margin " + std::to_string(margin) + ")");
      if (st.kept && !better(v, st.kept_verdict, o.judge.tolerance)) continue;
      st.kept_verdict = v;
    }
    st.kept = candidate;
    st.kept_result = std::move(result);
  }
  if (o.refine_trials > 0) refine_search(w, hi, h, st);
  scheme = *st.kept;
  st.kept_result.scheme = scheme.params();
  w.done.push_back(st.kept_result);
  w.done_seconds.push_back(seconds());
  w.judge_rows(h, m, scheme, st.kept_result, w.done_seconds.back());
  return true;
}

}  // namespace

FitSummary fit_sweep(const VectorField& f, const Dataset& fine, const std::vector<double>& steps,
                     const FitOptions& o, const std::function<void(const std::string&)>& log, const FitHooks& hooks) {
  if (auto e = o.validation_error(); !e.empty()) throw std::invalid_argument(e);
  if (steps.empty()) throw std::invalid_argument("no step h given");
  if (fine.dim() != f.dim())
    throw std::invalid_argument("data dimension " + std::to_string(fine.dim()) + " differs from the system's " +
                                std::to_string(f.dim()));
  std::vector<double> hs = steps;
  std::sort(hs.begin(), hs.end());
  for (size_t i = 0; i < hs.size(); ++i) {
    if (!(hs[i] > 0) || !std::isfinite(hs[i])) throw std::invalid_argument("every h must be positive");
    if (i > 0 && hs[i] == hs[i - 1]) throw std::invalid_argument("h = " + number_text(hs[i]) + " is given twice");
    stride_of(hs[i], fine.h);
  }
  Sweep w{.f = f, .fine = fine, .o = o, .log = log, .hooks = hooks, .rng = Rng(static_cast<std::uint64_t>(o.seed))};
  // Judge from judge_runs states spread over the test split; select candidates from selection_runs training states.
  w.Z0 = spread_states(fine.test, o.judge_runs, "test");
  if (log) log("reference climatology from " + std::to_string(o.judge_runs) + " test states");
  w.summary.reference = reference_climatology(f, w.Z0, o.judge);
  if (o.candidates > 1 || o.refine_trials > 0) {
    w.Z_val = spread_states(fine.train, o.selection_runs, "training");
    w.val_reference = reference_climatology(f, w.Z_val, o.judge);
  }
  w.jacobian = jacobian_spectrum(f, fine.train, o.stability_states);
  w.tube_starts = tube_start_states(fine.train, o.tube_states, o.tube_noise, o.seed);
  w.moments = split_moments(fine.train);
  w.trained_name = "trk" + std::to_string(o.stages);
  TrainableTableau scheme(o.stages, o.init);
  scheme.project_order(o.order);

  // Resuming: the steps finished before the checkpoint are judged again from their schemes.
  const FitCheckpoint* resume = hooks.resume;
  size_t first_h = 0;
  if (resume) {
    const Eigen::Index np = scheme.params().size();
    const size_t num_done = resume->done.size();
    bool fits = resume->h_index >= 0 && static_cast<size_t>(resume->h_index) < hs.size() &&
                num_done == static_cast<size_t>(resume->h_index) && resume->done_seconds.size() == num_done &&
                resume->start.size() == np && resume->candidate >= 0 && resume->candidate < o.candidates;
    for (const FitCandidate& d : resume->done) fits = fits && d.scheme.size() == np;
    if (!fits) throw std::invalid_argument("checkpoint: does not match these steps and options");
    for (size_t k = 0; k < num_done; ++k) {
      TrainableTableau t = scheme;
      t.set_params(resume->done[k].scheme);
      w.judge_rows(hs[k], stride_of(hs[k], fine.h), t, resume->done[k], resume->done_seconds[k]);
    }
    w.done = resume->done;
    w.done_seconds = resume->done_seconds;
    scheme.set_params(resume->start);
    for (std::uint64_t k = 0; k < resume->rng_draws; ++k) w.rng.next_u64();
    w.rng_draws = resume->rng_draws;
    first_h = static_cast<size_t>(resume->h_index);
  }
  for (size_t hi = first_h; hi < hs.size(); ++hi) {
    if (!o.continuation) {
      scheme = TrainableTableau(o.stages, o.init);
      scheme.project_order(o.order);
    }
    if (!fit_step(w, hi, hs[hi], scheme, resume && hi == first_h ? resume : nullptr)) {
      w.summary.status = RunStatus::kInterrupted;
      return w.summary;
    }
  }
  return w.summary;
}

}  // namespace trk
