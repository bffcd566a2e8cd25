// The report's part for systems beyond Lorenz-63: scale-free tables and space-time forecast pictures.
//   highdim_table: per system, rows (h, solver) of the clean cells whose identify.json has the scale-free fields
//     (rmse_normalised, persistence), with persistence as a row of its own at each h: RMSE / sigma at t0+h and
//     t0+4h (sigma the climatological std of the training data), persistence RMSE / solver RMSE at t0+h (how far
//     below the floor), NFE per step in training (forward, mean over the main phase, divided by the rollout's
//     steps: a K-step rollout loss takes K steps of h per state) and inference, inference NFE
//     per unit time, training seconds and the run's status (budget_exceeded: training ended on its budget).
//   noise_table: per (system, h, model), rows solvers, columns the noise levels found (noise / sigma of the clean
//     signal, sigma_clean = sqrt(sigma^2 - noise^2)), cells RMSE / sigma at t0+h and t0+4h against the clean test
//     trajectory; the clean column from the cells of the same system, h, model and solver without noise.
//   spacetime_plots: per (system, h) of a field on a grid (dim >= 8) with forecast.h5 files, one picture of the
//     first start state: truth, forecast and forecast - truth against (lead time, site), for the trained solver
//     (trkQ) when there is one, else the first; non-finite forecasts blank, the error's colours clipped at the
//     truth's amplitude.
#pragma once
#include <vector>

#include "trk/report/plots.h"
#include "trk/report/results.h"
#include "trk/report/tables.h"

namespace trk::report {

// "diverged" for a forecast marked so, "-" when missing, else 3 significant digits.
std::string format_normalised(const std::optional<double>& x, bool diverged);

Table highdim_table(const Results& r);
Table noise_table(const Results& r);
std::vector<Plot> spacetime_plots(const Results& r);

}  // namespace trk::report
