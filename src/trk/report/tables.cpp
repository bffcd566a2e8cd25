#include "trk/report/tables.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "trk/tableau/order_conditions.h"

namespace trk::report {
using io::json;

namespace {

struct PaperRow {
  const char* solver;
  double cells[3][2];  // h = 0.2, 0.3, 0.4 x {t0+h, t0+4h}; +inf: "> 10"
};
constexpr double kOver = INFINITY;
// The talk's table (docs/method.md), RMSE.
constexpr PaperRow kPaper[] = {
    {"sr", {{9.06, 6.02}, {kOver, 5.81}, {9.34, 6.97}}},
    {"euler", {{4.27, kOver}, {2.57, kOver}, {1.99, 7.89}}},
    {"rk4", {{2.05, 3.82}, {3.10, 7.33}, {2.48, kOver}}},
    {"dopri8", {{0.005, 0.021}, {0.0001, 0.0003}, {3.1305, kOver}}},
    {"trk10", {{0.017, 0.020}, {0.077, 0.23}, {0.189, 1.93}}},
};
constexpr double kPaperSteps[] = {0.2, 0.3, 0.4};

std::string num(double x) {
  if (!std::isfinite(x)) return "-";
  return fmt::format("{:.3g}", x);
}

json forecast_json(const std::optional<Forecast>& f) {
  if (!f) return nullptr;
  return {{"rmse", f->rmse ? json(*f->rmse) : json(nullptr)}, {"diverged", f->diverged}};
}

const Forecast& at(const IdentifyResult& r, int horizon_steps) { return horizon_steps == 1 ? r.at_h : r.at_4h; }

}  // namespace

std::optional<Forecast> paper_value(const std::string& system, const std::string& model, const std::string& solver,
                                    double h, int horizon_steps) {
  if (system != "lorenz63" || (model != "bilinear" && solver != "sr")) return std::nullopt;
  for (const PaperRow& row : kPaper) {
    if (solver != row.solver) continue;
    for (int k = 0; k < 3; ++k) {
      if (std::abs(h - kPaperSteps[k]) > 1e-9) continue;
      const double v = row.cells[k][horizon_steps == 1 ? 0 : 1];
      Forecast f;
      f.diverged = !std::isfinite(v);
      if (!f.diverged) f.rmse = v;
      return f;
    }
  }
  return std::nullopt;
}

std::string format_step(double h) { return json(h).dump(); }

std::string escape_cell(const std::string& name) {
  std::string out;
  for (char ch : name) {
    if (ch == '|') out += "\\|";
    else if (ch == '\n' || ch == '\r') out += ' ';
    else out += ch;
  }
  return out;
}

std::string format_forecast(const std::optional<Forecast>& f) {
  if (!f) return "-";
  if (f->diverged || !f->rmse) return "> 10";
  const double x = *f->rmse;
  return x >= 1e-3 ? fmt::format("{:.3g}", x) : fmt::format("{:.2e}", x);
}

Table rmse_table(const Results& r) {
  Table t;
  t.json = {{"format", "trk-rmse-table"}, {"format_version", 1}, {"tables", json::array()}};
  std::map<std::pair<std::string, std::string>, std::vector<const IdentifyResult*>> groups;  // (system, dataset)
  for (const auto& c : r.identify) groups[{c.system, c.dataset}].push_back(&c);
  for (const auto& [group, cells] : groups) {
    const auto& [system, dataset] = group;
    // Rows are (solver, model); the table's model is the most common one outside sr (SINDy's polynomial).
    std::map<std::string, int> model_count;
    for (const auto* c : cells)
      if (c->solver != "sr") ++model_count[c->model];
    std::string main_model = "bilinear";
    int best = 0;
    for (const auto& [m, n] : model_count)
      if (n > best) main_model = m, best = n;
    std::set<double> steps;
    std::vector<std::pair<std::string, std::string>> rows;
    for (const auto* c : cells) {
      steps.insert(c->h);
      if (std::find(rows.begin(), rows.end(), std::make_pair(c->solver, c->model)) == rows.end())
        rows.emplace_back(c->solver, c->model);
    }
    const bool paper = system == "lorenz63" && main_model == "bilinear";
    if (paper) steps.insert(std::begin(kPaperSteps), std::end(kPaperSteps));
    if (paper)
      for (const PaperRow& row : kPaper) {
        const bool have = std::any_of(rows.begin(), rows.end(), [&](const auto& x) { return x.first == row.solver; });
        if (!have) rows.emplace_back(row.solver, std::string(row.solver) == "sr" ? "polynomial" : "bilinear");
      }
    std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      return std::make_tuple(solver_rank(a.first), a.first, a.second) < std::make_tuple(solver_rank(b.first), b.first, b.second);
    });
    auto find = [&](const std::pair<std::string, std::string>& row, double h) -> const IdentifyResult* {
      for (const auto* c : cells)
        if (c->solver == row.first && c->model == row.second && c->h == h) return c;
      return nullptr;
    };

