// Tables of results: the paper's RMSE layout (rows: solvers; columns: h x {t0+h, t0+4h}), the fit verdicts
// (h x scheme), the NFE of every solver, and the order-condition residuals of every trained scheme.
// Each table comes as JSON (for tools and the regression check) and as Markdown (for people).
#pragma once
#include <optional>
#include <string>

#include "trk/io/json_io.h"
#include "trk/report/results.h"

namespace trk::report {

// The talk's table (docs/method.md: Lorenz-63, bilinear network): RMSE at t0+h and t0+4h for
// sr, euler, rk4, dopri8, trk10 at h = 0.2, 0.3, 0.4; "> 10" is a diverged cell.
std::optional<Forecast> paper_value(const std::string& system, const std::string& model, const std::string& solver,
                                    double h, int horizon_steps);

// A step as the tables and plots write it: the shortest decimal that reads back exactly ("0.2", "0.17").
std::string format_step(double h);

// "0.00213", "> 10" or "-" (missing).
std::string format_forecast(const std::optional<Forecast>& f);

// The second measure's name in the tables (IdentifyResult::mean_state_at_h).
inline constexpr const char* kMeanStateMeasure =
    "mean RMSE over the test states (the talk's caption: \"Mean Root Mean Squared Error\")";

// A name (system, solver, model, scheme, dataset) as Markdown table text: "|" escaped, line breaks as spaces, so
// that a name from a results file can neither add a column nor end the row.
std::string escape_cell(const std::string& name);

struct Table {
  io::json json;
  std::string markdown;
};

// One block per system (per system and dataset when the results hold several); the paper's value beside ours
// where it exists.
Table rmse_table(const Results& r);
// One block per system: rows h, columns schemes; a cell says integrates or not, with the bounded runs.
Table fit_table(const Results& r);
// Per identify cell: training NFE per iteration (forward mean and last, backward), inference NFE per step and
// per unit of simulated time.
Table nfe_table(const Results& r);
// Per trained scheme (fit and identify): stages, order met, max |residual| of the order conditions by order.
Table order_table(const Results& r, int max_order = 8);

}  // namespace trk::report
