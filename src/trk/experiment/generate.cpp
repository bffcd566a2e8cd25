#include "trk/experiment/generate.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "trk/core/number_text.h"
#include "trk/core/rng.h"
#include "trk/field/kuramoto_sivashinsky.h"
#include "trk/solve/etdrk4.h"
#include "trk/solve/integrate.h"
#include "trk/tableau/named_tableaux.h"

namespace trk {

std::string GenerateOptions::validation_error() const {
  try {
    resolve_parameters(system, parameters);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  if (!(h > 0.0) || !std::isfinite(h)) return "h must be a positive number, got " + number_text(h);
  if (train_steps < 1) return "train-steps must be at least 1";
  if (test_steps < 1) return "test-steps must be at least 1";
  if (test_trajectories < 1) return "test-trajectories must be at least 1";
  if (validation_steps < 0) return "validation-steps must be >= 0";
  if (!(noise >= 0.0) || !std::isfinite(noise)) return "noise must be a finite number >= 0";
  if (!std::isfinite(spin_up) || (spin_up < 0.0 && spin_up != -1.0))
    return "spin-up must be a finite number >= 0, or -1 for the system's default";
  if (!(rtol > 0.0) || !(atol > 0.0)) return "rtol and atol must be positive";
  if (!(etdrk4_step > 0.0) || !std::isfinite(etdrk4_step)) return "etdrk4-step must be a positive number";
  if ((train_steps + 1.0) * h > 1e7 || (test_steps + 1.0) * test_trajectories * h > 1e7 ||
      (validation_steps + 1.0) * h > 1e7)
    return "the requested span exceeds 1e7 time units";
  if (reference_integrator(system) == "etdrk4") {
    // Every ETDRK4 step of the run: the spin-up and the gaps (at most 20 time units each) in steps of at most
    // etdrk4_step, every sample gap h in ceil(h / etdrk4_step) steps.
    const double per_sample = std::ceil(h / etdrk4_step);
    const double samples = train_steps + 1.0 + (test_steps + 1.0) * test_trajectories + validation_steps + 1.0;
    const double spans = resolved_spin_up() + 20.0 * (test_trajectories + 1.0);
    const double total = per_sample * samples + std::ceil(spans / etdrk4_step);
    if (!(total <= kMaxEtdrk4Steps)) {
      char text[200];
      std::snprintf(text, sizeof text, "etdrk4-step %g makes %.3g ETDRK4 steps (at most %.0e): choose etdrk4-step >= %.3g",
                    etdrk4_step, total, kMaxEtdrk4Steps, 1.01 * (h * samples + spans) / kMaxEtdrk4Steps);
      return text;
    }
  }
  if (initial_state.size() > 0) {
    const int dim = make_system(system, parameters)->dim();
    if (initial_state.size() != dim)
      return "initial state has " + std::to_string(initial_state.size()) + " components, the system has " +
             std::to_string(dim);
    if (!initial_state.allFinite()) return "initial state must be finite";
  }
  return "";
}

double GenerateOptions::resolved_spin_up() const {
  if (spin_up >= 0.0) return spin_up;
  if (system == "lorenz63") return 5.0;
  if (system == "lorenz96") return 20.0;
  if (system == "ks") return 200.0;
  return 0.0;
}

std::string reference_integrator(const std::string& system) { return system == "ks" ? "etdrk4" : "dop853"; }

double etdrk4_step_dividing(double span, double longest) {
  return span / std::max(1.0, std::ceil(span / longest * (1.0 - 1e-12)));
}

namespace {

// The reference integrator of a dataset: advance(z, span) moves the state z (dim x 1) on by span, sample(z, h, num,
// record) calls record(k, z_k) for z_k = z(k h), k = 0 .. num - 1, and leaves z at the last sample.
struct ReferenceFlow {
  std::function<void(Mat& z, double span)> advance;
  std::function<void(Mat& z, double h, long num, const std::function<void(long, const Mat&)>& record)> sample;
};

ReferenceFlow dop853_flow(const VectorField& f, const GenerateOptions& options) {
  AdaptiveOptions o;
  o.control.rtol = options.rtol;
  o.control.atol = options.atol;
  o.max_steps = 10000000;
  const ButcherTableau dop853 = named_tableau("dop853");
  ReferenceFlow r;
  r.advance = [&f, o, dop853](Mat& z, double span) {
    const Solution s = integrate_adaptive(f, dop853, z, 0.0, span, o);
    if (s.status != SolveStatus::kSuccess)
      throw std::runtime_error("reference solve failed (" + to_string(s.status) + ") during spin-up");
    z = s.z;
  };
  r.sample = [&f, o, dop853](Mat& z, double h, long num, const std::function<void(long, const Mat&)>& record) {
    const Solution sol = sample_adaptive(f, dop853, z, 0.0, h, num, o, record);
    if (sol.status != SolveStatus::kSuccess)
      throw std::runtime_error("reference solve failed (" + to_string(sol.status) + ") at t = " +
                               number_text(sol.t));
    z = sol.z;
  };
  return r;
}

// ETDRK4 on the Fourier coefficients; a sampled state is the grid function of the coefficients at that time.
ReferenceFlow etdrk4_flow(const KuramotoSivashinsky& ks, double longest_step) {
  const SemilinearTerm N = [&ks](const CVec& v, CVec& Nv) { ks.nonlinear(v, Nv); };
  auto fail = [](double t) {
    throw std::runtime_error("reference solve failed (non-finite state) at t = " + number_text(t));
  };
  ReferenceFlow r;
  r.advance = [&ks, N, longest_step, fail](Mat& z, double span) {
    const double step = etdrk4_step_dividing(span, longest_step);
    const long num_steps = std::lround(span / step);
    CVec v;
    ks.to_modes(z.col(0), v);
    if (!etdrk4_steps(etdrk4_coefficients(ks.linear_symbol(), step), N, v, num_steps)) fail(span);
    ks.to_grid(v, z.col(0));
  };
  r.sample = [&ks, N, longest_step, fail](Mat& z, double h, long num,
                                          const std::function<void(long, const Mat&)>& record) {
    const double step = etdrk4_step_dividing(h, longest_step);
    const long steps_per_sample = std::lround(h / step);
    const Etdrk4Coefficients c = etdrk4_coefficients(ks.linear_symbol(), step);
    CVec v;
    ks.to_modes(z.col(0), v);
    record(0, z);
    for (long k = 1; k < num; ++k) {
      if (!etdrk4_steps(c, N, v, steps_per_sample)) fail(k * h);
      ks.to_grid(v, z.col(0));
      record(k, z);
    }
  };
  return r;
}

Split sample_split(const ReferenceFlow& flow, int dim, Mat& z, double h, long num_samples, long& done, long total,
                   const std::function<void(long, long)>& progress) {
  Split s;
  s.t = Vec::LinSpaced(num_samples, 0.0, h * (num_samples - 1));
  Mat states(dim, num_samples);
  flow.sample(z, h, num_samples, [&](long k, const Mat& zk) {
    states.col(k) = zk;
    if (progress && (++done % 1000 == 0)) progress(done, total);
  });
  s.states.push_back(std::move(states));
  return s;
}

}  // namespace

Dataset generate(const GenerateOptions& options, const std::function<void(long, long)>& progress) {
  if (auto err = options.validation_error(); !err.empty()) throw std::invalid_argument(err);
  Dataset d;
  d.system = options.system;
  d.h = options.h;
  d.seed = options.seed;
  d.parameters = resolve_parameters(options.system, options.parameters);
  const auto f = make_system(options.system, d.parameters);
  const ReferenceFlow flow = options.system == "ks"
                                 ? etdrk4_flow(dynamic_cast<const KuramotoSivashinsky&>(*f), options.etdrk4_step)
                                 : dop853_flow(*f, options);
  Rng rng(static_cast<std::uint64_t>(options.seed));

  Mat z = options.initial_state.size() ? Mat(options.initial_state) : Mat(default_initial_state(d.system, d.parameters));
  auto advance = [&](double span) {
    if (span > 0.0) flow.advance(z, span);
  };
  advance(options.resolved_spin_up());
  const long total = options.train_steps + 1 + (options.test_steps + 1) * options.test_trajectories +
                     (options.validation_steps > 0 ? options.validation_steps + 1 : 0);
  long done = 0;
  d.train = sample_split(flow, f->dim(), z, options.h, options.train_steps + 1, done, total, progress);
  for (int j = 0; j < options.test_trajectories; ++j) {
    advance(rng.uniform(10.0, 20.0));
    Split s = sample_split(flow, f->dim(), z, options.h, options.test_steps + 1, done, total, progress);
    if (j == 0) d.test.t = s.t;
    d.test.states.push_back(std::move(s.states.front()));
  }
  if (options.noise > 0.0)
    for (Mat& m : d.train.states)
      for (double& v : m.reshaped()) v += options.noise * rng.normal();
  if (options.validation_steps > 0) {
    Rng validation_rng(static_cast<std::uint64_t>(options.seed) ^ 0x76a11da7e5ULL);
    advance(validation_rng.uniform(10.0, 20.0));
    d.validation = sample_split(flow, f->dim(), z, options.h, options.validation_steps + 1, done, total, progress);
    if (options.noise > 0.0)
      for (double& v : d.validation.states.front().reshaped()) v += options.noise * validation_rng.normal();
  }
  if (progress) progress(total, total);
  return d;
}

}  // namespace trk
