// trk report: analysis of schemes. `report stability` (region, axis intervals), `report order` (order
// conditions by rooted tree). Tables and plots of results come with the rest of `report`.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "cli/commands.h"
#include "trk/io/atomic_file.h"
#include "trk/io/hdf5_util.h"
#include "trk/io/json_io.h"
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

}  // namespace

void setup_report(CLI::App& app) {
  auto* cmd = app.add_subcommand("report", "Analyse schemes and results");
  cmd->require_subcommand(1);
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
