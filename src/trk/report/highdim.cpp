#include "trk/report/highdim.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "trk/io/forecast_io.h"
#include "trk/io/guarded_read.h"

namespace trk::report {
namespace fs = std::filesystem;
using io::json;

namespace {

std::string num(double x) { return std::isfinite(x) ? fmt::format("{:.3g}", x) : std::string("-"); }

json optional_json(const std::optional<double>& x) { return x ? json(*x) : json(nullptr); }


bool scale_free(const IdentifyResult& c) { return c.climatological_std && c.persistence_at_h && c.persistence_at_4h; }

// sigma of the clean signal: the recorded sigma holds the noise's variance too.
double noise_fraction(const IdentifyResult& c) {
  const double s = c.climatological_std.value_or(0.0);
  const double clean = std::sqrt(std::max(s * s - c.noise * c.noise, 0.0));
  return clean > 0 ? c.noise / clean : 0.0;
}

}  // namespace

std::string format_normalised(const std::optional<double>& x, bool diverged) {
  if (diverged) return "diverged";
  if (!x) return "-";
  return *x >= 1e-3 ? fmt::format("{:.3g}", *x) : fmt::format("{:.2e}", *x);
}

Table highdim_table(const Results& r) {
  Table t;
  t.json = {{"format", "trk-highdim-table"}, {"format_version", 1}, {"tables", json::array()}};
  std::map<std::string, std::vector<const IdentifyResult*>> by_system;
  for (const auto& c : r.identify)
    if (scale_free(c) && c.noise == 0.0 && c.dataset.empty()) by_system[c.system].push_back(&c);
  for (const auto& [system, cells] : by_system) {
    std::set<std::string> models;
    for (const auto* c : cells) models.insert(c->model);
    std::string model_list;
    for (const auto& m : models) model_list += (model_list.empty() ? "" : ", ") + m;
    json block = {{"system", system}, {"rows", json::array()}};
    std::string md = fmt::format(
        "### {} ({} model{}; sigma = {:.3g}, the climatological std of the training data)\n\n"
        "| h | solver | RMSE/sigma t0+h | RMSE/sigma t0+4h | persistence / solver at t0+h | NFE per step, training | "
        "NFE per step, inference | NFE per unit time | train s | status |\n|---|---|---|---|---|---|---|---|---|---|\n",
        escape_cell(system), escape_cell(model_list), models.size() > 1 ? "s" : "", *cells.front()->climatological_std);
    std::set<double> steps;
    for (const auto* c : cells) steps.insert(c->h);
    for (double h : steps) {
      const IdentifyResult* floor = nullptr;
      for (const auto* c : cells) {
        if (c->h != h) continue;
        floor = floor ? floor : c;
        const double ratio = c->at_h.diverged || !c->normalised_at_h || !(*c->normalised_at_h > 0)
                                 ? NAN
                                 : *c->persistence_at_h / *c->normalised_at_h;
        const std::string solver = escape_cell(models.size() > 1 ? c->solver + " (" + c->model + ")" : c->solver);
        md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {:.0f} | {} |\n", format_step(h), solver,
                          format_normalised(c->normalised_at_h, c->at_h.diverged),
                          format_normalised(c->normalised_at_4h, c->at_4h.diverged),
                          std::isfinite(ratio) ? num(ratio) + "x" : std::string("-"), num(c->nfe_forward_mean / c->rollout_steps),
                          num(c->inference_nfe_per_step), num(c->inference_nfe_per_unit_time), c->train_seconds,
                          escape_cell(c->status));
        block["rows"].push_back({{"h", h},
                                 {"solver", c->solver},
                                 {"model", c->model},
                                 {"status", c->status},
                                 {"rmse_normalised", {{"t0+h", optional_json(c->at_h.diverged ? std::nullopt : c->normalised_at_h)},
                                                      {"t0+4h", optional_json(c->at_4h.diverged ? std::nullopt : c->normalised_at_4h)}}},
                                 {"diverged", {{"t0+h", c->at_h.diverged}, {"t0+4h", c->at_4h.diverged}}},
                                 {"persistence_over_solver_t0+h", std::isfinite(ratio) ? json(ratio) : json(nullptr)},
                                 {"nfe_per_step_train", c->nfe_forward_mean / c->rollout_steps},
                                 {"nfe_per_step_inference", c->inference_nfe_per_step},
                                 {"nfe_per_unit_time", c->inference_nfe_per_unit_time},
                                 {"train_seconds", c->train_seconds},
                                 {"source", c->file.string()}});
      }
      // The floor, on the same test states as every cell of this step.
      md += fmt::format("| {} | *persistence* | {} | {} | 1x | 0 | 0 | 0 | 0 | - |\n", format_step(h),
                        format_normalised(floor->persistence_at_h, false), format_normalised(floor->persistence_at_4h, false));
      block["rows"].push_back({{"h", h},
                               {"solver", "persistence"},
                               {"rmse_normalised", {{"t0+h", *floor->persistence_at_h}, {"t0+4h", *floor->persistence_at_4h}}}});
    }
    block["climatological_std"] = *cells.front()->climatological_std;
    t.json["tables"].push_back(block);
    t.markdown += md + "\n";
  }
  if (by_system.empty()) t.markdown = "No identify.json with normalised RMSEs found.\n";
  return t;
}