    json block = {{"system", system}, {"model", main_model}, {"h", std::vector<double>(steps.begin(), steps.end())},
                  {"rows", json::array()}};
    if (!dataset.empty()) block["dataset"] = dataset;
    std::string md = fmt::format("### {} ({} model; sr: SINDy's polynomial library){}{}\n\n| solver |",
                                 escape_cell(system), escape_cell(main_model),
                                 dataset.empty() ? "" : ", dataset " + escape_cell(dataset),
                                 paper ? ": ours (the talk's in brackets)" : "");
    std::string columns, rule = "|---|";
    for (double h : steps) {
      columns += fmt::format(" h = {}: t0+h | t0+4h |", format_step(h));
      rule += "---|---|";
    }
    md += columns + "\n" + rule + "\n";
    // The same rows by the mean RMSE over the test states (the talk's caption's measure), when the files have it.
    const bool mean_state = std::any_of(cells.begin(), cells.end(), [](const auto* c) { return c->mean_state_at_h; });
    std::string md_mean = fmt::format("\nThe same, {}:\n\n| solver |{}\n{}\n", kMeanStateMeasure, columns, rule);
    for (const auto& row_key : rows) {
      const auto& [solver, model] = row_key;
      const bool plain = model == main_model || solver == "sr";
      const std::string label = escape_cell(plain ? solver : solver + " (" + model + ")");
      json row = {{"solver", solver}, {"model", model}, {"cells", json::array()}};
      std::string line = "| " + label + " |", line_mean = line;
      for (double h : steps) {
        const IdentifyResult* c = find(row_key, h);
        for (int k : {1, 4}) {
          std::optional<Forecast> ours, ours_mean;
          if (c) ours = at(*c, k);
          if (c) ours_mean = k == 1 ? c->mean_state_at_h : c->mean_state_at_4h;
          const auto theirs = paper_value(system, model, solver, h, k);
          json cell = {{"h", h}, {"horizon", k == 1 ? "t0+h" : "t0+4h"}, {"ours", forecast_json(ours)},
                       {"paper", forecast_json(theirs)}};
          if (ours_mean) cell["ours_mean_per_state"] = forecast_json(ours_mean);
          if (c) cell["source"] = c->file.string();
          row["cells"].push_back(cell);
          const std::string paper = theirs ? " (" + format_forecast(theirs) + ")" : "";
          line += " " + format_forecast(ours) + paper + " |";
          line_mean += " " + format_forecast(ours_mean) + paper + " |";
        }
      }
      block["rows"].push_back(row);
      md += line + "\n";
      md_mean += line_mean + "\n";
    }
    t.json["tables"].push_back(block);
    t.markdown += md + (mean_state ? md_mean : "") + "\n";
  }
  if (r.identify.empty()) t.markdown = "No identify.json found.\n";
  return t;
}

Table fit_table(const Results& r) {
  Table t;
  t.json = {{"format", "trk-fit-table"}, {"format_version", 1}, {"tables", json::array()}};
  std::map<std::string, std::vector<const FitResult*>> groups;
  for (const auto& c : r.fit) groups[c.system].push_back(&c);
  for (const auto& [system, rows] : groups) {
    std::set<double> steps;
    std::vector<std::string> schemes;  // trained first, then the compared ones, in file order
    for (const auto* c : rows) {
      steps.insert(c->h);
      if (std::find(schemes.begin(), schemes.end(), c->scheme) == schemes.end()) schemes.push_back(c->scheme);
    }
    json block = {{"system", system}, {"schemes", schemes}, {"rows", json::array()}};
    std::string md = fmt::format("### {}: integrates? (bounded runs / runs)\n\n| h |", escape_cell(system));
    std::string rule = "|---|";
    for (const auto& s : schemes) {
      md += " " + escape_cell(s) + " |";
      rule += "---|";
    }
    md += "\n" + rule + "\n";
    for (double h : steps) {
      json row = {{"h", h}, {"cells", json::array()}};
      std::string line = "| " + format_step(h) + " |";
      for (const auto& s : schemes) {
        const FitResult* c = nullptr;
        for (const auto* x : rows)
          if (x->scheme == s && x->h == h) c = x;
        if (!c) {
          row["cells"].push_back(nullptr);
          line += " - |";
          continue;
        }
        row["cells"].push_back({{"scheme", s},
                                {"integrates", c->integrates},
                                {"bounded_runs", c->bounded_runs},
                                {"runs", c->runs},
                                {"worst_deviation", c->worst_deviation},
                                {"one_step_rmse", c->one_step_rmse},
                                {"order", c->order},
                                {"real_axis_interval", c->real_axis_interval},
                                {"source", c->file.string()}});
        line += fmt::format(" {} ({}/{}) |", c->integrates ? "**yes**" : "no", c->bounded_runs, c->runs);
      }
      block["rows"].push_back(row);
      md += line + "\n";
    }
    t.json["tables"].push_back(block);
    t.markdown += md + "\n";
  }
  if (r.fit.empty()) t.markdown = "No fit.json found.\n";
  return t;
}

