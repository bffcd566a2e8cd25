#include "trk/solve/integrate.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

namespace trk {

Solution integrate_fixed(const VectorField& f, const ButcherTableau& tableau, const ConstMatRef& Z0, double h,
                         long num_steps) {
  CountedField cf(f);
  StageTape tape;
  tape.keep_activations = false;  // no reverse pass here
  Solution sol;
  sol.z = Z0;
  Mat Z_next(Z0.rows(), Z0.cols());
  for (long s = 0; s < num_steps; ++s) {
    rk_step(cf, tableau, h, sol.z, Z_next, tape);
    ++sol.stats.num_steps;
    if (!Z_next.allFinite()) {
      sol.status = SolveStatus::kNonFinite;
      break;
    }
    ++sol.stats.num_accepted;
    sol.z.swap(Z_next);
    sol.t += h;
  }
  sol.stats.num_function_evaluations = cf.num_evaluations();
  return sol;
}

namespace {

bool is_fsal(const ButcherTableau& t) {
  const int q = t.num_stages();
  return q > 1 && t.A.row(q - 1).transpose().isApprox(t.b, 0.0) && t.b(q - 1) == 0.0 && t.c(q - 1) == 1.0;
}

// Hairer's initial step (HINIT), with RMS norms so that it does not depend on the batch size. One evaluation.
double initial_step(CountedField& f, const ConstMatRef& Z, const Mat& K1, double span, int order,
                    const StepControlOptions& o, double max_step) {
  const auto sk = o.atol + o.rtol * Z.array().abs();
  const double dnf = (K1.array() / sk).square().mean(), dny = (Z.array() / sk).square().mean();
  double h = (dnf <= 1e-10 || dny <= 1e-10) ? 1e-6 : std::sqrt(dny / dnf) * 0.01;
  h = std::min(h, max_step);
  Mat Z1 = Z + h * K1, K2(Z.rows(), Z.cols());
  f.eval(Z1, K2);
  const double der2 = std::sqrt(((K2 - K1).array() / sk).square().mean()) / h;
  const double der12 = std::max(std::abs(der2), std::sqrt(dnf));
  const double h1 = der12 <= 1e-15 ? std::max(1e-6, h * 1e-3) : std::pow(0.01 / der12, 1.0 / order);
  return std::min({100 * h, h1, max_step, span});
}

// torchdiffeq 0.2.5's `_select_initial_step` (the same heuristic, its thresholds: d0, d1 < 1e-5 give 1e-6; h0 not
// limited by the span), called with order p - 1 and so the exponent 1 / p. One evaluation. torchdiffeq steps past
// the end and interpolates; trk lands on it, so the step is limited to the span (the same number of steps).
double torchdiffeq_initial_step(CountedField& f, const ConstMatRef& Z, const Mat& K1, double span, int order,
                                const StepControlOptions& o, double max_step) {
  const auto scale = o.atol + o.rtol * Z.array().abs();
  const double d0 = std::sqrt((Z.array() / scale).square().mean());
  const double d1 = std::sqrt((K1.array() / scale).square().mean());
  const double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
  Mat Z1 = Z + h0 * K1, K2(Z.rows(), Z.cols());
  f.eval(Z1, K2);
  const double d2 = std::sqrt(((K2 - K1).array() / scale).square().mean()) / h0;
  const double h1 = (d1 <= 1e-15 && d2 <= 1e-15) ? std::max(1e-6, h0 * 1e-3)
                                                   : std::pow(0.01 / std::max(d1, d2), 1.0 / order);
  return std::min({100 * h0, h1, max_step, span});
}

// kAuto resolved: Hairer's for a pair with Hairer's combined error estimate (DOP853), torchdiffeq's otherwise.
bool uses_torchdiffeq(StepControlConvention c, const ButcherTableau& t) {
  if (c == StepControlConvention::kAuto) return !t.secondary_error_weights.has_value();
  return c == StepControlConvention::kTorchdiffeq;
}

}  // namespace

Solution integrate_adaptive(const VectorField& f, const ButcherTableau& tableau, const ConstMatRef& Z0, double t0,
                            double t1, const AdaptiveOptions& options) {
  if (!tableau.has_error_estimate())
    throw std::invalid_argument("integrate_adaptive: tableau " + tableau.name + " has no error estimate");
  const int q = tableau.num_stages();
  const int order = tableau.order > 0 ? tableau.order : 4;
  const double dir = t1 >= t0 ? 1.0 : -1.0, span = std::abs(t1 - t0);
  const double max_step = options.max_step > 0 ? options.max_step : std::max(span, 1e-300);
  const bool fsal = is_fsal(tableau);
  const Vec& e = *tableau.error_weights;
  const Vec* e3 = tableau.secondary_error_weights ? &*tableau.secondary_error_weights : nullptr;

  CountedField cf(f);
  auto fresh_tape = [&] {
    StageTape t;
    t.keep_activations = options.record_tapes;  // otherwise no reverse pass here
    t.resize(q, static_cast<int>(Z0.rows()), Z0.cols());
    return t;
  };
  StageTape tape = fresh_tape();
  StepAdjuster adjuster(options.control, order);
  Solution sol;
  sol.z = Z0;
  sol.t = t0;
  auto finish = [&](SolveStatus s) {  // every caller returns its result: sol is moved out, not copied (its tapes)
    sol.status = s;
    sol.stats.num_function_evaluations = cf.num_evaluations();
    return std::move(sol);
  };
  if (!Z0.allFinite()) return finish(SolveStatus::kNonFinite);
  if (span == 0.0) return finish(SolveStatus::kSuccess);

  cf.eval(sol.z, tape.K[0]);
  if (!tape.K[0].allFinite()) return finish(SolveStatus::kNonFinite);
  const bool torchdiffeq = uses_torchdiffeq(options.control.convention, tableau);
  double h = options.first_step > 0 ? std::min(options.first_step, max_step)
             : torchdiffeq     ? torchdiffeq_initial_step(cf, sol.z, tape.K[0], span, order, options.control, max_step)
                               : initial_step(cf, sol.z, tape.K[0], span, order, options.control, max_step);
  Mat Z_next(Z0.rows(), Z0.cols()), err(Z0.rows(), Z0.cols()), err3(Z0.rows(), Z0.cols());
  bool last_rejected = false, done = false;
  std::size_t tape_bytes = 0;
  while (!done) {
    if (sol.stats.num_steps >= options.max_steps) return finish(SolveStatus::kMaxStepsReached);
    const double remaining = std::abs(t1 - sol.t);
    if (h < 16 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::abs(sol.t)))
      return finish(SolveStatus::kStepSizeTooSmall);
    const bool last = 1.01 * h >= remaining;
    const double h_step = last ? remaining : h;
    rk_step(cf, tableau, dir * h_step, sol.z, Z_next, tape, /*k1_known=*/true);
    ++sol.stats.num_steps;
    err.setZero();
    for (int i = 0; i < q; ++i)
      if (e(i) != 0.0) err.noalias() += e(i) * tape.K[i];
    double error = scaled_rms(err, sol.z, Z_next, options.control.rtol, options.control.atol);
    if (e3) {
      err3.setZero();
      for (int i = 0; i < q; ++i)
        if ((*e3)(i) != 0.0) err3.noalias() += (*e3)(i) * tape.K[i];
      const double err5 = error, e3n = scaled_rms(err3, sol.z, Z_next, options.control.rtol, options.control.atol);
      const double deno = err5 * err5 + 0.01 * e3n * e3n;
      error = deno > 0 ? err5 * err5 / std::sqrt(deno) : 0.0;
    }
    error *= h_step;
    if (!std::isfinite(error) || !Z_next.allFinite()) error = std::numeric_limits<double>::infinity();
    if (error <= 1.0) {
      ++sol.stats.num_accepted;
      if (options.record_steps) sol.accepted_steps.push_back(dir * h_step);
      if (options.record_tapes) {
        tape_bytes += tape.bytes();
        if (tape_bytes > options.max_tape_bytes) return finish(SolveStatus::kMaxStepsReached);
        sol.tapes.push_back(std::move(tape));
        tape = fresh_tape();
        if (fsal) tape.K[q - 1] = sol.tapes.back().K[q - 1];  // swapped into K[0] below
      }
      sol.t = last ? t1 : sol.t + dir * h_step;
      sol.z.swap(Z_next);
      const double h_new =
          std::min(torchdiffeq ? torchdiffeq_next_step(options.control, order, h_step, error)
                               : adjuster.accepted(h_step, error, last_rejected),
                   max_step);
      last_rejected = false;
      if (last) {
        sol.next_step = last && h_step < h ? h : h_new;
        done = true;
      } else {
        h = h_new;
        if (fsal) {
          tape.K[0].swap(tape.K[q - 1]);
        } else {
          cf.eval(sol.z, tape.K[0]);
          if (!tape.K[0].allFinite()) return finish(SolveStatus::kNonFinite);
        }
      }
    } else {
      ++sol.stats.num_rejected;
      last_rejected = true;
      h = torchdiffeq ? torchdiffeq_next_step(options.control, order, h_step, error)
                      : adjuster.rejected(h_step, error);
    }
  }
  return finish(SolveStatus::kSuccess);
}

Solution sample_adaptive(const VectorField& f, const ButcherTableau& tableau, const ConstMatRef& Z0, double t0,
                         double h, long num_samples, const AdaptiveOptions& options,
                         const std::function<void(long, const Mat&)>& sample) {
  Solution total;
  total.z = Z0;
  total.t = t0;
  AdaptiveOptions o = options;
  if (num_samples > 0) sample(0, total.z);
  for (long k = 1; k < num_samples; ++k) {
    Solution s = integrate_adaptive(f, tableau, total.z, t0 + (k - 1) * h, t0 + k * h, o);
    total.stats.num_function_evaluations += s.stats.num_function_evaluations;
    total.stats.num_steps += s.stats.num_steps;
    total.stats.num_accepted += s.stats.num_accepted;
    total.stats.num_rejected += s.stats.num_rejected;
    if (s.status != SolveStatus::kSuccess) {
      total.status = s.status;
      return total;
    }
    total.z = std::move(s.z);
    total.t = s.t;
    o.first_step = s.next_step;
    sample(k, total.z);
  }
  return total;
}

}  // namespace trk
