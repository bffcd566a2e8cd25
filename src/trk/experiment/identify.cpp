#include "trk/experiment/identify.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "trk/core/rng.h"
#include "trk/field/polynomial.h"
#include "trk/solve/rk_step.h"
#include "trk/tableau/named_tableaux.h"
#include "trk/tableau/trainable_tableau.h"
#include "trk/train/adaptive_loss.h"
#include "trk/train/losses.h"
#include "trk/train/meet_loss.h"

namespace trk {

SolverSpec parse_solver(const std::string& name) {
  SolverSpec s;
  s.name = name;
  if (name == "euler" || name == "rk4") {
    s.kind = SolverKind::kFixed;
    s.stages = named_tableau(name).num_stages();
  } else if (name == "dopri8") {
    s.kind = SolverKind::kAdaptive;
    s.stages = named_tableau(name).num_stages();
  } else if (name == "sr") {
    s.kind = SolverKind::kSparseRegression;
    s.stages = 0;
  } else if (name.size() > 3 && name.rfind("trk", 0) == 0 &&
             name.find_first_not_of("0123456789", 3) == std::string::npos && name.size() < 6) {
    s.kind = SolverKind::kTrainable;
    s.stages = std::stoi(name.substr(3));
    if (s.stages < 1 || s.stages > 64) throw std::invalid_argument("solver " + name + ": stages must be 1 to 64");
  } else {
    throw std::invalid_argument("unknown solver '" + name + "' (euler, rk4, trkQ such as trk10, dopri8, sr)");
  }
  return s;
}

std::string IdentifyOptions::validation_error() const {
  try {
    parse_solver(solver);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  const SolverSpec s = parse_solver(solver);
  if (s.kind != SolverKind::kSparseRegression) {
    if (model != "bilinear" && model != "mlp") return "unknown model '" + model + "' (bilinear, mlp)";
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
  if (lm_rollout_steps < 1) return "lm rollout steps must be at least 1";
  if (!(lm_horizon_decay >= 0)) return "lm horizon decay must be >= 0";
  if (lm_max_parameters < 0) return "lm max parameters must be >= 0";
  if (s.kind == SolverKind::kAdaptive && rollout_steps != 1) return "dopri8 trains on one-step pairs only";
  if (s.kind == SolverKind::kTrainable)
    if (auto e = validate_trainable_init(tableau_init, s.stages); !e.empty()) return e;
  if (!(rtol > 0) || !(atol > 0) || !(sr_rtol > 0)) return "tolerances must be positive";
  if (auto e = sindy.validation_error(); !e.empty()) return e;
  if (threads < 0) return "threads must be >= 0";
  if (chunk_size < 1) return "chunk size must be at least 1";
  if (log_every < 0) return "log interval must be >= 0";
  if (on_divergence != "stop" && on_divergence != "lower_lr")
    return "unknown divergence policy '" + on_divergence + "' (stop, lower_lr)";
  return "";
}

Mat FlowMap::apply(const ConstMatRef& Z, long* nfe) const {
  Mat out(Z.rows(), Z.cols());
  if (solver.kind == SolverKind::kFixed || solver.kind == SolverKind::kTrainable) {
    CountedField cf(*field);
    StageTape tape;
    rk_step(cf, tableau, h, Z, out, tape);
    if (nfe) *nfe += cf.num_evaluations() * Z.cols();
    for (Eigen::Index j = 0; j < out.cols(); ++j)
      if (!out.col(j).allFinite()) out.col(j).setConstant(std::nan(""));
    return out;
  }
  // Adaptive: one solve per state, so that one diverging forecast does not stop the others.
  for (Eigen::Index j = 0; j < Z.cols(); ++j) {
    const Solution s = integrate_adaptive(*field, tableau, Z.col(j), 0.0, h, adaptive);
    if (nfe) *nfe += s.stats.num_function_evaluations;
    if (s.status == SolveStatus::kSuccess && s.z.allFinite())
      out.col(j) = s.z;
    else
      out.col(j).setConstant(std::nan(""));
  }
  return out;
}

namespace {

ForecastScore score(const Mat& forecast, const Mat& truth) {
  ForecastScore s;
  s.rmse = std::sqrt((forecast - truth).squaredNorm() / static_cast<double>(forecast.size()));
  s.diverged = !std::isfinite(s.rmse) || s.rmse > 10.0;
  return s;
}

// One-step pairs and K-step targets from every trajectory of a split.
struct Pairs {
  Mat Z0;
  std::vector<Mat> targets;  // targets[k-1] = z(t + k h)
};

Pairs make_pairs(const Split& s, int K) {
  long n = 0;
  for (const auto& tr : s.states) n += std::max<long>(0, tr.cols() - K);
  Pairs p;
  p.Z0.resize(s.dim(), n);
  p.targets.assign(K, Mat(s.dim(), n));
  long c = 0;
  for (const auto& tr : s.states)
    for (long i = 0; i + K < tr.cols(); ++i, ++c) {
      p.Z0.col(c) = tr.col(i);
      for (int k = 1; k <= K; ++k) p.targets[k - 1].col(c) = tr.col(i + k);
    }
  return p;
}

// Gradient of the loss in the optimiser's layout [theta; tableau parameters (trk only)].
struct LossEval {
  double loss = 0.0;
  Vec grad;
  long nfe_forward = 0, nfe_backward = 0;
};

}  // namespace

EvaluateSummary evaluate_forecasts(const FlowMap& psi, const Split& test) {
  const Pairs p = make_pairs(test, 4);
  EvaluateSummary e;
  e.num_states = p.Z0.cols();
  if (e.num_states == 0) throw std::invalid_argument("the test split has no state with 4 samples after it");
  long nfe = 0;
  Mat Z = psi.apply(p.Z0, &nfe);
  e.at_h = score(Z, p.targets[0]);
  for (int k = 1; k < 4; ++k) Z = psi.apply(Z, &nfe);
  e.at_4h = score(Z, p.targets[3]);
  e.inference_nfe_per_step = static_cast<double>(nfe) / (4.0 * e.num_states);
  return e;
}

IdentifySummary identify(const Dataset& data, const IdentifyOptions& o,
                         const std::function<void(const std::string&)>& log, const IdentifyHooks& hooks) {
  if (auto e = o.validation_error(); !e.empty()) throw std::invalid_argument(e);
  if (!(data.h > 0)) throw std::invalid_argument("the dataset's h must be positive");
  const int dim = data.dim();
  IdentifySummary out;
  FlowMap& psi = out.flow_map;
  psi.solver = parse_solver(o.solver);
  psi.h = data.h;
  psi.adaptive.control.rtol = o.rtol;
  psi.adaptive.control.atol = o.atol;
  psi.adaptive.max_steps = 100000;
  const auto t_start = std::chrono::steady_clock::now();

  if (psi.solver.kind == SolverKind::kSparseRegression) {
    out.sindy = sindy(data.train.states, data.h, o.sindy);
    psi.model = "polynomial";
    psi.field = std::make_unique<PolynomialField>(out.sindy->field());
    psi.tableau = named_tableau("dopri8");
    psi.adaptive.control.rtol = psi.adaptive.control.atol = o.sr_rtol;
    out.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    out.evaluation = evaluate_forecasts(psi, data.test);
    return out;
  }

  psi.model = o.model;
  psi.model_options = o.model_options;
  psi.field = make_model(o.model, dim, o.model_options);
  const bool trainable = psi.solver.kind == SolverKind::kTrainable;
  const bool adaptive = psi.solver.kind == SolverKind::kAdaptive;
  TrainableTableau scheme(trainable ? psi.solver.stages : 1, trainable ? o.tableau_init : "classical");
  if (trainable) scheme.project_consistency();
  psi.tableau = trainable ? scheme.tableau(o.solver) : named_tableau(o.solver);

  const Pairs all = make_pairs(data.train, o.rollout_steps);
  const long n_all = all.Z0.cols();
  if (n_all < 1) throw std::invalid_argument("the training split has no pair for " + std::to_string(o.rollout_steps) +
                                             "-step rollouts");
  const int n_theta = psi.field->num_params();
  Vec x(n_theta + (trainable ? scheme.params().size() : 0));
  x.head(n_theta) = psi.field->params();
  if (trainable) x.tail(scheme.params().size()) = scheme.params();
  Adam adam(x.size(), o.adam, o.iterations);
  Rng rng(static_cast<std::uint64_t>(o.seed) ^ 0x5eedULL);

  const int threads = o.threads > 0 ? o.threads : omp_get_max_threads();
  std::vector<std::unique_ptr<VectorField>> copies;
  for (int t = 0; t < threads; ++t) copies.push_back(psi.field->clone());

  // Meet-in-the-middle continuation. Trainable solvers: a half-step scheme of q/2 stages, trained jointly with
  // theta from q/2 Euler sub-steps; two of its steps of h/2 make the initial TRK_q of the main phase. Adaptive:
  // adaptive solves over h/2 forward and backward (from the initial network a solve over the full h can blow up).
  const int meet_iterations = trainable || adaptive ? o.meet_iterations : 0;
  TrainableTableau half(std::max(1, psi.solver.stages / 2), "euler_substeps");
  half.project_consistency();
  const Eigen::Index meet_size = n_theta + (trainable ? half.params().size() : 0);

  // Loss and gradient at parameters x on the columns `cols` of the training pairs (all when empty).
  auto evaluate_on = [&](const Pairs& base, const Vec& params, const std::vector<long>& cols, bool meet = false) {
    LossEval r;
    const Pairs* p = &base;
    Pairs batch;
    if (!cols.empty()) {
      batch.Z0 = base.Z0(Eigen::all, cols);
      for (const Mat& t : base.targets) batch.targets.push_back(t(Eigen::all, cols));
      p = &batch;
    }
    const long n = p->Z0.cols();
    Mat A = psi.tableau.A;
    Vec b = psi.tableau.b;
    TrainableTableau& tab = meet ? half : scheme;
    if (trainable) {
      tab.set_params(params.tail(tab.params().size()));
      A = tab.A();
      b = tab.b();
    }
    for (auto& c : copies) c->set_params(params.head(n_theta));
    r.grad = Vec::Zero(params.size());
    if (adaptive) {
      Vec theta_bar;
      const AdaptiveFlowLoss l =
          meet ? adaptive_meet_mse(*copies[0], psi.tableau, psi.h, p->Z0, p->targets[0], psi.adaptive, &theta_bar)
               : adaptive_flow_mse(*copies[0], psi.tableau, psi.h, p->Z0, p->targets[0], psi.adaptive, &theta_bar);
      r.loss = l.loss;
      r.grad.head(n_theta) = theta_bar;
      r.nfe_forward = l.num_forward_evaluations;
      r.nfe_backward = l.num_backward_evaluations;
      return r;
    }
    const long chunk = o.chunk_size, num_chunks = (n + chunk - 1) / chunk;
    std::vector<double> losses(num_chunks);
    std::vector<Vec> theta_bars(num_chunks), b_bars(num_chunks);
    std::vector<Mat> A_bars(num_chunks);
    std::vector<long> nfe_f(num_chunks), nfe_b(num_chunks);
    // Dynamic: a thread that the OS deschedules does not hold up chunks another could take; each chunk's result
    // has its own slot and the sum below runs in chunk order, so the numbers do not depend on who computed what.
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (long c = 0; c < num_chunks; ++c) {
      const long begin = c * chunk, cols_c = std::min(chunk, n - begin);
      std::vector<Mat> targets;
      for (const Mat& t : p->targets) targets.push_back(t.middleCols(begin, cols_c));
      RolloutGradients g{.A_bar = trainable ? &A_bars[c] : nullptr,
                         .b_bar = trainable ? &b_bars[c] : nullptr,
                         .theta_bar = &theta_bars[c]};
      RolloutLoss l;
      if (!meet) {
        l = rollout_mse(*copies[omp_get_thread_num()], A, b, psi.h, p->Z0.middleCols(begin, cols_c), targets, g);
      } else {
        l = meet_in_the_middle_mse(*copies[omp_get_thread_num()], A, b, psi.h, p->Z0.middleCols(begin, cols_c),
                                   targets[0], g);
      }
      const double w = static_cast<double>(cols_c) / n;
      losses[c] = w * l.loss;
      theta_bars[c] *= w;
      if (trainable) {
        A_bars[c] *= w;
        b_bars[c] *= w;
      }
      nfe_f[c] = l.num_function_evaluations;
      nfe_b[c] = l.num_vjp_evaluations;
    }
    Mat A_bar = Mat::Zero(A.rows(), A.cols());
    Vec b_bar = Vec::Zero(b.size());
    for (long c = 0; c < num_chunks; ++c) {
      r.loss += losses[c];
      r.grad.head(n_theta) += theta_bars[c];
      if (trainable) {
        A_bar += A_bars[c];
        b_bar += b_bars[c];
      }
    }
    // The half-step scheme stays q/2 Euler sub-steps (a trainable one learns to cheat: an explicit scheme run
    // backwards is no inverse of the forward step, and the meeting point can be matched by maps far from the flow).
    if (trainable && !meet) r.grad.tail(tab.params().size()) = tab.pack_gradient(A_bar, b_bar);
    // NFE of the flow map per iteration: evaluations along one column's rollout (every chunk makes the same).
    r.nfe_forward = nfe_f.empty() ? 0 : nfe_f[0];
    r.nfe_backward = nfe_b.empty() ? 0 : nfe_b[0];
    return r;
  };
  auto evaluate = [&](const Vec& params, const std::vector<long>& cols, bool meet) {
    return evaluate_on(all, params, cols, meet);
  };

  const int log_every = o.log_every > 0 ? o.log_every : std::max(1, o.iterations / 20);
  Vec last_good = x;
  int bad_in_a_row = 0;
  auto t_log = std::chrono::steady_clock::now();
  int since_log = 0;
  bool in_meet_layout = false;
  double learning_rate = o.adam.learning_rate;  // lowered on divergence with on_divergence = "lower_lr"
  long adam_total = o.iterations;
  auto make_adam = [&](long total) {
    AdamOptions a = o.adam;
    a.learning_rate = learning_rate;
    adam_total = total;
    return Adam(x.size(), a, total);
  };
  std::uint64_t rng_draws = 0;

  // Checkpoints: the state is offered at the top of an iteration (nothing of it done yet) of every phase.
  const IdentifyCheckpoint* resume = hooks.resume;
  auto phase_rank = [](const std::string& phase) {
    static const char* order[] = {"adam", "refine", "refine_rollout", "lm"};
    for (int i = 0; i < 4; ++i)
      if (phase == order[i]) return i;
    throw std::invalid_argument("checkpoint: unknown phase '" + phase + "'");
  };
  const int resume_rank = resume ? phase_rank(resume->phase) : 0;
  double seconds_before = 0.0;
  if (resume) {
    out.status = resume->status;
    out.iterations = resume->iterations;
    out.meet_iterations = resume->meet_iterations;
    out.refine_iterations = resume->refine_iterations;
    out.learning_rate_halvings = resume->learning_rate_halvings;
    out.loss_history = resume->loss_history;
    out.meet_loss_history = resume->meet_loss_history;
    out.refine_loss_history = resume->refine_loss_history;
    out.nfe_forward_history = resume->nfe_forward_history;
    out.nfe_backward_history = resume->nfe_backward_history;
    seconds_before = resume->train_seconds;
    for (std::uint64_t i = 0; i < resume->rng_draws; ++i) rng.next_u64();
    rng_draws = resume->rng_draws;
    learning_rate = resume->learning_rate > 0 ? resume->learning_rate : o.adam.learning_rate;
  }
  const bool resume_in_meet = resume && resume_rank == 0 && resume->iteration < meet_iterations;
  auto check_resume_size = [&](Eigen::Index expected) {
    if (resume->x.size() != expected)
      throw std::invalid_argument("checkpoint: " + std::to_string(resume->x.size()) + " parameters, these options have " +
                                  std::to_string(expected));
  };
  auto state = [&](const std::string& phase, int iteration) {
    IdentifyCheckpoint c;
    c.phase = phase;
    c.iteration = iteration;
    c.x = x;
    c.rng_draws = rng_draws;
    c.learning_rate = learning_rate;
    c.status = out.status;
    c.iterations = out.iterations;
    c.meet_iterations = out.meet_iterations;
    c.refine_iterations = out.refine_iterations;
    c.learning_rate_halvings = out.learning_rate_halvings;
    c.loss_history = out.loss_history;
    c.meet_loss_history = out.meet_loss_history;
    c.refine_loss_history = out.refine_loss_history;
    c.nfe_forward_history = out.nfe_forward_history;
    c.nfe_backward_history = out.nfe_backward_history;
    c.train_seconds =
        seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    return c;
  };
  long boundaries = 0;
  bool stopped = false;
  // True when training must stop here (the state was saved). Saves every checkpoint_every iterations too.
  auto at_boundary = [&](const std::function<IdentifyCheckpoint()>& make_state) {
    const bool stop = hooks.stop_requested && hooks.stop_requested();
    const bool periodic = hooks.checkpoint_every > 0 && boundaries > 0 && boundaries % hooks.checkpoint_every == 0;
    ++boundaries;
    if ((stop || periodic) && hooks.save) hooks.save(make_state());
    if (stop) {
      out.status = "interrupted";
      stopped = true;
      if (log) log("stopped on request; the state is saved");
    }
    return stop;
  };

  if (meet_iterations > 0 && (!resume || resume_in_meet)) {
    x.conservativeResize(meet_size);
    if (trainable) x.tail(half.params().size()) = half.params();
    last_good = x;
    adam = make_adam(meet_iterations);
    in_meet_layout = true;
  }
  auto compose = [&] {
    // Two half steps as one TRK_q: A = [A'/2 0; 1 b'^T/2 A'/2] (plus a zero stage when q is odd), b = [b'; b']/2.
    if (trainable) {
      half.set_params(x.tail(half.params().size()));
      const int qh = half.num_stages(), q = scheme.num_stages();
      const Mat Ah = half.A();
      const Vec bh = half.b();
      ButcherTableau t;
      t.A = Mat::Zero(q, q);
      t.b = Vec::Zero(q);
      t.A.topLeftCorner(qh, qh) = 0.5 * Ah;
      t.A.block(qh, qh, qh, qh) = 0.5 * Ah;
      t.A.block(qh, 0, qh, qh) = 0.5 * Vec::Ones(qh) * bh.transpose();
      t.b.head(qh) = 0.5 * bh;
      t.b.segment(qh, qh) = 0.5 * bh;
      t.c = t.A.rowwise().sum();
      scheme = TrainableTableau::from_tableau(t);
      scheme.project_consistency();
      x.conservativeResize(n_theta + scheme.params().size());
      x.tail(scheme.params().size()) = scheme.params();
    }
    last_good = x;
    adam = make_adam(o.iterations);
    in_meet_layout = false;
  };
  const Eigen::Index main_size = n_theta + (trainable ? scheme.params().size() : 0);
  int first_it = 0;
  if (resume) {
    check_resume_size(resume_in_meet ? meet_size : main_size);
    x = resume->x;
    if (resume_rank == 0) {
      first_it = resume->iteration;
      last_good = resume->last_good;
      bad_in_a_row = resume->bad_in_a_row;
      adam = make_adam(resume_in_meet ? meet_iterations : o.iterations);
      adam.restore(resume->adam_m, resume->adam_v, resume->adam_t);
    } else {
      first_it = o.iterations + meet_iterations;  // the Adam phases are done
    }
  }
  auto adam_state = [&](int it) {
    IdentifyCheckpoint c = state("adam", it);
    c.last_good = last_good;
    c.adam_m = adam.m();
    c.adam_v = adam.v();
    c.adam_t = adam.iteration();
    c.bad_in_a_row = bad_in_a_row;
    return c;
  };
  // A non-finite loss, gradient or step: back to the last good parameters, then by policy halve the learning rate
  // (moments kept when finite) or count it; 10 in a row stop training. True when training must stop.
  auto diverged = [&](int it, const char* what) {
    x = last_good;
    if (o.on_divergence == "lower_lr" && out.learning_rate_halvings < 10) {
      learning_rate *= 0.5;
      ++out.learning_rate_halvings;
      const Adam previous = adam;
      adam = make_adam(adam_total);
      const bool finite = previous.m().allFinite() && previous.v().allFinite();
      adam.restore(finite ? previous.m() : Vec::Zero(x.size()), finite ? previous.v() : Vec::Zero(x.size()),
                   previous.iteration());
      if (log) log(std::string("non-finite ") + what + " at iteration " + std::to_string(it + 1) +
                   ": last good model restored, learning rate halved to " + std::to_string(learning_rate));
      return false;
    }
    if (++bad_in_a_row >= 10) {
      out.status = "non_finite_loss";
      if (log) log(std::string("non-finite ") + what + " 10 times in a row at iteration " + std::to_string(it + 1) +
                   ": training stopped, the last good model is kept");
      return true;
    }
    return false;
  };
  for (int it = first_it; it < o.iterations + meet_iterations; ++it) {
    const bool meet = it < meet_iterations;
    if (it == meet_iterations && in_meet_layout) compose();
    if (at_boundary([&] { return adam_state(it); })) break;
    std::vector<long> cols;
    if (o.batch_size > 0 && o.batch_size < n_all)
      for (int j = 0; j < o.batch_size; ++j, ++rng_draws) cols.push_back(static_cast<long>(rng.next_u64() % n_all));
    const LossEval r = evaluate(x, cols, meet);
    if (meet) {
      out.meet_loss_history.push_back(r.loss);
    } else {
      out.loss_history.push_back(r.loss);
      out.nfe_forward_history.push_back(r.nfe_forward);
      out.nfe_backward_history.push_back(r.nfe_backward);
    }
    if (!std::isfinite(r.loss) || !r.grad.allFinite()) {
      if (diverged(it, "loss")) break;
      continue;
    }
    // A finite loss at the restored model is no progress: the count goes on until a step lands somewhere finite
    // (else a step that always diverges from the same model would alternate with its restoration for ever).
    if (!(x == last_good)) bad_in_a_row = 0;
    last_good = x;
    adam.step(x, r.grad);
    if (trainable) {
      TrainableTableau& tab = meet ? half : scheme;
      tab.set_params(x.tail(tab.params().size()));
      tab.project_consistency();
      x.tail(tab.params().size()) = tab.params();
    }
    if (!x.allFinite()) {
      if (diverged(it, "parameters")) break;
      continue;
    }
    if (meet)
      out.meet_iterations = it + 1;
    else
      out.iterations = it + 1 - meet_iterations;
    ++since_log;
    if (log && ((it + 1) % log_every == 0 || it + 1 == o.iterations + meet_iterations)) {
      const auto now = std::chrono::steady_clock::now();
      const double secs = std::chrono::duration<double>(now - t_log).count();
      char line[256];
      std::snprintf(line, sizeof line, "%s %d/%d  loss %.4e  nfe %ld+%ld  %.1f it/s", meet ? "meet" : "iter", it + 1,
                    o.iterations + meet_iterations,
                    r.loss, r.nfe_forward, r.nfe_backward, since_log / std::max(secs, 1e-9));
      log(line);
      t_log = now;
      since_log = 0;
    }
  }
  if (stopped) return out;
  if (in_meet_layout) compose();
  // The phase's checkpoint when resuming inside it, else null.
  auto resume_in = [&](const char* phase) { return resume && resume->phase == phase ? resume : nullptr; };
  // Levenberg-Marquardt on the residuals r(x) = k^-d (Z_k - Y_k) / sqrt(K n dim), k = 1..K, plus a heavily weighted
  // row for sum b - 1. The pairs are cut into the chunks of the Adam phases; J^T J and J^T r are accumulated chunk by
  // chunk (J of a chunk by forward differences, chunks on the threads, added in chunk order: the numbers do not
  // depend on the thread count), so memory is P^2 + threads * chunk rows * P, not the full Jacobian.
  struct Scheme {
    Mat A;
    Vec b;
  };
  auto scheme_at = [&](const Vec& params) {
    if (!trainable) return Scheme{psi.tableau.A, psi.tableau.b};
    scheme.set_params(params.tail(scheme.params().size()));
    return Scheme{scheme.A(), scheme.b()};
  };
  auto chunk_residuals = [&](const Pairs& P, long begin, long cols, VectorField& f, const Scheme& s, Vec& r) {
    const int K = static_cast<int>(P.targets.size());
    const double scale = 1.0 / std::sqrt(static_cast<double>(K) * P.Z0.cols() * dim);
    CountedField cf(f);
    StageTape tape;
    Mat Z = P.Z0.middleCols(begin, cols), Zn(dim, cols);
    r.resize(K * cols * dim);
    for (int k = 0; k < K; ++k) {
      rk_step(cf, s.A, s.b, psi.h, Z, Zn, tape);
      Z.swap(Zn);
      Eigen::Map<Mat>(r.data() + k * cols * dim, dim, cols) =
          (scale * std::pow(k + 1.0, -o.lm_horizon_decay)) * (Z - P.targets[k].middleCols(begin, cols));
    }
  };
  const long lm_chunk = o.chunk_size;
  // All residuals at params, chunk after chunk, then the sum b row.
  auto residuals = [&](const Pairs& P, const Vec& params) {
    const long n = P.Z0.cols(), num_chunks = (n + lm_chunk - 1) / lm_chunk;
    const long per_col = static_cast<long>(P.targets.size()) * dim;
    const Scheme s = scheme_at(params);
    for (auto& c : copies) c->set_params(params.head(n_theta));
    Vec r(n * per_col + (trainable ? 1 : 0));
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (long c = 0; c < num_chunks; ++c) {
      const long begin = c * lm_chunk, cols = std::min(lm_chunk, n - begin);
      Vec rc;
      chunk_residuals(P, begin, cols, *copies[omp_get_thread_num()], s, rc);
      r.segment(begin * per_col, cols * per_col) = rc;
    }
    if (trainable) r(r.size() - 1) = 1e3 * (s.b.sum() - 1.0);
    return r;
  };
  // J^T J and J^T r at x (residuals r = residuals(P, x)).
  auto normal_equations = [&](const Pairs& P, const Vec& r, Mat& JTJ, Vec& g) {
    const long n = P.Z0.cols(), num_chunks = (n + lm_chunk - 1) / lm_chunk;
    const long per_col = static_cast<long>(P.targets.size()) * dim, np = x.size();
    Vec step(np);
    std::vector<Scheme> shifted(np);  // the scheme at x + step_i e_i
    for (long i = 0; i < np; ++i) {
      step(i) = 1e-7 * std::max(1.0, std::abs(x(i)));
      if (i < n_theta) continue;
      Vec xp = x;
      xp(i) += step(i);
      shifted[i] = scheme_at(xp);
    }
    const Scheme s = scheme_at(x);
    JTJ.setZero(np, np);
    g.setZero(np);
    if (trainable) {  // the sum b row
      Vec row = Vec::Zero(np);
      for (long i = n_theta; i < np; ++i) row(i) = (1e3 * (shifted[i].b.sum() - 1.0) - r(r.size() - 1)) / step(i);
      JTJ.noalias() += row * row.transpose();
      g += row * r(r.size() - 1);
    }
    // Chunks in groups of `threads`: each thread differentiates one chunk, then the group is added in order.
    std::vector<Mat> JTJ_c(threads);
    std::vector<Vec> g_c(threads);
    for (long first = 0; first < num_chunks; first += threads) {
      const long group = std::min<long>(threads, num_chunks - first);
#pragma omp parallel for schedule(static, 1) num_threads(threads)
      for (long t = 0; t < group; ++t) {
        const long c = first + t, begin = c * lm_chunk, cols = std::min(lm_chunk, n - begin);
        VectorField& f = *copies[omp_get_thread_num()];
        const auto rc = r.segment(begin * per_col, cols * per_col);
        Mat J(cols * per_col, np);
        Vec theta = x.head(n_theta), rp;
        f.set_params(theta);
        for (long i = 0; i < np; ++i) {
          if (i < n_theta) {
            theta(i) += step(i);
            f.set_params(theta);
            chunk_residuals(P, begin, cols, f, s, rp);
            theta(i) = x(i);
            f.set_params(theta);
          } else {
            chunk_residuals(P, begin, cols, f, shifted[i], rp);
          }
          J.col(i) = (rp - rc) / step(i);
        }
        JTJ_c[t].noalias() = J.transpose() * J;
        g_c[t].noalias() = J.transpose() * rc;
      }
      for (long t = 0; t < group; ++t) {
        JTJ += JTJ_c[t];
        g += g_c[t];
      }
    }
  };
  auto levenberg_marquardt = [&](const Pairs& P, int iterations) {
    const IdentifyCheckpoint* from = resume_in("lm");
    const long np = x.size();
    if (np > o.lm_max_parameters) {
      if (log)
        log("lm skipped: " + std::to_string(np) + " parameters > lm_max_parameters " +
            std::to_string(o.lm_max_parameters));
      return;
    }
    Vec r = from ? from->residuals : residuals(P, x);
    double loss = from ? from->loss : r.squaredNorm(), mu = from ? from->mu : 1e-3;
    Mat JTJ;
    Vec g;
    for (int it = from ? from->iteration : 0; it < iterations && std::isfinite(loss); ++it) {
      if (at_boundary([&] {
            IdentifyCheckpoint c = state("lm", it);
            c.residuals = r;
            c.loss = loss;
            c.mu = mu;
            return c;
          }))
        return;
      normal_equations(P, r, JTJ, g);
      bool accepted = false;
      for (int tries = 0; tries < 20 && !accepted; ++tries) {
        Mat M = JTJ;
        M.diagonal() += mu * (JTJ.diagonal().array() + 1e-12).matrix();
        const Vec d = -M.ldlt().solve(g);
        Vec xn = x + d;
        if (trainable) {
          scheme.set_params(xn.tail(scheme.params().size()));
          scheme.project_consistency();
          xn.tail(scheme.params().size()) = scheme.params();
        }
        const Vec rn = residuals(P, xn);
        const double ln = rn.squaredNorm();
        if (std::isfinite(ln) && ln < loss) {
          x = xn;
          r = rn;
          loss = ln;
          mu = std::max(mu / 3.0, 1e-12);
          accepted = true;
        } else {
          mu *= 4.0;
        }
      }
      if (!accepted) break;
      out.refine_loss_history.push_back(loss);
      ++out.refine_iterations;
      if (log && ((it + 1) % std::max(1, iterations / 20) == 0 || it + 1 == iterations)) {
        char line[256];
        std::snprintf(line, sizeof line, "lm %d/%d  loss %.4e  mu %.1e", it + 1, iterations, loss, mu);
        log(line);
      }
    }
  };
  constexpr int kStallWindow = 500;
  auto refine = [&](const Pairs& refine_pairs, int iterations, const char* label, const char* phase) {
    const long nb = trainable ? scheme.num_stages() : 0;
    // Gradient projected onto the tangent space of {sum b = 1}: every L-BFGS direction stays in it.
    auto project = [&](Vec g) {
      if (nb > 0) g.tail(nb).array() -= g.tail(nb).mean();
      return g;
    };
    const IdentifyCheckpoint* from = resume_in(phase);
    LossEval r;
    Vec g;
    std::vector<Vec> S, Y;
    int done = 0;
    if (from) {
      r.loss = from->loss;
      g = from->gradient;
      S = from->s_memory;
      Y = from->y_memory;
      done = from->phase_accepted;
    } else {
      r = evaluate_on(refine_pairs, x, {});
      g = project(r.grad);
    }
    for (int it = from ? from->iteration : 0; it < iterations && std::isfinite(r.loss); ++it) {
      if (at_boundary([&] {
            IdentifyCheckpoint c = state(phase, it);
            c.loss = r.loss;
            c.gradient = g;
            c.s_memory = S;
            c.y_memory = Y;
            c.phase_accepted = done;
            return c;
          }))
        return;
      // Two-loop recursion.
      Vec d = -g;
      const int m = static_cast<int>(S.size());
      std::vector<double> alpha(m), rho(m);
      for (int i = m - 1; i >= 0; --i) {
        rho[i] = 1.0 / S[i].dot(Y[i]);
        alpha[i] = rho[i] * S[i].dot(d);
        d -= alpha[i] * Y[i];
      }
      if (m > 0) d *= S[m - 1].dot(Y[m - 1]) / Y[m - 1].squaredNorm();
      for (int i = 0; i < m; ++i) {
        const double beta = rho[i] * Y[i].dot(d);
        d += (alpha[i] - beta) * S[i];
      }
      double slope = g.dot(d);
      if (!(slope < 0)) {
        S.clear();
        Y.clear();
        d = -g;
        slope = g.dot(d);
      }
      double t = S.empty() ? std::min(1.0, 1e-3 / std::max(g.norm(), 1e-300)) : 1.0;
      LossEval trial;
      Vec x_new;
      bool accepted = false;
      for (int ls = 0; ls < 40; ++ls, t *= 0.5) {
        x_new = x + t * d;
        trial = evaluate_on(refine_pairs, x_new, {});
        if (std::isfinite(trial.loss) && trial.grad.allFinite() && trial.loss <= r.loss + 1e-4 * t * slope) {
          accepted = true;
          break;
        }
      }
      if (!accepted) break;
      const Vec g_new = project(trial.grad);
      Vec s_k = x_new - x, y_k = g_new - g;
      if (s_k.dot(y_k) > 1e-12 * s_k.norm() * y_k.norm()) {
        S.push_back(std::move(s_k));
        Y.push_back(std::move(y_k));
        if (static_cast<int>(S.size()) > o.refine_memory) {
          S.erase(S.begin());
          Y.erase(Y.begin());
        }
      }
      x = x_new;
      g = g_new;
      r = trial;
      if (trainable) {
        scheme.set_params(x.tail(scheme.params().size()));
        scheme.project_consistency();
        x.tail(scheme.params().size()) = scheme.params();
      }
      out.refine_loss_history.push_back(r.loss);
      ++done;
      // dopri8: the loss is noisy at the level of the solver's tolerances (the accepted steps change with theta);
      // there L-BFGS keeps taking tiny steps. Stop when 500 iterations gained less than 0.1 %.
      const size_t seen = out.refine_loss_history.size();
      if (adaptive && done > kStallWindow && r.loss > 0.999 * out.refine_loss_history[seen - 1 - kStallWindow]) {
        if (log) log(std::string(label) + " stalled at iteration " + std::to_string(it + 1) + ": stopped");
        break;
      }
      if (log && ((it + 1) % std::max(1, iterations / 20) == 0 || it + 1 == iterations)) {
        char line[256];
        std::snprintf(line, sizeof line, "%s %d/%d  loss %.4e", label, it + 1, iterations, r.loss);
        log(line);
      }
    }
    out.refine_iterations += done;
  };
  // Adaptive solvers: the one-step refinement only (their loss is defined on one step; the LM residuals replay
  // fixed steps).
  if (out.status == "completed" && out.iterations == o.iterations) {
    if (o.refine_iterations > 0 && resume_rank <= 1) refine(all, o.refine_iterations, "refine", "refine");
    if (!adaptive && !stopped && o.refine_rollout_iterations > 0 && resume_rank <= 2)
      refine(make_pairs(data.train, o.refine_rollout_steps), o.refine_rollout_iterations, "refine rollout",
             "refine_rollout");
    if (!adaptive && !stopped && o.lm_iterations > 0)
      levenberg_marquardt(make_pairs(data.train, o.lm_rollout_steps), o.lm_iterations);
  }
  if (stopped) return out;
  psi.field->set_params(x.head(n_theta));
  if (trainable) {
    scheme.set_params(x.tail(scheme.params().size()));
    psi.tableau = scheme.tableau(o.solver);
  }
  out.train_seconds =
      seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  out.evaluation = evaluate_forecasts(psi, data.test);
  return out;
}

}  // namespace trk
