// Plots of the report as gnuplot inputs: for each plot a data file (<stem>.dat, gnuplot blocks separated by two
// blank lines) and a script (<stem>.gp) that draws <stem>.svg. Rendering runs gnuplot when it is on PATH.
//   stability_*: boundary {z : |R(z)| = 1} of a trained scheme (filled) with RK4's and Euler's, z = h lambda.
//   order_residuals_*: max |Phi(t) - 1/gamma(t)| over the trees of each order, per trained scheme (log scale).
//   nfe_training: function evaluations per training iteration (forward) against the iteration.
//   loss_*: training loss per phase (continuation, main Adam phase, refinement) against the iteration, every run.
//   forecast_*, forecast_error_*: forecast against truth from one test state, and RMSE against lead time, every
//   solver at one step h (from the forecast.h5 beside each identify.json: trk identify --forecast-steps).
//   reliability_*: the RMSE of every dataset at t0+h, t0+4h (log scale), the solvers side by side at each h, with
//   the median and the talk's value (results with several datasets: reliability.h).
#pragma once
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "trk/report/results.h"

namespace trk::report {

struct Plot {
  std::string stem;    // file name without extension
  std::string title;   // for the index
  std::string data;    // contents of <stem>.dat
  std::string script;  // contents of <stem>.gp, reads <stem>.dat, writes <stem>.svg
};

// One plot per trained scheme (fit rows and identify cells with a tableau).
std::vector<Plot> stability_plots(const Results& r);
// One plot per experiment kind with trained schemes ("fit", "identify").
std::vector<Plot> order_residual_plots(const Results& r, int max_order = 8);
// NFE forward per training iteration from the model.h5 beside each identify.json that recorded it (dopri8 and
// trkQ cells); none when no history is found.
std::vector<Plot> nfe_plots(const Results& r);

// One plot per (system, h) of identify cells whose model.h5 holds loss histories (history/meet_loss, history/loss,
// history/refine_loss, history/lm_loss: the continuation, main Adam, L-BFGS and Levenberg-Marquardt phases, each
// drawn when present), and one per fit.h5
// with trained rows (<scheme>_h<h>/loss_history).
std::vector<Plot> loss_plots(const Results& r);
// Two plots per (system, h) with at least one forecast.h5: forecast_<system>_h<h> (each component against time
// from the first start state, truth and every solver) and forecast_error_<system>_h<h> (RMSE against lead time).
std::vector<Plot> forecast_plots(const Results& r);

// Two plots per system (t0+h, t0+4h) when the results hold several datasets, none otherwise.
std::vector<Plot> reliability_plots(const Results& r);

// Every string that reaches a gnuplot script goes through gnuplot_string: a single-quoted gnuplot literal (no
// backquote substitution, no escapes, no macro expansion inside it) with ' doubled and control characters
// (a newline would end the command) written as spaces. Names from results files (system, model, solver) are
// text of the plot, never commands.
std::string gnuplot_string(std::string_view text);
// A file stem from a name: characters other than letters, digits, '.' and '-' as '_'; a name longer than
// kMaxSlugLength is cut and ends with a hash of the whole name, so that stems stay distinct and file names short.
constexpr std::size_t kMaxSlugLength = 120;
std::string slug(std::string s);
// A single-quoted POSIX shell word ('\'' for each ').
std::string shell_string(std::string_view text);

// Writes <stem>.dat and <stem>.gp into dir (atomically).
void write_plot(const std::filesystem::path& dir, const Plot& p);
// Runs gnuplot on <stem>.gp in dir; <stem>.svg appears only when gnuplot succeeded. Returns false, with the
// reason in *why, when gnuplot is missing or fails.
bool render_plot(const std::filesystem::path& dir, const Plot& p, std::string* why);
bool gnuplot_available();

}  // namespace trk::report
