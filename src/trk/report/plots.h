// Plots of the report as gnuplot inputs: for each plot a data file (<stem>.dat, gnuplot blocks separated by two
// blank lines) and a script (<stem>.gp) that draws <stem>.svg. Rendering runs gnuplot when it is on PATH.
//   stability_*: boundary {z : |R(z)| = 1} of a trained scheme (filled) with RK4's and Euler's, z = h lambda.
//   order_residuals_*: max |Phi(t) - 1/gamma(t)| over the trees of each order, per trained scheme (log scale).
//   nfe_training: function evaluations per training iteration (forward) against the iteration.
#pragma once
#include <filesystem>
#include <string>
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

// Writes <stem>.dat and <stem>.gp into dir (atomically).
void write_plot(const std::filesystem::path& dir, const Plot& p);
// Runs gnuplot on <stem>.gp in dir; <stem>.svg appears only when gnuplot succeeded. Returns false, with the
// reason in *why, when gnuplot is missing or fails.
bool render_plot(const std::filesystem::path& dir, const Plot& p, std::string* why);
bool gnuplot_available();

}  // namespace trk::report
