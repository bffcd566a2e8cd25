#include "trk/io/stability_io.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "trk/io/hdf5_util.h"
#include "trk/io/json_io.h"

namespace trk::io {

namespace {

json interval_json(double x) { return std::isfinite(x) ? json(x) : json("inf"); }

double interval_from(const json& j, const std::filesystem::path& file, const char* field) {
  if (!j.contains(field)) throw std::runtime_error(file.string() + ": " + field + ": missing");
  const json& v = j[field];
  if (v.is_number()) return v.get<double>();
  if (v == "inf") return std::numeric_limits<double>::infinity();
  throw std::runtime_error(file.string() + ": " + field + ": expected a number or \"inf\"");
}

template <class F>
auto guarded(const std::filesystem::path& file, F&& f) {
  try {
    return f();
  } catch (const json::exception& e) {
    throw std::runtime_error(file.string() + ": " + e.what());
  }
}

}  // namespace

void write_stability(const std::filesystem::path& dir, const StabilityAnalysis& s) {
  const ComplexGrid& grid = s.grid;
  h5::write_file_atomic(dir / "stability.h5", [&](h5::Group& root) {
    root.write_string_attribute("format", "trk-stability");
    root.write_int_attribute("format_version", 1);
    root.write_string_attribute("scheme", s.tableau.name);
    Vec re(grid.num_re), im(grid.num_im);
    for (int j = 0; j < grid.num_re; ++j) re(j) = grid.re(j);
    for (int i = 0; i < grid.num_im; ++i) im(i) = grid.im(i);
    root.write_vector("re", re);
    root.write_vector("im", im);
    root.write_matrix("abs_R", s.modulus);
    auto b = root.create_group("boundary");
    for (size_t k = 0; k < s.boundary.size(); ++k) {
      Mat pts(s.boundary[k].size(), 2);
      for (size_t p = 0; p < s.boundary[k].size(); ++p) pts.row(p) << s.boundary[k][p].real(), s.boundary[k][p].imag();
      b.write_matrix("curve_" + std::to_string(k), pts);
    }
  });
  const json j = {{"scheme", s.tableau.name},
                  {"stages", s.tableau.num_stages()},
                  {"real_axis_interval", interval_json(s.real_axis_interval)},
                  {"imag_axis_interval", interval_json(s.imag_axis_interval)},
                  {"stability_polynomial", to_json(s.polynomial)},
                  {"grid",
                   {{"file", "stability.h5"},
                    {"dataset", "abs_R"},
                    {"layout", "abs_R[i][j] = |R(re[j] + i im[i])|"},
                    {"re", {grid.re_min, grid.re_max, grid.num_re}},
                    {"im", {grid.im_min, grid.im_max, grid.num_im}}}},
                  {"boundary_curves", s.boundary.size()},
                  {"tableau", tableau_to_json(s.tableau)}};
  write_json_atomic(dir / "stability.json", j);
}

StabilityAnalysis read_stability(const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / "stability.json";
  const json j = read_json_file(file);
  StabilityAnalysis s;
  guarded(file, [&] {
    s.tableau = tableau_from_json(j.at("tableau"), file.string() + ": tableau");
    s.real_axis_interval = interval_from(j, file, "real_axis_interval");
    s.imag_axis_interval = interval_from(j, file, "imag_axis_interval");
    const auto gamma = j.at("stability_polynomial").get<std::vector<double>>();
    s.polynomial = Eigen::Map<const Vec>(gamma.data(), gamma.size());
    const json& g = j.at("grid");
    s.grid.re_min = g.at("re").at(0).get<double>(), s.grid.re_max = g.at("re").at(1).get<double>();
    s.grid.num_re = g.at("re").at(2).get<int>();
    s.grid.im_min = g.at("im").at(0).get<double>(), s.grid.im_max = g.at("im").at(1).get<double>();
    s.grid.num_im = g.at("im").at(2).get<int>();
    return 0;
  });
  const h5::File f = h5::File::open_read(dir / "stability.h5");
  if (f.read_string_attribute("format").value_or("") != "trk-stability")
    throw std::runtime_error(f.where_attribute("format") + ": expected \"trk-stability\"");
  s.modulus = f.read_matrix("abs_R");
  if (s.modulus.rows() != s.grid.num_im || s.modulus.cols() != s.grid.num_re)
    throw std::runtime_error(f.where("abs_R") + ": expected the grid of stability.json (num_im x num_re)");
  const long curves = guarded(file, [&] { return j.at("boundary_curves").get<long>(); });
  const h5::Group b = f.open_group("boundary");
  for (long k = 0; k < curves; ++k) {
    const Mat pts = b.read_matrix("curve_" + std::to_string(k));
    if (pts.cols() != 2) throw std::runtime_error(b.where("curve_" + std::to_string(k)) + ": expected [points, 2]");
    std::vector<Complex> curve(pts.rows());
    for (Eigen::Index p = 0; p < pts.rows(); ++p) curve[p] = Complex(pts(p, 0), pts(p, 1));
    s.boundary.push_back(std::move(curve));
  }
  return s;
}

void write_order(const std::filesystem::path& dir, const OrderAnalysis& a) {
  const OrderConditionsSummary& s = a.conditions;
  json by_order = json::array();
  for (int k = 1; k <= a.max_order; ++k) {
    json trees = json::array();
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
  const json j = {{"scheme", a.tableau.name},
                  {"order", a.order},
                  {"max_order_checked", a.max_order},
                  {"tolerance", {{"value", a.tolerance}, {"on", "gamma(t) |Phi(t) - 1/gamma(t)|"}}},
                  {"residuals_by_order", by_order},
                  {"tableau", tableau_to_json(a.tableau)}};
  write_json_atomic(dir / "order.json", j);
}

OrderAnalysis read_order(const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / "order.json";
  const json j = read_json_file(file);
  return guarded(file, [&] {
    OrderAnalysis a;
    a.tableau = tableau_from_json(j.at("tableau"), file.string() + ": tableau");
    a.order = j.at("order").get<int>();
    a.max_order = j.at("max_order_checked").get<int>();
    a.tolerance = j.at("tolerance").at("value").get<double>();
    a.conditions.tableau_name = a.tableau.name;
    for (const json& o : j.at("residuals_by_order")) {
      const int k = o.at("order").get<int>();
      a.conditions.max_abs_residual_by_order.push_back(o.at("max_abs_residual").get<double>());
      a.conditions.max_rel_residual_by_order.push_back(o.at("max_rel_residual").get<double>());
      for (const json& t : o.at("trees"))
        a.conditions.rows.push_back({t.at("tree").get<std::string>(), k, t.at("gamma").get<std::int64_t>(),
                                     t.at("phi").get<double>(), t.at("residual").get<double>()});
    }
    return a;
  });
}

}  // namespace trk::io