Table noise_table(const Results& r) {
  Table t;
  t.json = {{"format", "trk-noise-table"}, {"format_version", 1}, {"tables", json::array()}};
  using Key = std::tuple<std::string, double, std::string>;  // system, h, model
  std::map<Key, std::vector<const IdentifyResult*>> groups;
  std::set<Key> noisy;
  for (const auto& c : r.identify)
    if (scale_free(c) && c.dataset.empty()) {
      groups[{c.system, c.h, c.model}].push_back(&c);
      if (c.noise > 0) noisy.insert({c.system, c.h, c.model});
    }
  for (const Key& key : noisy) {
    const auto& cells = groups[key];
    const auto& [system, h, model] = key;
    std::set<double> levels;  // noise / sigma, rounded to 3 digits so that one column holds one level
    std::vector<std::string> solvers;
    for (const auto* c : cells) {
      levels.insert(std::round(noise_fraction(*c) * 1000.0) / 1000.0);
      if (std::find(solvers.begin(), solvers.end(), c->solver) == solvers.end()) solvers.push_back(c->solver);
    }
    std::stable_sort(solvers.begin(), solvers.end(), [](const auto& a, const auto& b) {
      return std::make_tuple(solver_rank(a), a) < std::make_tuple(solver_rank(b), b);
    });
    json block = {{"system", system}, {"h", h}, {"model", model}, {"noise_over_sigma", std::vector<double>(levels.begin(), levels.end())},
                  {"rows", json::array()}};
    std::string md = fmt::format("### {} at h = {} ({} model): RMSE/sigma against the clean test trajectory, t0+h / t0+4h\n\n| solver |",
                                 escape_cell(system), format_step(h), escape_cell(model));
    std::string rule = "|---|";
    for (double level : levels) {
      md += fmt::format(" noise {:.3g}% of sigma |", 100.0 * level);
      rule += "---|";
    }
    md += "\n" + rule + "\n";
    for (const auto& solver : solvers) {
      md += "| " + escape_cell(solver) + " |";
      json row = {{"solver", solver}, {"cells", json::array()}};
      for (double level : levels) {
        const IdentifyResult* c = nullptr;
        for (const auto* x : cells)
          if (x->solver == solver && std::round(noise_fraction(*x) * 1000.0) / 1000.0 == level) c = x;
        if (!c) {
          md += " - |";
          row["cells"].push_back(nullptr);
          continue;
        }
        md += fmt::format(" {} / {}{} |", format_normalised(c->normalised_at_h, c->at_h.diverged),
                          format_normalised(c->normalised_at_4h, c->at_4h.diverged),
                          c->status == "completed" ? "" : " (" + escape_cell(c->status) + ")");
        row["cells"].push_back({{"noise", c->noise},
                                {"noise_over_sigma", level},
                                {"rmse_normalised", {{"t0+h", optional_json(c->at_h.diverged ? std::nullopt : c->normalised_at_h)},
                                                     {"t0+4h", optional_json(c->at_4h.diverged ? std::nullopt : c->normalised_at_4h)}}},
                                {"status", c->status},
                                {"source", c->file.string()}});
      }
      md += "\n";
      block["rows"].push_back(row);
    }
    const IdentifyResult* any = cells.front();
    md += fmt::format("| *persistence* | {} / {} (clean test) |\n", format_normalised(any->persistence_at_h, false),
                      format_normalised(any->persistence_at_4h, false));
    t.json["tables"].push_back(block);
    t.markdown += md + "\n";
  }
  if (noisy.empty()) t.markdown = "No identify.json of noisy data found.\n";
  return t;
}

