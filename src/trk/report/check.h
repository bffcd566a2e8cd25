// Regression check of results against a baseline: every RMSE cell (system, model, solver, h, horizon, and the
// dataset when the results hold several) and every fit verdict (system, h, scheme) of the baseline must be found
// again and be no worse:
//   rmse_new <= rmse_base (1 + rtol) + atol,   a cell that did not diverge must not diverge,
//   a scheme that integrated must still integrate.
// Better cells and cells absent from the baseline are listed but do not fail the check.
#pragma once
#include <string>
#include <vector>

#include "trk/report/results.h"

namespace trk::report {

struct CheckOptions {
  double rtol = 1e-6;
  double atol = 1e-12;
};

struct CheckLine {
  enum class Verdict { kSame, kWithinTolerance, kBetter, kWorse, kMissing, kNew };
  std::string cell;      // "lorenz63 bilinear trk10 h=0.2 t0+h" (+ " dataset d01"), "fit lorenz63 trk4 h=0.17"
  std::string baseline;  // as shown in the tables ("0.00213", "> 10", "yes 20/20")
  std::string current;
  Verdict verdict = Verdict::kSame;
  double relative_change = 0.0;  // RMSE cells with both values: new / base - 1
};

struct CheckReport {
  std::vector<CheckLine> lines;  // every cell, baseline order, then new cells
  int regressions() const;       // kWorse + kMissing
  // Readable diff: the cells that changed (all cells with verbose), then a one-line summary.
  std::string text(bool verbose = false) const;
};

CheckReport check_results(const Results& baseline, const Results& current, const CheckOptions& options = {});

}  // namespace trk::report
