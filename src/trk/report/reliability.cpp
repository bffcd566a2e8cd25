#include "trk/report/reliability.h"

#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

namespace trk::report {
using io::json;

namespace {

constexpr const char* kHorizons[] = {"t0+h", "t0+4h"};

// +inf for a diverged forecast ("> 10" in the tables).
double value(const Forecast& f) {
  if (f.diverged || !f.rmse || !std::isfinite(*f.rmse) || *f.rmse > 10) return INFINITY;
  return *f.rmse;
}

// The forecast of a cell at a horizon: pooled RMSE, or mean RMSE over the test states (nullopt when absent).
using Measure = std::optional<Forecast> (*)(const IdentifyResult&, int horizon_steps);
std::optional<Forecast> pooled(const IdentifyResult& c, int k) { return k == 1 ? c.at_h : c.at_4h; }
std::optional<Forecast> mean_state(const IdentifyResult& c, int k) {
  return k == 1 ? c.mean_state_at_h : c.mean_state_at_4h;
}

// nullopt when a cell lacks the measure.
std::optional<HorizonSpread> spread(const std::vector<const IdentifyResult*>& cells, const CellSpread& key,
                                    int horizon_steps, Measure measure) {
  HorizonSpread s;
  for (const auto* c : cells) {
    const std::optional<Forecast> f = measure(*c, horizon_steps);
    if (!f) return std::nullopt;
    s.rmse.push_back(value(*f));
  }
  std::vector<double> sorted = s.rmse;
  std::sort(sorted.begin(), sorted.end());
  s.median = quantile(sorted, 0.5);
  s.q1 = quantile(sorted, 0.25);
  s.q3 = quantile(sorted, 0.75);
  s.paper = paper_value(key.system, key.model, key.solver, key.h, horizon_steps);
  if (s.paper) {
    const double theirs = value(*s.paper);
    s.at_or_under_paper = static_cast<int>(
        std::count_if(s.rmse.begin(), s.rmse.end(), [&](double x) { return std::isfinite(x) && x <= theirs; }));
  }
  return s;
}

// "0.00213", "1.53e-07" or "> 10" (+inf).
std::string format_rmse(double x) {
  Forecast f;
  if (std::isfinite(x)) f.rmse = x;
  else f.diverged = true;
  return format_forecast(f);
}

json number_or_null(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

std::string count_at_or_under(const HorizonSpread& s, bool with_value) {
  if (!s.paper) return "-";
  const std::string n = fmt::format("{}/{}", s.at_or_under_paper, s.rmse.size());
  return with_value ? n + " (" + format_forecast(s.paper) + ")" : n;
}

json spread_json(const HorizonSpread& s) {
  json h = {{"rmse", json::array()},
            {"median", number_or_null(s.median)},
            {"q1", number_or_null(s.q1)},
            {"q3", number_or_null(s.q3)},
            {"paper", nullptr},
            {"at_or_under_paper", nullptr}};
  for (double x : s.rmse) h["rmse"].push_back(number_or_null(x));
  if (s.paper) {
    h["paper"] = {{"rmse", s.paper->rmse ? json(*s.paper->rmse) : json(nullptr)}, {"diverged", s.paper->diverged}};
    h["at_or_under_paper"] = s.at_or_under_paper;
  }
  return h;
}

std::string not_completed_text(const CellSpread& c) {
  if (c.not_completed.empty()) return "0";
  std::string out = std::to_string(c.num_not_completed()) + " (";
  bool first = true;
  for (const auto& [status, n] : c.not_completed) {
    out += (first ? "" : ", ") + escape_cell(status) + " " + std::to_string(n);
    first = false;
  }
  return out + ")";
}

}  // namespace

double quantile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return NAN;
  const double pos = (sorted.size() - 1) * p;
  const size_t j = static_cast<size_t>(std::floor(pos));
  const double g = pos - j;
  if (g == 0 || j + 1 >= sorted.size()) return sorted[j];
  if (std::isinf(sorted[j + 1])) return sorted[j + 1];
  return sorted[j] + g * (sorted[j + 1] - sorted[j]);
}

int CellSpread::num_not_completed() const {
  int n = 0;
  for (const auto& [status, k] : not_completed) n += k;
  return n;
}

std::vector<CellSpread> cell_spreads(const Results& r) {
  std::vector<CellSpread> out;
  if (r.datasets.empty()) return out;
  auto key = [](const IdentifyResult& c) {
    return std::make_tuple(c.system, solver_rank(c.solver), c.solver, c.model, c.h);
  };
  std::vector<const IdentifyResult*> cells;
  for (const auto& c : r.identify) cells.push_back(&c);
  std::stable_sort(cells.begin(), cells.end(), [&](const auto* a, const auto* b) {
    return std::tuple_cat(key(*a), std::make_tuple(a->dataset)) < std::tuple_cat(key(*b), std::make_tuple(b->dataset));
  });
  for (size_t i = 0; i < cells.size();) {
    size_t end = i;
    while (end < cells.size() && key(*cells[end]) == key(*cells[i])) ++end;
    CellSpread s;
    s.system = cells[i]->system;
    s.model = cells[i]->model;
    s.solver = cells[i]->solver;
    s.h = cells[i]->h;
    s.cells.assign(cells.begin() + i, cells.begin() + end);
    for (const auto* c : s.cells)
      if (c->status != "completed") ++s.not_completed[c->status];
    s.at_h = *spread(s.cells, s, 1, pooled);
    s.at_4h = *spread(s.cells, s, 4, pooled);
    s.mean_state_at_h = spread(s.cells, s, 1, mean_state);
    s.mean_state_at_4h = spread(s.cells, s, 4, mean_state);
    out.push_back(std::move(s));
    i = end;
  }
  return out;
}

Table reliability_table(const Results& r) {
  Table t;
  t.json = {{"format", "trk-reliability-table"},
            {"format_version", 1},
            {"quantiles", "linear interpolation between order statistics (Hyndman and Fan type 7, numpy's default)"},
            {"diverged", "a forecast with RMSE > 10 or non-finite counts as +inf (null here)"},
            {"datasets", r.datasets},
            {"cells", json::array()}};
  const std::vector<CellSpread> spreads = cell_spreads(r);
  if (spreads.empty()) {
    t.markdown = "No reliability table (one dataset).\n";
    return t;
  }
  for (const CellSpread& c : spreads) {
    json cell = {{"system", c.system}, {"model", c.model}, {"solver", c.solver}, {"h", c.h},
                 {"datasets", json::array()}, {"sources", json::array()}, {"status", json::array()},
                 {"not_completed", c.num_not_completed()}};
    for (const auto* x : c.cells) {
      cell["datasets"].push_back(x->dataset);
      cell["sources"].push_back(x->file.string());
      cell["status"].push_back(x->status);
    }
    for (int k : {0, 1}) cell[kHorizons[k]] = spread_json(k == 0 ? c.at_h : c.at_4h);
    cell["mean_per_state"] = nullptr;
    if (c.mean_state_at_h)
      cell["mean_per_state"] = {{kHorizons[0], spread_json(*c.mean_state_at_h)},
                                {kHorizons[1], spread_json(*c.mean_state_at_4h)}};
    t.json["cells"].push_back(cell);
  }

  t.markdown = fmt::format(
      "Over {} datasets ({}). The median of the RMSE over a cell's datasets and its interquartile range [Q1, Q3] "
      "(quantiles by linear interpolation between order statistics: Hyndman and Fan's type 7, numpy's default); "
      "a diverged forecast (\"> 10\": RMSE > 10 or non-finite) counts as +inf. \"at or under the talk's\": "
      "datasets whose RMSE is at or under the talk's value (a diverged forecast never is; when the talk's "
      "diverged, every forecast that did not is). Two measures over the N test states: pooled RMSE "
      "sqrt(sum_i ||e_i||^2 / (N d)), and mean RMSE sum_i sqrt(||e_i||^2 / d) / N (smaller: a few far-off "
      "forecasts weigh less); the talk's caption says \"Mean Root Mean Squared Error\". The per-step table is "
      "pooled.\n\n",
      r.datasets.size(), escape_cell(fmt::format("{}", fmt::join(r.datasets, ", "))));
  std::map<std::string, std::vector<const CellSpread*>> by_system;
  for (const auto& c : spreads) by_system[c.system].push_back(&c);
  for (const auto& [system, cells] : by_system) {
    std::map<std::string, int> model_count;  // the block's model: the most common one outside sr, as rmse_table
    for (const auto* c : cells)
      if (c->solver != "sr") model_count[c->model] += static_cast<int>(c->cells.size());
    std::string main_model = "bilinear";
    int best = 0;
    for (const auto& [m, n] : model_count)
      if (n > best) main_model = m, best = n;
    auto label = [&](const std::string& solver, const std::string& model) {
      return escape_cell(model == main_model || solver == "sr" ? solver : solver + " (" + model + ")");
    };
    std::set<double> steps;
    std::vector<std::pair<std::string, std::string>> rows;  // (solver, model), in table order
    for (const auto* c : cells) {
      steps.insert(c->h);
      if (std::find(rows.begin(), rows.end(), std::make_pair(c->solver, c->model)) == rows.end())
        rows.emplace_back(c->solver, c->model);
    }
    // The paper's layout, one measure: at(c, k) is the cell's spread at t0+kh, null when it lacks the measure.
    auto layout = [&](const std::string& title, auto at) {
      std::string md = fmt::format("### {} ({} model; sr: SINDy's polynomial library), {}: median over the datasets "
                                   "(the talk's in brackets), datasets at or under the talk's\n\n| solver |",
                                   escape_cell(system), escape_cell(main_model), title);
      std::string rule = "|---|";
      for (double h : steps) {
        md += fmt::format(" h = {}: t0+h | t0+4h |", format_step(h));
        rule += "---|---|";
      }
      md += "\n" + rule + "\n";
      for (const auto& [solver, model] : rows) {
        std::string line = "| " + label(solver, model) + " |";
        for (double h : steps) {
          const CellSpread* c = nullptr;
          for (const auto* x : cells)
            if (x->solver == solver && x->model == model && x->h == h) c = x;
          for (int k : {1, 4}) {
            const HorizonSpread* s = c ? at(*c, k) : nullptr;
            if (!s) line += " - |";
            else if (s->paper)
              line += fmt::format(" {} ({}) {} |", format_rmse(s->median), format_forecast(s->paper),
                                  count_at_or_under(*s, false));
            else line += fmt::format(" {}, n = {} |", format_rmse(s->median), s->rmse.size());
          }
        }
        md += line + "\n";
      }
      return md;
    };
    std::string md = layout("pooled RMSE", [](const CellSpread& c, int k) { return k == 1 ? &c.at_h : &c.at_4h; });
    const bool every_mean_state =
        std::all_of(cells.begin(), cells.end(), [](const auto* c) { return c->mean_state_at_h.has_value(); });
    if (every_mean_state)
      md += "\n" + layout(kMeanStateMeasure, [](const CellSpread& c, int k) {
        return &*(k == 1 ? c.mean_state_at_h : c.mean_state_at_4h);
      });
    md += fmt::format(
        "\n### {}: per solver and step\n\n| solver | h | datasets | t0+h: median | [Q1, Q3] | at or under the talk's | "
        "t0+4h: median | [Q1, Q3] | at or under the talk's | runs not completed |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n",
        escape_cell(system));
    for (const auto* c : cells) {
      md += fmt::format("| {} | {} | {} |", label(c->solver, c->model), format_step(c->h), c->cells.size());
      for (const HorizonSpread* s : {&c->at_h, &c->at_4h})
        md += fmt::format(" {} | [{}, {}] | {} |", format_rmse(s->median), format_rmse(s->q1), format_rmse(s->q3),
                          count_at_or_under(*s, true));
      md += " " + not_completed_text(*c) + " |\n";
    }
    t.markdown += md + "\n";
  }
  return t;
}

}  // namespace trk::report