Table nfe_table(const Results& r) {
  Table t;
  t.json = {{"format", "trk-nfe-table"}, {"format_version", 1}, {"rows", json::array()}};
  const bool datasets = !r.datasets.empty();  // a dataset column only when there are several
  t.markdown = std::string("| system |") + (datasets ? " dataset |" : "") +
               " model | h | solver | train NFE/iteration forward (mean, last) | backward (mean, last) | "
               "inference NFE/step | inference NFE per unit time |\n|---|---|---|---|---|---|---|---|" +
               (datasets ? "---|" : "") + "\n";
  for (const auto& c : r.identify) {
    json row = {{"system", c.system},
                {"model", c.model},
                {"h", c.h},
                {"solver", c.solver},
                {"train_forward_per_iteration", {{"mean", c.nfe_forward_mean}, {"last", c.nfe_forward_last}}},
                {"train_backward_per_iteration", {{"mean", c.nfe_backward_mean}, {"last", c.nfe_backward_last}}},
                {"inference_per_step", c.inference_nfe_per_step},
                {"inference_per_unit_time", c.inference_nfe_per_unit_time},
                {"source", c.file.string()}};
    if (datasets) row["dataset"] = c.dataset;
    t.json["rows"].push_back(row);
    t.markdown += fmt::format("| {}{} | {} | {} | {} | {}, {} | {}, {} | {} | {} |\n", escape_cell(c.system),
                              datasets ? " | " + escape_cell(c.dataset) : "",
                              escape_cell(c.model), format_step(c.h), escape_cell(c.solver),
                              num(c.nfe_forward_mean), num(c.nfe_forward_last), num(c.nfe_backward_mean),
                              num(c.nfe_backward_last), num(c.inference_nfe_per_step),
                              num(c.inference_nfe_per_unit_time));
  }
  if (r.identify.empty()) t.markdown = "No identify.json found.\n";
  return t;
}

Table order_table(const Results& r, int max_order) {
  Table t;
  t.json = {{"format", "trk-order-table"}, {"format_version", 1}, {"max_order", max_order}, {"rows", json::array()}};
  t.markdown = "| experiment | h | scheme | stages | order |";
  std::string rule = "|---|---|---|---|---|";
  for (int k = 1; k <= max_order; ++k) {
    t.markdown += fmt::format(" max \\|r\\| order {} |", k);
    rule += "---|";
  }
  t.markdown += "\n" + rule + "\n";
  auto add = [&](const std::string& experiment, double h, const ButcherTableau& tab, const std::string& source) {
    const OrderConditionsSummary s = order_conditions(tab, max_order);
    const int p = order(tab, kOrderConditionTol, max_order);
    t.json["rows"].push_back({{"experiment", experiment},
                              {"h", h},
                              {"scheme", tab.name},
                              {"stages", tab.num_stages()},
                              {"order", p},
                              {"max_abs_residual_by_order", s.max_abs_residual_by_order},
                              {"source", source}});
    std::string line = fmt::format("| {} | {} | {} | {} | {} |", escape_cell(experiment), format_step(h),
                                   escape_cell(tab.name), tab.num_stages(), p);
    for (double x : s.max_abs_residual_by_order) line += fmt::format(" {:.1e} |", x);
    t.markdown += line + "\n";
  };
  for (const auto& c : r.fit)
    if (c.trained) add("fit " + c.system, c.h, c.tableau, c.file.string());
  for (const auto& c : r.identify)
    if (c.trained_scheme())
      add("identify " + c.system + " " + c.model + (c.dataset.empty() ? "" : " " + c.dataset), c.h, *c.tableau,
          c.file.string());
  if (t.json["rows"].empty()) t.markdown = "No trained scheme found.\n";
  return t;
}

}  // namespace trk::report
