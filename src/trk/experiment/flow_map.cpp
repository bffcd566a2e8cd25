#include "trk/experiment/flow_map.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "trk/solve/rk_step.h"

namespace trk {

Mat FlowMap::apply(const ConstMatRef& Z, long* nfe) const {
  Mat out(Z.rows(), Z.cols());
  if (solver.fixed_step()) {
    if (substeps < 1)
      throw std::invalid_argument("a flow map takes at least 1 sub-step, got " + std::to_string(substeps));
    CountedField cf(*field);
    StageTape tape;
    if (substeps == 1) {
      rk_step(cf, tableau, h, Z, out, tape);
    } else {
      const double dt = h / substeps;
      Mat from = Z;
      for (int k = 0; k < substeps; ++k) {
        rk_step(cf, tableau, dt, from, out, tape);
        if (k + 1 < substeps) from.swap(out);
      }
    }
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

namespace {
ForecastScore score(const Mat& forecast, const Mat& truth) {
  ForecastScore s;
  s.rmse = std::sqrt((forecast - truth).squaredNorm() / static_cast<double>(forecast.size()));
  s.mean_state_rmse = ((forecast - truth).colwise().squaredNorm() / static_cast<double>(forecast.rows()))
                          .array()
                          .sqrt()
                          .mean();
  s.diverged = !std::isfinite(s.rmse) || s.rmse > 10.0;
  return s;
}
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
  e.persistence_at_h = score(p.Z0, p.targets[0]);
  e.persistence_at_4h = score(p.Z0, p.targets[3]);
  return e;
}

double climatological_std(const Split& split) {
  const Eigen::Index dim = split.dim();
  long n = 0;
  Vec sum = Vec::Zero(dim), sum_sq = Vec::Zero(dim);
  for (const Mat& tr : split.states) {
    n += tr.cols();
    sum += tr.rowwise().sum();
    sum_sq += tr.array().square().rowwise().sum().matrix();
  }
  if (n < 2) return 0.0;
  const Vec mean = sum / static_cast<double>(n);
  const Vec var = (sum_sq / static_cast<double>(n) - mean.cwiseProduct(mean)).cwiseMax(0.0);
  const double s = std::sqrt(var.mean());
  return s > 0 ? s : 0.0;  // never -0.0 (the sqrt of a variance rounded to -0.0 on denormal data)
}

}  // namespace trk
