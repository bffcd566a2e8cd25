#include "trk/experiment/generate.h"

#include <cmath>
#include <stdexcept>

#include "trk/core/rng.h"
#include "trk/solve/integrate.h"
#include "trk/tableau/named_tableaux.h"

namespace trk {

std::string GenerateOptions::validation_error() const {
  try {
    resolve_parameters(system, parameters);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  if (!(h > 0.0) || !std::isfinite(h)) return "h must be a positive number, got " + std::to_string(h);
  if (train_steps < 1) return "train-steps must be at least 1";
  if (test_steps < 1) return "test-steps must be at least 1";
  if (test_trajectories < 1) return "test-trajectories must be at least 1";
  if (validation_steps < 0) return "validation-steps must be >= 0";
  if (!(noise >= 0.0) || !std::isfinite(noise)) return "noise must be a finite number >= 0";
  if (!std::isfinite(spin_up)) return "spin-up must be finite";
  if (!(rtol > 0.0) || !(atol > 0.0)) return "rtol and atol must be positive";
  if ((train_steps + 1.0) * h > 1e7 || (test_steps + 1.0) * test_trajectories * h > 1e7 ||
      (validation_steps + 1.0) * h > 1e7)
    return "the requested span exceeds 1e7 time units";
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
  return 0.0;
}

namespace {

Split sample_split(const VectorField& f, const ButcherTableau& dop853, const AdaptiveOptions& o, Mat& z, double h,
                   long num_samples, long& done, long total, const std::function<void(long, long)>& progress) {
  Split s;
  s.t = Vec::LinSpaced(num_samples, 0.0, h * (num_samples - 1));
  Mat states(f.dim(), num_samples);
  const Solution sol = sample_adaptive(f, dop853, z, 0.0, h, num_samples, o, [&](long k, const Mat& zk) {
    states.col(k) = zk;
    if (progress && (++done % 1000 == 0)) progress(done, total);
  });
  if (sol.status != SolveStatus::kSuccess)
    throw std::runtime_error("reference solve failed (" + to_string(sol.status) + ") at t = " +
                             std::to_string(sol.t));
  z = sol.z;
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
  const ButcherTableau dop853 = named_tableau("dop853");
  AdaptiveOptions o;
  o.control.rtol = options.rtol;
  o.control.atol = options.atol;
  o.max_steps = 10000000;
  Rng rng(static_cast<std::uint64_t>(options.seed));

  Mat z = options.initial_state.size() ? Mat(options.initial_state) : Mat(default_initial_state(d.system, d.parameters));
  auto advance = [&](double span) {
    if (span <= 0.0) return;
    const Solution s = integrate_adaptive(*f, dop853, z, 0.0, span, o);
    if (s.status != SolveStatus::kSuccess)
      throw std::runtime_error("reference solve failed (" + to_string(s.status) + ") during spin-up");
    z = s.z;
  };
  advance(options.resolved_spin_up());
  const long total = options.train_steps + 1 + (options.test_steps + 1) * options.test_trajectories +
                     (options.validation_steps > 0 ? options.validation_steps + 1 : 0);
  long done = 0;
  d.train = sample_split(*f, dop853, o, z, options.h, options.train_steps + 1, done, total, progress);
  for (int j = 0; j < options.test_trajectories; ++j) {
    advance(rng.uniform(10.0, 20.0));
    Split s = sample_split(*f, dop853, o, z, options.h, options.test_steps + 1, done, total, progress);
    if (j == 0) d.test.t = s.t;
    d.test.states.push_back(std::move(s.states.front()));
  }
  if (options.noise > 0.0)
    for (Mat& m : d.train.states)
      for (double& v : m.reshaped()) v += options.noise * rng.normal();
  if (options.validation_steps > 0) {
    Rng validation_rng(static_cast<std::uint64_t>(options.seed) ^ 0x76a11da7e5ULL);
    advance(validation_rng.uniform(10.0, 20.0));
    d.validation = sample_split(*f, dop853, o, z, options.h, options.validation_steps + 1, done, total, progress);
    if (options.noise > 0.0)
      for (double& v : d.validation.states.front().reshaped()) v += options.noise * validation_rng.normal();
  }
  if (progress) progress(total, total);
  return d;
}

}  // namespace trk
