// Results as `report` reads them back: every fit.json and identify.json below the given folders, as typed rows.
// Nothing is re-trained; a row is what its file says.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "trk/tableau/butcher_tableau.h"

namespace trk::report {

// One forecast cell: RMSE of Psi^k(z) against z(t0 + k h), or diverged (non-finite or RMSE > 10).
struct Forecast {
  std::optional<double> rmse;  // absent when the forecast went non-finite
  bool diverged = false;
};

struct IdentifyResult {
  std::filesystem::path file;  // the identify.json it came from
  std::string system, model, solver, status;
  double h = 0.0;
  Forecast at_h, at_4h;
  long test_states = 0;
  double nfe_forward_mean = 0, nfe_forward_last = 0, nfe_backward_mean = 0, nfe_backward_last = 0;
  double inference_nfe_per_step = 0, inference_nfe_per_unit_time = 0;
  long iterations = 0;
  double train_seconds = 0.0;
  std::optional<ButcherTableau> tableau;  // the scheme of fixed-step solvers (euler, rk4, trkQ)
  bool trained_scheme() const { return tableau && solver.rfind("trk", 0) == 0; }
};

struct FitResult {
  std::filesystem::path file;  // the fit.json it came from
  std::string system, scheme;
  double h = 0.0;
  bool trained = false, integrates = false;
  long bounded_runs = 0, runs = 0;
  double worst_deviation = 0.0, one_step_rmse = 0.0, real_axis_interval = 0.0;
  int order = 0;
  ButcherTableau tableau;
};

struct Results {
  std::vector<IdentifyResult> identify;  // sorted by (system, h, solver in table order, model)
  std::vector<FitResult> fit;            // sorted by (system, h, scheme)
};

// Walks each root (a folder, or one fit.json / identify.json) in path order. Throws std::invalid_argument naming
// the file and field on anything malformed, on a root that does not exist, and on two files for the same cell
// (the same system, model, solver and h; or system, scheme and h).
Results collect_results(const std::vector<std::filesystem::path>& roots);

// Order of rows in tables: the paper's (sr, euler, rk4, dopri8, trk10), then any other solver by name.
int solver_rank(const std::string& solver);

}  // namespace trk::report
