// trk report: `report --results DIR... --out REPORT` collects fit.json / identify.json below the folders and writes
// the tables, plots and index; `report --check BASELINE --results NEW` compares RMSE cells and fit verdicts
// (exit 1 on a regression); `report stability|order --scheme S` analyses one scheme.
#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "cli/commands.h"
#include "cli/options_flags.h"
#include "trk/io/atomic_file.h"
#include "trk/io/json_io.h"
#include "trk/io/scheme_source.h"
#include "trk/io/stability_io.h"
#include "trk/report/check.h"
#include "trk/report/report.h"
#include "trk/tableau/scheme_analysis.h"

namespace trk::cli {
namespace {

struct SchemeArgs {
  std::string scheme;
  std::string out;
  int num_grid = 401;
  int max_order = 8;
};

void run_stability(const SchemeArgs& a) {
  const StabilityAnalysis s = analyse_stability(io::resolve_scheme_source(a.scheme), a.num_grid);
  io::ensure_writable_directory(a.out);
  io::write_stability(a.out, s);
  fmt::print("{}: real-axis interval {:.6f}, imaginary-axis interval {:.6f} -> {}\n", s.tableau.name,
             s.real_axis_interval, s.imag_axis_interval, (std::filesystem::path(a.out) / "stability.json").string());
}

void run_order(const SchemeArgs& a) {
  const OrderAnalysis o = analyse_order(io::resolve_scheme_source(a.scheme), a.max_order);
  io::ensure_writable_directory(a.out);
  io::write_order(a.out, o);
  fmt::print("{}: order {} (conditions checked to order {}) -> {}\n", o.tableau.name, o.order, o.max_order,
             (std::filesystem::path(a.out) / "order.json").string());
}

struct ResultsArgs {
  std::vector<std::string> results;
  std::string out, check;
  report::CheckOptions tolerance;
  bool no_render = false, verbose = false, quiet = false;
};

std::vector<std::filesystem::path> paths(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

void run_check(const ResultsArgs& a) {
  if (!(a.tolerance.rtol >= 0) || !(a.tolerance.atol >= 0)) throw std::invalid_argument("--rtol and --atol must be >= 0");
  const report::Results base = report::collect_results({a.check});
  const report::Results now = report::collect_results(paths(a.results));
  if (base.identify.empty() && base.fit.empty())
    throw std::invalid_argument(a.check + ": no fit.json or identify.json below it (nothing to check against)");
  const report::CheckReport rep = report::check_results(base, now, a.tolerance);
  fmt::print("check {} against baseline {} (rtol {}, atol {}):\n{}", fmt::join(a.results, " "), a.check,
             a.tolerance.rtol, a.tolerance.atol, rep.text(a.verbose));
  if (rep.regressions() > 0)
    throw FailingVerdict(fmt::format("check: {} regression(s) against {}", rep.regressions(), a.check));
}

void run_results(const ResultsArgs& a) {
  if (a.results.empty()) throw std::invalid_argument("--results DIR [DIR ...] is required (or a subcommand: stability, order)");
  if (!a.check.empty()) return run_check(a);
  if (a.out.empty()) throw std::invalid_argument("--out REPORT is required");
  const report::Results r = report::collect_results(paths(a.results));
  if (r.identify.empty() && r.fit.empty())
    throw std::invalid_argument("no fit.json or identify.json below " + fmt::format("{}", fmt::join(a.results, ", ")));
  io::check_writable_directory(a.out);
  report::ReportOptions o;
  o.render = !a.no_render;
  o.sources = a.results;
  const report::ReportSummary s = report::write_report(r, a.out, o, [&](const std::string& line) {
    if (!a.quiet) fmt::print(stderr, "report: {}\n", line);
  });
  for (const auto& w : s.warnings) fmt::print(stderr, "report: warning: {}\n", w);
  fmt::print("report: {} identify cells{}, {} fit rows -> {} tables, {} plots ({} rendered) -> {}\n", r.identify.size(),
             r.datasets.empty() ? "" : fmt::format(" of {} datasets", r.datasets.size()), r.fit.size(), s.tables,
             s.plots, s.rendered, (std::filesystem::path(a.out) / "index.md").string());
}

}  // namespace

void setup_report(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "report",
      "Tables, plots and index of results (--results DIR... --out REPORT), a regression check (--check BASELINE "
      "--results NEW), or the analysis of one scheme (stability, order)");
  cmd->require_subcommand(0, 1);
  auto ra = std::make_shared<ResultsArgs>();
  cmd->add_option("--results", ra->results,
                  "folders (or files) with fit.json / identify.json below them; the same cells in run folders of "
                  "different names are datasets (reliability_table.md)")
      ->expected(1, 1 << 20);
  cmd->add_option("--out", ra->out, "report folder (index.md, *_table.md/.json, nfe.md, plots)");
  cmd->add_option("--check", ra->check, "baseline folder: compare --results against it, exit 1 on a regression");
  add_number(cmd, "--rtol", ra->tolerance.rtol, "check: relative tolerance on RMSE cells")->capture_default_str();
  add_number(cmd, "--atol", ra->tolerance.atol, "check: absolute tolerance on RMSE cells")->capture_default_str();
  cmd->add_flag("--verbose", ra->verbose, "check: list every cell, not only the ones that changed");
  cmd->add_flag("--no-render", ra->no_render, "write plot data and gnuplot scripts, do not run gnuplot");
  cmd->add_flag("--quiet", ra->quiet, "no progress output");
  cmd->callback([ra, cmd] {
    if (!cmd->get_subcommands().empty()) return;  // stability / order ran
    run_results(*ra);
  });
  auto sa = std::make_shared<SchemeArgs>();
  auto* st = cmd->add_subcommand("stability", "Stability region of a scheme: axis intervals, |R| grid, boundary");
  st->add_option("--scheme", sa->scheme,
                 "built-in name, JSON tableau {\"A\", \"b\", \"c\"}, model.h5, identify.json, or fit.json#h=H[,scheme=S]")
      ->required();
  st->add_option("--out", sa->out, "output folder (stability.json, stability.h5)")->required();
  add_number(st, "--grid", sa->num_grid, "grid points per axis")->capture_default_str();
  st->callback([sa] { run_stability(*sa); });
  auto oa = std::make_shared<SchemeArgs>();
  auto* od = cmd->add_subcommand("order", "Order conditions of a scheme: residual of every rooted tree");
  od->add_option("--scheme", oa->scheme,
                 "built-in name, JSON tableau {\"A\", \"b\", \"c\"}, model.h5, identify.json, or fit.json#h=H[,scheme=S]")
      ->required();
  od->add_option("--out", oa->out, "output folder (order.json)")->required();
  add_number(od, "--max-order", oa->max_order, "highest order checked")->capture_default_str();
  od->callback([oa] { run_order(*oa); });
}

}  // namespace trk::cli
