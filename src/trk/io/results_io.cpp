#include "trk/io/results_io.h"

#include <cmath>
#include <fmt/core.h>

#include "trk/io/atomic_file.h"
#include "trk/io/hdf5_util.h"

namespace trk::io {

namespace {
json number_or_null(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }
}  // namespace

json fit_rows_to_json(const FitSummary& s) {
  json rows = json::array();
  for (const FitRow& r : s.rows) {
    json clim = {{"reference_mean", to_json(s.reference.mean)}, {"reference_std", to_json(s.reference.std)}};
    if (r.verdict.climatology.mean.size()) {
      clim["mean"] = to_json(r.verdict.climatology.mean);
      clim["std"] = to_json(r.verdict.climatology.std);
    } else {
      clim["mean"] = nullptr;
      clim["std"] = nullptr;
    }
    json row = {{"h", r.h},
                {"scheme", r.scheme},
                {"trained", r.trained},
                {"integrates", r.verdict.integrates},
                {"bounded_runs", r.verdict.bounded_runs},
                {"runs", r.verdict.runs},
                {"worst_deviation", number_or_null(r.verdict.worst_deviation)},
                {"climatology", clim},
                {"one_step_rmse", number_or_null(r.one_step_rmse)},
                {"tableau", {{"A", to_json(r.tableau.A)}, {"b", to_json(r.tableau.b)}, {"c", to_json(r.tableau.c)}}},
                {"order", r.order},
                {"real_axis_interval", number_or_null(r.real_axis_interval)}};
    if (r.trained) {
      row["train_seconds"] = r.train_seconds;
      row["iterations"] = r.loss_history.size();
      row["final_loss"] = r.loss_history.empty() ? json(nullptr) : number_or_null(r.loss_history.back());
      row["status"] = to_string(r.status);
      row["learning_rate_halvings"] = r.learning_rate_halvings;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

void write_fit_h5(const std::filesystem::path& path, const FitSummary& s, const json& configuration) {
  h5::write_file_atomic(path, [&](h5::Group& root) {
    root.write_string_attribute("format", "trk-fit");
    root.write_int_attribute("format_version", 1);
    root.write_string_attribute("configuration", configuration.dump());
    root.write_vector("reference_mean", s.reference.mean);
    root.write_vector("reference_std", s.reference.std);
    for (const FitRow& r : s.rows) {
      h5::Group g = root.create_group(fmt::format("{}_h{}", r.scheme, r.h));
      g.write_double_attribute("h", r.h);
      g.write_string_attribute("scheme", r.scheme);
      g.write_matrix("A", r.tableau.A);
      g.write_vector("b", r.tableau.b);
      g.write_vector("c", r.tableau.c);
      if (r.trained) g.write_vector("loss_history", Eigen::Map<const Vec>(r.loss_history.data(), r.loss_history.size()));
    }
  });
}

void write_fit_results(const std::filesystem::path& dir, const FitSummary& s, const json& configuration,
                       const std::function<void()>& between) {
  ensure_writable_directory(dir);
  write_fit_h5(dir / "fit.h5", s, configuration);
  if (between) between();
  write_json_atomic(dir / "fit.json", {{"format", "trk-fit"},
                                       {"format_version", 1},
                                       {"configuration", configuration},
                                       {"rows", fit_rows_to_json(s)}});
}

static double test_equation_ratio(const TestEquationRow& r) {
  if (!(r.limit > 0)) return NAN;
  if (r.axis == TestAxis::kReal) return r.real_axis_interval / r.limit;
  return r.axis == TestAxis::kImaginary ? r.extent / r.limit : NAN;
}

json test_equation_rows_to_json(const TestEquationSummary& s) {
  json rows = json::array();
  for (const TestEquationRow& r : s.rows) {
    json row = {{"axis", to_string(r.axis)},
                {"order_constraint", r.order},
                {"stages", r.stages},
                {"scheme", r.scheme},
                {"trained", r.trained},
                {"extent", number_or_null(r.extent)},
                {"limit", r.limit > 0 ? json(r.limit) : json(nullptr)},
                {"ratio", number_or_null(test_equation_ratio(r))},
                {"real_axis_interval", number_or_null(r.real_axis_interval)},
                {"imag_axis_interval", number_or_null(r.imag_axis_interval)},
                {"tableau", {{"A", to_json(r.tableau.A)}, {"b", to_json(r.tableau.b)}, {"c", to_json(r.tableau.c)}}},
                {"order", r.achieved_order}};
    if (r.trained) {
      row["extents"] = r.extents;
      row["train_seconds"] = r.train_seconds;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

void write_test_equation_results(const std::filesystem::path& dir, const TestEquationSummary& s,
                                 const json& configuration) {
  ensure_writable_directory(dir);
  write_json_atomic(dir / "fit.json", {{"format", "trk-fit"},
                                       {"format_version", 1},
                                       {"experiment", "test_equation"},
                                       {"configuration", configuration},
                                       {"rows", test_equation_rows_to_json(s)}});
}

json read_fit_json(const std::filesystem::path& path) {
  const json j = read_json_file(path);
  if (!j.is_object() || !j.contains("rows") || !j["rows"].is_array() ||
      (j.contains("format") && j["format"] != "trk-fit"))
    throw std::runtime_error(path.string() + ": expected a fit.json of trk fit (\"format\": \"trk-fit\", \"rows\")");
  return j;
}

}  // namespace trk::io