std::vector<Plot> spacetime_plots(const Results& r) {
  std::map<std::pair<std::string, double>, const IdentifyResult*> chosen;
  for (const auto& c : r.identify) {
    if (c.noise > 0 || !c.dataset.empty()) continue;
    std::error_code ec;
    if (!fs::is_regular_file(c.file.parent_path() / "forecast.h5", ec)) continue;
    const IdentifyResult*& slot = chosen[{c.system, c.h}];
    const bool trained = c.solver.rfind("trk", 0) == 0;
    if (!slot || (trained && slot->solver.rfind("trk", 0) != 0)) slot = &c;
  }
  std::vector<Plot> plots;
  for (const auto& [key, cell] : chosen) {
    io::ForecastFile file;
    try {
      const fs::path path = cell->file.parent_path() / "forecast.h5";
      file = io::read_hdf5_guarded(path.string(), "a forecast.h5 of trk identify", [&] { return io::read_forecast(path); });
    } catch (const std::exception&) {
      continue;
    }
    const ForecastSummary& s = file.forecast;
    if (s.truth.empty() || s.truth[0].rows() < 8 || s.num_starts() < 1) continue;
    const int dim = static_cast<int>(s.truth[0].rows());
    const std::string step = format_step(key.second);
    Plot p;
    p.stem = slug("spacetime_" + key.first + "_h" + step);
    p.title = fmt::format("Space-time forecast of {} from one test state, h = {}: truth, {} forecast, error",
                          key.first, step, cell->solver);
    double lo = s.truth[0](0, 0), hi = lo, err = 0;
    std::string blocks[3];
    for (int k = 0; k <= s.steps; ++k) {
      for (int i = 0; i < dim; ++i) {
        const double truth = s.truth[k](i, 0), forecast = s.predicted[k](i, 0);
        lo = std::min(lo, truth), hi = std::max(hi, truth);
        const bool finite = std::isfinite(forecast) && std::abs(forecast) < 1e6;
        if (finite) err = std::max(err, std::abs(forecast - truth));
        blocks[0] += fmt::format("{:.6g} {} {:.6g}\n", k * s.h, i + 1, truth);
        // NaN, not a missing value: `with image` needs every point of the grid (NaN is drawn blank).
        blocks[1] += fmt::format("{:.6g} {} {}\n", k * s.h, i + 1, finite ? fmt::format("{:.6g}", forecast) : "NaN");
        blocks[2] += fmt::format("{:.6g} {} {}\n", k * s.h, i + 1, finite ? fmt::format("{:.6g}", forecast - truth) : "NaN");
      }
      for (auto& b : blocks) b += "\n";
    }
    p.data = blocks[0] + "\n" + blocks[1] + "\n" + blocks[2];
    // The error's colour range: at most the truth's amplitude, so that a forecast blowing up late leaves its early
    // error visible (larger errors saturate).
    err = std::min(err, std::max(std::abs(lo), std::abs(hi)));
    if (!(err > 0)) err = 1e-12;
    const char* names[3] = {"truth", "forecast", "forecast - truth"};
    std::string panels;
    for (int b = 0; b < 3; ++b) {
      panels += b < 2 ? fmt::format("set cbrange [{:.6g}:{:.6g}]\nset palette defined (0 '#313695', 0.5 '#ffffbf', 1 '#a50026')\n", lo, hi)
                      : fmt::format("set cbrange [{:.6g}:{:.6g}]\nset palette defined (0 '#2166ac', 0.5 '#f7f7f7', 1 '#b2182b')\n", -err, err);
      panels += fmt::format("set title {} noenhanced\n{}plot '{}.dat' index {} using 1:2:3 with image notitle\n", gnuplot_string(names[b]),
                            b == 2 ? "set xlabel 'lead time'\n" : "unset xlabel\n", p.stem, b);
    }
    p.script = "set encoding utf8\n"
               "set terminal svg size 760,820 dynamic enhanced font 'Helvetica,13' background '#ffffff'\n" +
               fmt::format("set output '{0}.svg.tmp'\nset ylabel 'site'\nset yrange [0.5:{1}.5]\nset xrange [0:{2:.6g}]\n"
                           "set multiplot layout 3,1 title {3} noenhanced\n",
                           p.stem, dim, s.steps * s.h, gnuplot_string(p.title)) +
               panels + "unset multiplot\n";
    plots.push_back(std::move(p));
  }
  return plots;
}

}  // namespace trk::report
