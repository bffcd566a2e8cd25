// The documents of trk fit, with their readers: DIR/fit.json ({"format": "trk-fit", "configuration", "rows"}) and
// its HDF5 companion DIR/fit.h5. Rows are plain objects so that `report` and other tools read them without trk.
#pragma once
#include <filesystem>
#include <functional>

#include "trk/experiment/fit.h"
#include "trk/experiment/test_equation.h"
#include "trk/io/json_io.h"

namespace trk::io {

// One row per (h, scheme): h, scheme, trained, integrates, bounded_runs, runs, worst_deviation, climatology
// {mean, std, reference_mean, reference_std}, one_step_rmse, tableau {A, b, c}, order, real_axis_interval,
// train_seconds (trained rows).
json fit_rows_to_json(const FitSummary& s);
// fit.h5: /h (steps), and per row a group "<scheme>_h<h>" with A, b, c and loss_history (trained rows).
void write_fit_h5(const std::filesystem::path& path, const FitSummary& s, const json& configuration);
// fit.h5, then fit.json, each written atomically (`between` runs between the two: a test hook).
void write_fit_results(const std::filesystem::path& dir, const FitSummary& s, const json& configuration,
                       const std::function<void()>& between = {});
// Throws std::runtime_error naming the file on one that is not a fit.json.
json read_fit_json(const std::filesystem::path& path);

// The test-equation experiment (trk fit with a "test_equation" config section): one row per (axis, order, q,
// scheme): axis, order_constraint, stages, scheme, trained, extent (largest L at which it integrates the
// spectrum), limit (null where none is known), ratio (real_axis_interval / limit on the real axis, extent / limit
// on the imaginary axis, where the criterion is |R| <= 1; null without a limit), real_axis_interval, imag_axis_interval, tableau {A, b, c}, order
// (achieved), and for trained rows extents (the continuation) and train_seconds.
json test_equation_rows_to_json(const TestEquationSummary& s);
// DIR/fit.json {"format": "trk-fit", "experiment": "test_equation", "configuration", "rows"}, written atomically.
void write_test_equation_results(const std::filesystem::path& dir, const TestEquationSummary& s,
                                 const json& configuration);

}  // namespace trk::io
