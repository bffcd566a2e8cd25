#include "trk/experiment/integrates.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "trk/solve/integrate.h"
#include "trk/solve/rk_step.h"
#include "trk/tableau/named_tableaux.h"

namespace trk {

std::string IntegratesOptions::validation_error() const {
  if (!(duration > 0) || !std::isfinite(duration)) return "duration must be positive";
  if (!(transient >= 0) || transient >= duration) return "transient must be in [0, duration)";
  if (!(bound > 0)) return "bound must be positive";
  if (!(tolerance > 0)) return "tolerance must be positive";
  return "";
}

namespace {

// Running sums of z and z^2 per component over the kept samples of the bounded runs.
struct Moments {
  Vec s1, s2;
  long count = 0;
  explicit Moments(int dim) : s1(Vec::Zero(dim)), s2(Vec::Zero(dim)) {}
  void add(const ConstMatRef& Z, const std::vector<char>& keep) {
    for (Eigen::Index j = 0; j < Z.cols(); ++j)
      if (keep[j]) {
        s1 += Z.col(j);
        s2 += Z.col(j).cwiseAbs2();
        ++count;
      }
  }
  Climatology climatology() const {
    Climatology c;
    c.mean = s1 / count;
    c.std = (s2 / count - c.mean.cwiseAbs2()).cwiseMax(0.0).cwiseSqrt();
    return c;
  }
};

}  // namespace

Climatology reference_climatology(const VectorField& f, const ConstMatRef& Z0, const IntegratesOptions& o) {
  AdaptiveOptions a;
  a.control.rtol = a.control.atol = 1e-9;
  a.max_steps = 1000000;
  const double dt = 0.05;
  const long n = static_cast<long>(std::llround(o.duration / dt)) + 1;
  Moments m(f.dim());
  const std::vector<char> all(Z0.cols(), 1);
  const Solution s = sample_adaptive(f, named_tableau("dop853"), Z0, 0.0, dt, n, a, [&](long k, const Mat& Z) {
    if (k * dt >= o.transient) m.add(Z, all);
  });
  if (s.status != SolveStatus::kSuccess)
    throw std::runtime_error("reference climatology: solve failed (" + to_string(s.status) + ")");
  return m.climatology();
}

IntegratesSummary judge_integrates(const VectorField& f, const ButcherTableau& scheme, double h,
                                   const ConstMatRef& Z0, const Climatology& reference, const IntegratesOptions& o) {
  const Eigen::Index runs = Z0.cols();
  CountedField cf(f);
  StageTape tape;
  Mat Z = Z0, Zn(Z0.rows(), runs);
  std::vector<char> bounded(runs, 1);
  Moments m(f.dim());
  const long steps = static_cast<long>(std::ceil(o.duration / h - 1e-9));
  for (long s = 1; s <= steps; ++s) {
    rk_step(cf, scheme, h, Z, Zn, tape);
    Z.swap(Zn);
    for (Eigen::Index j = 0; j < runs; ++j) {
      if (!bounded[j]) continue;
      const double zmax = Z.col(j).cwiseAbs().maxCoeff();
      if (!(zmax < o.bound)) {  // also catches NaN
        bounded[j] = 0;
        Z.col(j).setZero();  // a fixed point of no harm; the run is out
      }
    }
    if (s * h >= o.transient) m.add(Z, bounded);
  }
  IntegratesSummary out;
  out.runs = static_cast<int>(runs);
  for (char b : bounded) out.bounded_runs += b;
  if (out.bounded_runs == 0 || m.count == 0) {
    out.worst_deviation = std::numeric_limits<double>::infinity();
    return out;
  }
  out.climatology = m.climatology();
  const Vec dev_mean = (out.climatology.mean - reference.mean).cwiseAbs().cwiseQuotient(reference.std);
  const Vec dev_std = (out.climatology.std - reference.std).cwiseAbs().cwiseQuotient(reference.std);
  out.worst_deviation = std::max(dev_mean.maxCoeff(), dev_std.maxCoeff());
  out.integrates = out.bounded_runs == out.runs && out.worst_deviation <= o.tolerance;
  return out;
}

}  // namespace trk
