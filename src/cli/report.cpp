// trk report: `report --results DIR... --out REPORT` collects fit.json / identify.json below the folders and writes
// the tables, plots and index; `report --check BASELINE --results NEW` compares RMSE cells and fit verdicts
// (exit 1 on a regression); `report stability|order --scheme S` analyses one scheme.
#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "cli/commands.h"
#include "trk/io/atomic_file.h"
#include "trk/io/hdf5_util.h"
#include "trk/io/json_io.h"
#include "trk/report/check.h"
#include "trk/report/report.h"
#include "trk/tableau/order_conditions.h"
#include "trk/tableau/stability.h"

namespace trk::cli {
namespace {

struct SchemeArgs {
  std::string scheme;
  std::string out;
  int num_grid = 401;
  int max_order = 8;
};

io::json interval_json(double x) { return std::isfinite(x) ? io::json(x) : io::json("inf"); }

void run_stability(const SchemeArgs& a) {
  const ButcherTableau t = io::resolve_scheme(a.scheme);
  if (a.num_grid < 2 || a.num_grid > 10001) throw std::invalid_argument("--grid must be between 2 and 10001");
  io::ensure_writable_directory(a.out);
  const double real = real_axis_interval(t), imag = imag_axis_interval(t);
  const auto boundary = stability_region_boundary(t);
  // A box around the region (and at least [-3, 1] x [-3, 3]) with a margin.
  double re_lo = -3, re_hi = 1, im_hi = 3;
  for (const auto& curve : boundary)
    for (const auto& z : curve)
      if (std::abs(z) < 50) {
        re_lo = std::min(re_lo, z.real());
        re_hi = std::max(re_hi, z.real());
        im_hi = std::max(im_hi, std::abs(z.imag()));
      }
  ComplexGrid grid;
  grid.re_min = std::floor(re_lo * 1.1);
  grid.re_max = std::ceil(re_hi * 1.1);
  grid.im_min = -std::ceil(im_hi * 1.1);
  grid.im_max = std::ceil(im_hi * 1.1);
  grid.num_re = grid.num_im = a.num_grid;
  const Mat modulus = stability_modulus_on_grid(t, grid);

  const std::filesystem::path dir(a.out);
  io::h5::write_file_atomic(dir / "stability.h5", [&](io::h5::Group& root) {
    root.write_string_attribute("format", "trk-stability");
    root.write_int_attribute("format_version", 1);
    root.write_string_attribute("scheme", t.name);
    Vec re(grid.num_re), im(grid.num_im);
    for (int j = 0; j < grid.num_re; ++j) re(j) = grid.re(j);
    for (int i = 0; i < grid.num_im; ++i) im(i) = grid.im(i);
    root.write_vector("re", re);
    root.write_vector("im", im);
    root.write_matrix("abs_R", modulus);
    auto b = root.create_group("boundary");
    for (size_t k = 0; k < boundary.size(); ++k) {
      Mat pts(boundary[k].size(), 2);
      for (size_t p = 0; p < boundary[k].size(); ++p) pts.row(p) << boundary[k][p].real(), boundary[k][p].imag();
      b.write_matrix("curve_" + std::to_string(k), pts);
    }
  });
  io::json j = {{"scheme", t.name},
                {"stages", t.num_stages()},
                {"real_axis_interval", interval_json(real)},
                {"imag_axis_interval", interval_json(imag)},
                {"stability_polynomial", io::to_json(stability_polynomial(t))},
                {"grid",
                 {{"file", "stability.h5"},
                  {"dataset", "abs_R"},
                  {"layout", "abs_R[i][j] = |R(re[j] + i im[i])|"},
                  {"re", {grid.re_min, grid.re_max, grid.num_re}},
                  {"im", {grid.im_min, grid.im_max, grid.num_im}}}},
                {"boundary_curves", boundary.size()},
                {"tableau", io::tableau_to_json(t)}};
  io::write_json_atomic(dir / "stability.json", j);
  fmt::print("{}: real-axis interval {:.6f}, imaginary-axis interval {:.6f} -> {}\n", t.name, real, imag,
             (dir / "stability.json").string());
}

void run_order(const SchemeArgs& a) {
  const ButcherTableau t = io::resolve_scheme(a.scheme);
  if (a.max_order < 1 || a.max_order > 12) throw std::invalid_argument("--max-order must be between 1 and 12");
  io::ensure_writable_directory(a.out);
  const OrderConditionsSummary s = order_conditions(t, a.max_order);
  const int p = order(t, kOrderConditionTol, a.max_order);
  io::json by_order = io::json::array();
  for (int k = 1; k <= a.max_order; ++k) {
    io::json trees = io::json::array();
    int count = 0;
    for (const auto& r : s.rows)
      if (r.order == k) {
        ++count;
        trees.push_back({{"tree", r.label}, {"gamma", r.gamma}, {"phi", r.phi}, {"residual", r.residual}});
      }
    by_order.push_back({{"order", k},
                        {"num_conditions", count},
                        {"max_abs_residual", s.max_abs_residual_by_order[k - 1]},
                        {"max_rel_residual", s.max_rel_residual_by_order[k - 1]},
                        {"trees", trees}});
  }
  io::json j = {{"scheme", t.name},
                {"order", p},
                {"max_order_checked", a.max_order},
                {"tolerance", {{"value", kOrderConditionTol}, {"on", "gamma(t) |Phi(t) - 1/gamma(t)|"}}},
                {"residuals_by_order", by_order},
                {"tableau", io::tableau_to_json(t)}};
  const std::filesystem::path dir(a.out);
  io::write_json_atomic(dir / "order.json", j);
  fmt::print("{}: order {} (conditions checked to order {}) -> {}\n", t.name, p, a.max_order,
             (dir / "order.json").string());
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
  fmt::print("report: {} identify cells, {} fit rows -> {} tables, {} plots ({} rendered) -> {}\n", r.identify.size(),
             r.fit.size(), s.tables, s.plots, s.rendered, (std::filesystem::path(a.out) / "index.md").string());
}

}  // namespace

void setup_report(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "report",
      "Tables, plots and index of results (--results DIR... --out REPORT), a regression check (--check BASELINE "
      "--results NEW), or the analysis of one scheme (stability, order)");
  cmd->require_subcommand(0, 1);
  auto ra = std::make_shared<ResultsArgs>();
  cmd->add_option("--results", ra->results, "folders (or files) with fit.json / identify.json below them")
      ->expected(1, 1 << 20);
  cmd->add_option("--out", ra->out, "report folder (index.md, *_table.md/.json, nfe.md, plots)");
  cmd->add_option("--check", ra->check, "baseline folder: compare --results against it, exit 1 on a regression");
  cmd->add_option("--rtol", ra->tolerance.rtol, "check: relative tolerance on RMSE cells")->capture_default_str();
  cmd->add_option("--atol", ra->tolerance.atol, "check: absolute tolerance on RMSE cells")->capture_default_str();
  cmd->add_flag("--verbose", ra->verbose, "check: list every cell, not only the ones that changed");
  cmd->add_flag("--no-render", ra->no_render, "write plot data and gnuplot scripts, do not run gnuplot");
  cmd->add_flag("--quiet", ra->quiet, "no progress output");
  cmd->callback([ra, cmd] {
    if (!cmd->get_subcommands().empty()) return;  // stability / order ran
    run_results(*ra);
  });
  auto sa = std::make_shared<SchemeArgs>();
  auto* st = cmd->add_subcommand("stability", "Stability region of a scheme: axis intervals, |R| grid, boundary");
  st->add_option("--scheme", sa->scheme, "built-in name or JSON tableau file {\"A\", \"b\", \"c\"}")->required();
  st->add_option("--out", sa->out, "output folder (stability.json, stability.h5)")->required();
  st->add_option("--grid", sa->num_grid, "grid points per axis")->capture_default_str();
  st->callback([sa] { run_stability(*sa); });
  auto oa = std::make_shared<SchemeArgs>();
  auto* od = cmd->add_subcommand("order", "Order conditions of a scheme: residual of every rooted tree");
  od->add_option("--scheme", oa->scheme, "built-in name or JSON tableau file {\"A\", \"b\", \"c\"}")->required();
  od->add_option("--out", oa->out, "output folder (order.json)")->required();
  od->add_option("--max-order", oa->max_order, "highest order checked")->capture_default_str();
  od->callback([oa] { run_order(*oa); });
}

}  // namespace trk::cli
