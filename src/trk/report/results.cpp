#include "trk/report/results.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <array>
#include <map>
#include <stdexcept>
#include <tuple>

#include "trk/core/status.h"
#include "trk/io/json_io.h"
#include "trk/io/model_io.h"
#include "trk/io/results_io.h"

namespace trk::report {
namespace fs = std::filesystem;
using io::json;

namespace {

[[noreturn]] void fail(const fs::path& file, const std::string& field, const std::string& what) {
  throw std::invalid_argument(file.string() + ": " + field + ": " + what);
}

const json& member(const json& j, const fs::path& file, const std::string& field) {
  // field may be a dotted path ("rmse.t0+h"): the keys of these files contain no dots other than as separators.
  const json* at = &j;
  size_t start = 0;
  while (true) {
    const size_t dot = field.find('.', start);
    const std::string key = field.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!at->is_object() || !at->contains(key)) fail(file, field, "missing");
    at = &(*at)[key];
    if (dot == std::string::npos) return *at;
    start = dot + 1;
  }
}

double number(const json& j, const fs::path& file, const std::string& field) {
  const json& v = member(j, file, field);
  if (!v.is_number()) fail(file, field, "expected a number");
  return v.get<double>();
}

// A count, an RMSE, an NFE or a time: a finite number >= 0 (a negative one cannot come from a run and would
// read as better than every real one).
double amount(const json& j, const fs::path& file, const std::string& field) {
  const double v = number(j, file, field);
  if (!(v >= 0) || !std::isfinite(v))
    fail(file, field, "expected a finite number >= 0, found " + member(j, file, field).dump());
  return v;
}

std::string text(const json& j, const fs::path& file, const std::string& field) {
  const json& v = member(j, file, field);
  if (!v.is_string()) fail(file, field, "expected a string");
  return v.get<std::string>();
}

bool boolean(const json& j, const fs::path& file, const std::string& field) {
  const json& v = member(j, file, field);
  if (!v.is_boolean()) fail(file, field, "expected true or false");
  return v.get<bool>();
}

Forecast forecast(const json& j, const fs::path& file, const std::string& horizon) {
  Forecast f;
  f.diverged = boolean(j, file, "diverged." + horizon);
  const json& r = member(j, file, "rmse." + horizon);
  if (r.is_number()) {
    f.rmse = amount(j, file, "rmse." + horizon);
  } else if (!r.is_null()) {
    fail(file, "rmse." + horizon, "expected a number or null");
  }
  if (!f.rmse && !f.diverged) fail(file, "rmse." + horizon, "null, but the forecast is not marked diverged");
  return f;
}

// The number at j[keys[0]][keys[1]]..., or nothing when a key is missing or the value is not a number (null: a
// diverged forecast). For the fields newer files add.
std::optional<double> optional_number(const json& j, std::initializer_list<const char*> keys) {
  const json* at = &j;
  for (const char* k : keys) {
    if (!at->is_object() || !at->contains(k)) return std::nullopt;
    at = &(*at)[k];
  }
  if (!at->is_number()) return std::nullopt;
  const double v = at->get<double>();
  if (!(v >= 0) || !std::isfinite(v)) {
    std::string field;
    for (const char* k : keys) field += (field.empty() ? "" : ".") + std::string(k);
    throw std::invalid_argument(field + ": expected a finite number >= 0, found " + at->dump());
  }
  return v;
}

// optional_number, the error naming the file.
std::optional<double> optional_amount(const json& j, const fs::path& file, std::initializer_list<const char*> keys) {
  try {
    return optional_number(j, keys);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(file.string() + ": " + e.what());
  }
}

// identify.json: version 2 (final_loss {train, validation}, validation, restarts) reads as version 1 here.
void check_format(const json& j, const fs::path& file, const std::string& format, int newest = 1) {
  if (!j.is_object()) fail(file, "(top level)", "expected a JSON object");
  if (text(j, file, "format") != format) fail(file, "format", "expected \"" + format + "\"");
  const double v = number(j, file, "format_version");
  if (v != 1 && v != newest)
    fail(file, "format_version",
         "version " + member(j, file, "format_version").dump() + " is not supported (this trk reads 1 to " +
             std::to_string(newest) + ")");
}

IdentifyResult read_identify(const fs::path& file) {
  const json j = io::read_identify_json(file);
  check_format(j, file, "trk-identify", 2);
  IdentifyResult r;
  r.file = file;
  r.system = text(j, file, "system");
  r.model = text(j, file, "model");
  r.solver = text(j, file, "solver");
  r.status = j.contains("status") ? text(j, file, "status") : "completed";
  if (!parse_enum<RunStatus>(r.status))
    fail(file, "status", "unknown status '" + r.status + "' (" + enum_choices<RunStatus>() + ")");
  r.h = number(j, file, "h");
  if (!(r.h > 0)) fail(file, "h", "expected a positive step");
  r.at_h = forecast(j, file, "t0+h");
  r.at_4h = forecast(j, file, "t0+4h");
  if (j.contains("rmse_mean_per_state")) {
    auto mean_state = [&](const char* horizon, const Forecast& pooled) {
      Forecast f;
      f.rmse = optional_amount(j, file, {"rmse_mean_per_state", horizon});
      f.diverged = pooled.diverged || !f.rmse;
      return f;
    };
    r.mean_state_at_h = mean_state("t0+h", r.at_h);
    r.mean_state_at_4h = mean_state("t0+4h", r.at_4h);
  }
  r.test_states = static_cast<long>(amount(j, file, "test_states"));
  r.nfe_forward_mean = amount(j, file, "nfe.train_forward_per_iteration.mean");
  r.nfe_forward_last = amount(j, file, "nfe.train_forward_per_iteration.last");
  r.nfe_backward_mean = amount(j, file, "nfe.train_backward_per_iteration.mean");
  r.nfe_backward_last = amount(j, file, "nfe.train_backward_per_iteration.last");
  r.inference_nfe_per_step = amount(j, file, "nfe.inference_per_step");
  r.inference_nfe_per_unit_time = amount(j, file, "nfe.inference_per_unit_time");
  r.iterations = static_cast<long>(amount(j, file, "iterations"));
  r.train_seconds = amount(j, file, "train_seconds");
  if (j.contains("tableau")) r.tableau = io::tableau_from_json(j["tableau"], file.string() + ": tableau");
  if (r.tableau) r.tableau->name = r.solver;
  r.climatological_std = optional_amount(j, file, {"climatological_std"});
  r.normalised_at_h = optional_amount(j, file, {"rmse_normalised", "t0+h"});
  r.normalised_at_4h = optional_amount(j, file, {"rmse_normalised", "t0+4h"});
  r.persistence_at_h = optional_amount(j, file, {"persistence", "rmse_normalised", "t0+h"});
  r.persistence_at_4h = optional_amount(j, file, {"persistence", "rmse_normalised", "t0+4h"});
  r.noise = optional_amount(j, file, {"noise"}).value_or(0.0);
  r.rollout_steps = std::max(1, static_cast<int>(optional_number(j, {"configuration", "rollout_steps"}).value_or(1.0)));
  return r;
}

std::vector<FitResult> read_fit(const fs::path& file) {
  const json j = io::read_fit_json(file);
  check_format(j, file, "trk-fit");
  const std::string system = j.contains("configuration") && j["configuration"].contains("system") &&
                                     j["configuration"]["system"].is_string()
                                 ? j["configuration"]["system"].get<std::string>()
                                 : std::string("unknown");
  const json& rows = member(j, file, "rows");
  if (!rows.is_array()) fail(file, "rows", "expected an array");
  std::vector<FitResult> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    const json& row = rows[i];
    const fs::path where = file.string() + ": rows[" + std::to_string(i) + "]";
    FitResult r;
    r.file = file;
    r.system = system;
    r.scheme = text(row, where, "scheme");
    r.h = number(row, where, "h");
    r.trained = boolean(row, where, "trained");
    r.integrates = boolean(row, where, "integrates");
    r.bounded_runs = static_cast<long>(amount(row, where, "bounded_runs"));
    r.runs = static_cast<long>(amount(row, where, "runs"));
    r.worst_deviation = row.contains("worst_deviation") && row["worst_deviation"].is_number()
                            ? row["worst_deviation"].get<double>()
                            : 0.0;
    r.one_step_rmse = amount(row, where, "one_step_rmse");
    r.real_axis_interval = number(row, where, "real_axis_interval");
    r.order = static_cast<int>(amount(row, where, "order"));
    if (r.bounded_runs > r.runs) fail(where, "bounded_runs", "more than runs (" + std::to_string(r.runs) + ")");
    r.tableau = io::tableau_from_json(member(row, where, "tableau"), where.string() + ": tableau");
    r.tableau.name = r.scheme;
    out.push_back(std::move(r));
  }
  return out;
}

