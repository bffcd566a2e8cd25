// DIR/forecast.h5 (format "trk-forecast", version 1): forecasts of a learned flow map against the test data over
// a horizon (experiment/forecast.h), written by `trk identify --forecast-steps N` (and with --evaluate), read by
// the report's forecast plots. Writer and reader side by side.
//
// Layout (C order; h5py shapes; n start states, N steps, d = dim):
//   /                attributes  format = "trk-forecast", format_version = 1, system, solver, model (strings),
//                                h (double), steps (N), dim, data (the dataset's path or label)
//   /predicted       float64 [n, N + 1, d]   predicted[j, k, :] = Psi^k(z_j), NaN once a forecast is non-finite
//   /truth           float64 [n, N + 1, d]   truth[j, k, :] = z_j(t0 + k h)   (predicted[:, 0] = truth[:, 0])
//   /lead_time       float64 [N + 1]         k h
//   /rmse            float64 [N + 1]         pooled RMSE over components and start states at lead k (NaN: some
//                                            forecast non-finite); "diverged" when non-finite or > 10
//   /num_finite      float64 [N + 1]         forecasts still finite at lead k
//   /start_time, /start_trajectory, /start_index   float64 [n]   t0, test trajectory and time index of z_j
#pragma once
#include <filesystem>
#include <string>

#include "trk/experiment/dataset.h"
#include "trk/experiment/forecast.h"

namespace trk::io {

struct ForecastFile {
  std::string system, solver, model, data;
  ForecastSummary forecast;
};

// Atomic (temporary file, then rename); the same inputs give the same bytes.
void write_forecast(const std::filesystem::path& path, const ForecastFile& f);
// Throws std::runtime_error "<file>: <object>: <what was expected>" on anything unexpected.
ForecastFile read_forecast(const std::filesystem::path& path);

// The one call of `trk identify --forecast-steps N` (training or --evaluate): forecast() of `psi` on data.test
// (every `start_every`-th start state), written to `path`; returns what it wrote.
ForecastSummary write_forecast_of(const std::filesystem::path& path, const FlowMap& psi, const Dataset& data,
                                  const std::string& data_label, int steps, int start_every = 1);

}  // namespace trk::io
