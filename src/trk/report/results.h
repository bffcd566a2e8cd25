// Results as `report` reads them back: every fit.json and identify.json below the given folders, as typed rows.
// Nothing is re-trained; a row is what its file says.
// Datasets: the run folder of an identify cell is the folder `trk identify --out` named (DIR of
// DIR/h<h>/<solver>/identify.json, else the folder of the identify.json), and its name labels the cell's dataset.
// When one (system, model, solver, h) has cells in run folders of different names, the results hold several
// datasets (a reliability experiment: one run folder per dataset) and every cell carries its label; otherwise no
// cell does, and each cell appears once. Cells trained on noisy data (noise > 0) are cells of their own, beside
// the clean ones (not datasets).
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
  std::string dataset;  // name of the run folder when the results hold several datasets, else empty
  double h = 0.0;
  Forecast at_h, at_4h;
  // The mean over test states of each state's RMSE, the talk's caption's "mean RMSE" (identify.json's
  // rmse_mean_per_state; absent in older files); diverged with the pooled forecast.
  std::optional<Forecast> mean_state_at_h, mean_state_at_4h;
  long test_states = 0;
  double nfe_forward_mean = 0, nfe_forward_last = 0, nfe_backward_mean = 0, nfe_backward_last = 0;
  double inference_nfe_per_step = 0, inference_nfe_per_unit_time = 0;
  long iterations = 0;
  double train_seconds = 0.0;
  // Scale-free evaluation (absent in older identify.json files): the climatological std of the
  // training data, the RMSEs over it, and the persistence floor's RMSEs over it, at t0+h and t0+4h.
  std::optional<double> climatological_std;
  std::optional<double> normalised_at_h, normalised_at_4h, persistence_at_h, persistence_at_4h;
  double noise = 0.0;  // std of the observation noise of the training data (absolute units; 0: clean)
  int rollout_steps = 1;  // configuration.rollout_steps: the steps of h in one training iteration of a state
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
  std::vector<IdentifyResult> identify;  // sorted by (system, h, solver in table order, model, dataset)
  std::vector<FitResult> fit;            // sorted by (system, h, scheme)
  std::vector<std::string> datasets;     // the labels of the identify cells, sorted; empty: one dataset
};

// Walks each root (a folder, or one fit.json / identify.json) in path order. Throws std::invalid_argument naming
// the file and field on anything malformed, on a root that does not exist, and on two files for the same cell
// (the same system, model, solver, h and dataset label, i.e. run folders of the same name; or system, scheme and h).
Results collect_results(const std::vector<std::filesystem::path>& roots);

// Order of rows in tables: the paper's (sr, euler, rk4, dopri8, trk10), then any other solver by name.
int solver_rank(const std::string& solver);

}  // namespace trk::report
