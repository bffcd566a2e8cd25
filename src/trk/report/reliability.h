// The table as a distribution: one identify cell (system, model, solver, h) trained on several datasets (the run
// folders of Results::datasets), summarised per horizon k = 1, 4 over its n datasets by
//   the median and the quartiles Q1, Q3 of the RMSE at t0+kh, a diverged forecast (non-finite or > 10) as +inf;
//   the number of datasets at or under the talk's value (a diverged forecast of ours never is; when the talk's
//   diverged, every forecast of ours that did not is);
//   the number of runs that ended with a status other than "completed" (poor_fit, non_finite_loss, ...);
// by two measures of a forecast's error over the test states z_i, i = 1..N (dim d):
//   pooled RMSE  sqrt(sum_i ||e_i||^2 / (N d))   (docs/method.md),
//   mean RMSE    sum_i sqrt(||e_i||^2 / d) / N   (the talk's caption: "Mean Root Mean Squared Error"),
// the second when every dataset's identify.json has it.
// Quantiles: linear interpolation between the order statistics x_(0) <= ... <= x_(n-1) (Hyndman and Fan's type 7,
// the default of numpy and R):
//   q(p) = x_(j) + g (x_(j+1) - x_(j)),   j = floor((n - 1) p),   g = (n - 1) p - j;
// the median is q(1/2), the interquartile range [q(1/4), q(3/4)]; a quantile that interpolates towards +inf is +inf.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "trk/report/results.h"
#include "trk/report/tables.h"

namespace trk::report {

// q(p) of sorted values (ascending, +inf allowed), type 7 as above; NaN when empty.
double quantile(const std::vector<double>& sorted, double p);

struct HorizonSpread {
  std::vector<double> rmse;       // per dataset, in CellSpread::cells' order; +inf: diverged
  double median = 0, q1 = 0, q3 = 0;
  std::optional<Forecast> paper;  // the talk's cell, when there is one
  int at_or_under_paper = 0;      // meaningful only with paper
};

struct CellSpread {
  std::string system, model, solver;
  double h = 0.0;
  std::vector<const IdentifyResult*> cells;  // one per dataset, in dataset order
  HorizonSpread at_h, at_4h;                                 // pooled RMSE
  std::optional<HorizonSpread> mean_state_at_h, mean_state_at_4h;  // mean RMSE over the test states
  std::map<std::string, int> not_completed;  // status -> runs, statuses other than "completed"
  int num_not_completed() const;
};

// One per (system, model, solver, h), ordered by system, solver (table order), model, h; empty unless the results
// hold several datasets.
std::vector<CellSpread> cell_spreads(const Results& r);

// Per system: the medians in the paper's layout (rows solvers, columns h x {t0+h, t0+4h}) with the talk's value and
// the datasets at or under it, pooled and (when every cell has it) mean RMSE, then per (solver, h) the pooled
// median, [Q1, Q3], counts and runs not completed.
// Markdown says "No reliability table (one dataset)." when the results hold one dataset.
Table reliability_table(const Results& r);

}  // namespace trk::report
