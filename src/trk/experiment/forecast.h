// Forecasts of a learned flow map over a horizon: from start states of a test split, the flow map
// Psi (one step of h, identify.h's FlowMap) applied k = 1..N times, against the data N steps on:
//   predicted[k] = Psi^k(Z0),  truth[k] = z(t0 + k h),  k = 0..N (predicted[0] = truth[0] = Z0),
//   rmse(k) = sqrt(||predicted[k] - truth[k]||_F^2 / (dim n))       (pooled over components and start states)
// a lead time k being "diverged" when rmse(k) is non-finite or > 10, as identify's evaluation scores it. The
// start states are every `start_every`-th test state with N samples after it (start_every = 1 and N = 4: the
// states and the numbers of identify's t0+h and t0+4h cells, bit for bit).
// A forecast that leaves the finite numbers stays NaN from there on (the flow map is not applied to it again).
#pragma once
#include <string>
#include <vector>

#include "trk/core/types.h"
#include "trk/experiment/dataset.h"
#include "trk/experiment/identify.h"

namespace trk {

struct ForecastOptions {
  int steps = 100;       // N, the horizon in steps of h
  int start_every = 1;   // take every start_every-th candidate start state
  std::string validation_error() const;
};

struct ForecastSummary {
  double h = 0.0;
  int steps = 0;
  std::vector<int> start_trajectory, start_index;  // where each start state is: test trajectory, time index
  Vec start_time;                                  // t of each start state
  std::vector<Mat> predicted, truth;               // [k] = dim x num_starts, k = 0..steps
  Vec rmse;                                        // (steps + 1), rmse(0) = 0
  std::vector<bool> diverged;                      // per lead time
  std::vector<long> num_finite;                    // forecasts still finite at each lead time
  long nfe = 0;                                    // evaluations of f over the whole forecast
  long num_starts() const { return predicted.empty() ? 0 : predicted.front().cols(); }
};

// Throws std::invalid_argument on invalid options or when no test state has `steps` samples after it.
ForecastSummary forecast(const FlowMap& psi, const Split& test, const ForecastOptions& options);

}  // namespace trk