// The name of the folder `trk identify --out` named for this cell: DIR of DIR/h<h>/<solver>/identify.json (a config's
// grid, or --config with --h and --solver), else the identify.json's own folder (--data).
std::string run_folder_name(const IdentifyResult& r) {
  fs::path dir = fs::absolute(r.file).lexically_normal().parent_path();
  if (dir.filename() == r.solver && dir.parent_path().filename() == fmt::format("h{}", io::json(r.h).dump()))
    dir = dir.parent_path().parent_path();
  return dir.filename().string();
}

}  // namespace

int solver_rank(const std::string& solver) {
  static const std::array<const char*, 5> paper = {"sr", "euler", "rk4", "dopri8", "trk10"};
  for (size_t i = 0; i < paper.size(); ++i)
    if (solver == paper[i]) return static_cast<int>(i);
  return static_cast<int>(paper.size());
}

Results collect_results(const std::vector<fs::path>& roots) {
  std::vector<fs::path> files;
  for (const fs::path& root : roots) {
    std::error_code ec;
    if (fs::is_regular_file(root, ec)) {
      files.push_back(root);
      continue;
    }
    if (!fs::is_directory(root, ec)) throw std::invalid_argument(root.string() + ": no such folder or results file");
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (it->is_regular_file() && (name == "fit.json" || name == "identify.json")) files.push_back(it->path());
    }
    if (ec) throw std::invalid_argument(root.string() + ": cannot list (" + ec.message() + ")");
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());

  Results out;
  for (const fs::path& f : files) {
    if (f.filename() == "identify.json") {
      out.identify.push_back(read_identify(f));
    } else if (f.filename() == "fit.json") {
      for (auto& r : read_fit(f)) out.fit.push_back(std::move(r));
    } else {
      throw std::invalid_argument(f.string() + ": not a results file (expected fit.json or identify.json)");
    }
  }
  for (auto& r : out.identify) r.dataset = run_folder_name(r);
  auto ikey = [](const IdentifyResult& r) {
    return std::make_tuple(r.system, r.h, solver_rank(r.solver), r.solver, r.model, r.noise);
  };
  auto dkey = [&](const IdentifyResult& r) { return std::tuple_cat(ikey(r), std::make_tuple(r.dataset)); };
  std::stable_sort(out.identify.begin(), out.identify.end(),
                   [&](const auto& a, const auto& b) { return dkey(a) < dkey(b); });
  bool several = false;
  for (size_t i = 1; i < out.identify.size(); ++i) {
    if (dkey(out.identify[i - 1]) == dkey(out.identify[i]))
      throw std::invalid_argument(out.identify[i].file.string() + ": the same cell (" + out.identify[i].system + ", " +
                                  out.identify[i].model + ", " + out.identify[i].solver + ", h " +
                                  io::json(out.identify[i].h).dump() + ") as " + out.identify[i - 1].file.string() +
                                  "; give folders with one result per cell (datasets: run folders of different names)");
    several = several || ikey(out.identify[i - 1]) == ikey(out.identify[i]);
  }
  for (auto& r : out.identify) {
    if (several) out.datasets.push_back(r.dataset);
    else r.dataset.clear();
  }
  std::sort(out.datasets.begin(), out.datasets.end());
  out.datasets.erase(std::unique(out.datasets.begin(), out.datasets.end()), out.datasets.end());
  auto fkey = [](const FitResult& r) { return std::make_tuple(r.system, r.h, !r.trained, r.scheme); };
  std::stable_sort(out.fit.begin(), out.fit.end(), [&](const auto& a, const auto& b) { return fkey(a) < fkey(b); });
  for (size_t i = 1; i < out.fit.size(); ++i)
    if (fkey(out.fit[i - 1]) == fkey(out.fit[i]))
      throw std::invalid_argument(out.fit[i].file.string() + ": the same fit row (" + out.fit[i].scheme + ", h " +
                                  io::json(out.fit[i].h).dump() + ") as " + out.fit[i - 1].file.string() +
                                  "; give folders with one result per cell");
  return out;
}

}  // namespace trk::report
