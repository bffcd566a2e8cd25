#include "trk/experiment/forecast.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace trk {

std::string ForecastOptions::validation_error() const {
  if (steps < 1) return "forecast steps must be at least 1, got " + std::to_string(steps);
  if (start_every < 1) return "forecast start_every must be at least 1, got " + std::to_string(start_every);
  return "";
}

ForecastSummary forecast(const FlowMap& psi, const Split& test, const ForecastOptions& o) {
  if (auto e = o.validation_error(); !e.empty()) throw std::invalid_argument(e);
  const int N = o.steps;
  ForecastSummary s;
  s.h = psi.h;
  s.steps = N;
  long candidate = 0;
  std::vector<double> times;
  for (int i = 0; i < test.num_trajectories(); ++i)
    for (long k = 0; k + N < test.states[i].cols(); ++k, ++candidate)
      if (candidate % o.start_every == 0) {
        s.start_trajectory.push_back(i);
        s.start_index.push_back(static_cast<int>(k));
        times.push_back(test.t(k));
      }
  const long n = static_cast<long>(s.start_index.size());
  if (n == 0)
    throw std::invalid_argument("the test split has no state with " + std::to_string(N) +
                                " samples after it (forecast steps " + std::to_string(N) + ")");
  s.start_time = Eigen::Map<const Vec>(times.data(), n);
  const int dim = test.dim();
  s.truth.assign(N + 1, Mat(dim, n));
  for (long j = 0; j < n; ++j)
    for (int k = 0; k <= N; ++k) s.truth[k].col(j) = test.states[s.start_trajectory[j]].col(s.start_index[j] + k);
  s.predicted.assign(N + 1, Mat(dim, n));
  s.predicted[0] = s.truth[0];
  s.rmse = Vec::Zero(N + 1);
  s.diverged.assign(N + 1, false);
  s.num_finite.assign(N + 1, n);
  std::vector<Eigen::Index> alive(n);
  for (long j = 0; j < n; ++j) alive[j] = j;
  for (int k = 1; k <= N; ++k) {
    Mat& P = s.predicted[k];
    P.setConstant(std::nan(""));
    if (!alive.empty()) {
      // Apply Psi only to the forecasts that are still finite; columns in order, so that with every column
      // finite this is psi.apply on the whole batch (identify's evaluation).
      const Mat next = alive.size() == static_cast<size_t>(n)
                           ? psi.apply(s.predicted[k - 1], &s.nfe)
                           : psi.apply(s.predicted[k - 1](Eigen::all, alive), &s.nfe);
      std::vector<Eigen::Index> still;
      for (size_t c = 0; c < alive.size(); ++c) {
        P.col(alive[c]) = next.col(c);
        if (next.col(c).allFinite()) still.push_back(alive[c]);
      }
      alive.swap(still);
    }
    s.num_finite[k] = static_cast<long>(alive.size());
    s.rmse(k) = std::sqrt((P - s.truth[k]).squaredNorm() / static_cast<double>(P.size()));
    s.diverged[k] = !std::isfinite(s.rmse(k)) || s.rmse(k) > 10.0;
  }
  return s;
}

}  // namespace trk
