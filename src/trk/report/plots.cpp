#include "trk/report/plots.h"
#include "trk/report/tables.h"

#include <fmt/core.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include "trk/io/atomic_file.h"
#include "trk/io/hdf5_util.h"
#include "trk/io/json_io.h"
#include "trk/tableau/named_tableaux.h"
#include "trk/tableau/order_conditions.h"
#include "trk/tableau/stability.h"

namespace trk::report {
namespace fs = std::filesystem;

namespace {

constexpr const char* kTerminal = "set terminal svg size 720,540 dynamic enhanced font 'Helvetica,13' background '#ffffff'\n";

// Points of every boundary curve of t that lies within radius; curves separated by one blank line.
struct Curves {
  std::string text;
  double re_lo = 0, re_hi = 0, im_hi = 0;
  bool any = false;
};
Curves boundary_curves(const ButcherTableau& t, double radius) {
  Curves out;
  for (const auto& curve : stability_region_boundary(t, 720)) {
    double far = 0;
    for (const auto& z : curve) far = std::max(far, std::abs(z));
    if (!(far < radius) || curve.size() < 3) continue;
    for (const auto& z : curve) {
      out.text += fmt::format("{:.6g} {:.6g}\n", z.real(), z.imag());
      out.re_lo = out.any ? std::min(out.re_lo, z.real()) : z.real();
      out.re_hi = out.any ? std::max(out.re_hi, z.real()) : z.real();
      out.im_hi = std::max(out.im_hi, std::abs(z.imag()));
      out.any = true;
    }
    out.text += "\n";
  }
  if (out.text.empty()) out.text = "0 0\n";  // gnuplot refuses an empty block
  return out;
}

std::string slug(std::string s) {
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-') ch = '_';
  return s;
}

Plot stability_plot(const std::string& stem, const std::string& label, const std::string& key, const ButcherTableau& t) {
  // Radius that keeps the components near the origin and drops far-out specks (method.md: dopri8 near 130).
  const double interval = real_axis_interval(t);
  const double radius = std::isfinite(interval) && interval > 0 ? 3.0 * interval + 4.0 : 50.0;
  const Curves trained = boundary_curves(t, radius);
  const Curves rk4 = boundary_curves(named_tableau("rk4"), 10.0);
  const Curves euler = boundary_curves(named_tableau("euler"), 10.0);
  const double re_lo = std::min({trained.re_lo, rk4.re_lo, euler.re_lo, -3.0});
  const double re_hi = std::max({trained.re_hi, rk4.re_hi, 1.0});
  const double im_hi = std::max({trained.im_hi, rk4.im_hi, 3.0});
  const double pad = 0.08 * std::max(re_hi - re_lo, 2 * im_hi);
  Plot p;
  p.stem = stem;
  p.title = "Stability region of " + label;
  p.data = trained.text + "\n\n" + rk4.text + "\n\n" + euler.text;
  p.script = std::string(kTerminal) +
             fmt::format(
                 "set output '{0}.svg.tmp'\n"
                 "set title \"{1}\" noenhanced\n"
                 "set xlabel 'Re(h {{/Symbol l}})'\nset ylabel 'Im(h {{/Symbol l}})'\n"
                 "set size ratio -1\nset grid lc rgb '#dddddd'\n"
                 "set xrange [{2:.3g}:{3:.3g}]\nset yrange [{4:.3g}:{5:.3g}]\n"
                 "set xzeroaxis lt -1 lc rgb '#888888'\nset yzeroaxis lt -1 lc rgb '#888888'\n"
                 "set key outside right top noenhanced\n"
                 "set style fill transparent solid 0.25 noborder\n"
                 "plot '{0}.dat' index 0 with filledcurves closed lc rgb '#1f77b4' title '{6}', \\\n"
                 "     '{0}.dat' index 0 with lines lw 2 lc rgb '#1f77b4' notitle, \\\n"
                 "     '{0}.dat' index 1 with lines lw 2 dt 2 lc rgb '#d62728' title 'RK4', \\\n"
                 "     '{0}.dat' index 2 with lines lw 2 dt 3 lc rgb '#2ca02c' title 'Euler'\n",
                 stem, p.title, re_lo - pad, re_hi + pad, -im_hi - pad, im_hi + pad, key);
  return p;
}

}  // namespace

std::vector<Plot> stability_plots(const Results& r) {
  std::vector<Plot> plots;
  for (const auto& c : r.fit)
    if (c.trained)
      plots.push_back(stability_plot(slug("stability_fit_" + c.system + "_" + c.scheme + "_h" + format_step(c.h)),
                                     fmt::format("{} trained on {} (fit, h = {})", c.scheme, c.system, format_step(c.h)),
                                     fmt::format("{} h={}", c.scheme, format_step(c.h)), c.tableau));
  for (const auto& c : r.identify)
    if (c.trained_scheme())
      plots.push_back(stability_plot(
          slug("stability_identify_" + c.system + "_" + c.model + "_" + c.solver + "_h" + format_step(c.h)),
          fmt::format("{} trained with a {} model on {} (identify, h = {})", c.solver, c.model, c.system, format_step(c.h)),
          fmt::format("{} h={}", c.solver, format_step(c.h)), *c.tableau));
  return plots;
}

std::vector<Plot> order_residual_plots(const Results& r, int max_order) {
  struct Line {
    std::string label;
    std::vector<double> residual;
  };
  std::map<std::string, std::vector<Line>> kinds;
  auto add = [&](const std::string& kind, const std::string& label, const ButcherTableau& t) {
    kinds[kind].push_back({label, order_conditions(t, max_order).max_abs_residual_by_order});
  };
  for (const auto& c : r.fit)
    if (c.trained) add("fit", fmt::format("{} h={}", c.scheme, format_step(c.h)), c.tableau);
  for (const auto& c : r.identify)
    if (c.trained_scheme()) add("identify", fmt::format("{} {} h={}", c.solver, c.model, format_step(c.h)), *c.tableau);
  std::vector<Plot> plots;
  constexpr double kFloor = 1e-17;  // exact zeros (sum b = 1 by projection) drawn at the floor
  for (auto& [kind, lines] : kinds) {
    for (const char* ref : {"rk4", "euler"}) lines.push_back({std::string(ref) + " (reference)", order_conditions(named_tableau(ref), max_order).max_abs_residual_by_order});
    Plot p;
    p.stem = "order_residuals_" + kind;
    p.title = "Order-condition residuals of the schemes trained by " + kind + " (max |Phi(t) - 1/gamma(t)| by order)";
    std::string plot_cmd = "plot ";
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i) p.data += "\n\n";
      for (size_t k = 0; k < lines[i].residual.size(); ++k)
        p.data += fmt::format("{} {:.6e}\n", k + 1, std::max(lines[i].residual[k], kFloor));
      const bool ref = lines[i].label.find("(reference)") != std::string::npos;
      plot_cmd += fmt::format("{}'{}.dat' index {} with linespoints lw 2 pt 7 ps 0.7 {} title '{}'", i ? ", \\\n     " : "",
                              p.stem, i, ref ? "dt 2 lc rgb '#777777'" : "", lines[i].label);
    }
    p.script = std::string(kTerminal) +
               fmt::format(
                   "set output '{0}.svg.tmp'\nset title \"{1}\" noenhanced\n"
                   "set xlabel 'order of the rooted trees'\nset ylabel 'max |residual| (exact zeros at 1e-17)'\n"
                   "set logscale y\nset format y '10^{{%L}}'\nset xrange [0.5:{2}.5]\nset xtics 1\n"
                   "set grid lc rgb '#dddddd'\nset key outside right top noenhanced\n",
                   p.stem, p.title, max_order) +
               plot_cmd + "\n";
    plots.push_back(std::move(p));
  }
  return plots;
}

std::vector<Plot> nfe_plots(const Results& r) {
  Plot p;
  p.stem = "nfe_training";
  p.title = "Function evaluations per training iteration (forward pass): adaptive Dopri8 against the fixed TRK schemes";
  std::string plot_cmd = "plot ";
  int block = 0;
  for (const auto& c : r.identify) {
    if (c.solver != "dopri8" && !c.trained_scheme()) continue;
    const fs::path model = c.file.parent_path() / "model.h5";
    std::error_code ec;
    if (!fs::is_regular_file(model, ec)) continue;
    std::vector<double> nfe;
    try {
      const io::h5::File f = io::h5::File::open_read(model);
      if (!f.has_group("history")) continue;
      const io::h5::Group hist = f.open_group("history");
      if (!hist.has_dataset("nfe_forward")) continue;
      nfe = hist.read_array("nfe_forward").values;
    } catch (const std::exception&) {
      continue;  // a model file this trk cannot read: the NFE table still has the means
    }
    if (nfe.empty()) continue;
    // At most ~500 points: means over equal windows of iterations.
    const size_t window = std::max<size_t>(1, nfe.size() / 500);
    if (block) p.data += "\n\n";
    for (size_t i = 0; i < nfe.size(); i += window) {
      double sum = 0;
      size_t n = 0;
      for (size_t k = i; k < std::min(nfe.size(), i + window); ++k, ++n) sum += nfe[k];
      p.data += fmt::format("{} {:.6g}\n", i + 1, sum / n);
    }
    plot_cmd += fmt::format("{}'{}.dat' index {} with lines lw 2 title '{} h={} ({})'", block ? ", \\\n     " : "",
                            p.stem, block, c.solver, format_step(c.h), c.model);
    ++block;
  }
  if (block == 0) return {};
  p.script = std::string(kTerminal) +
             fmt::format(
                 "set output '{0}.svg.tmp'\nset title \"{1}\" noenhanced\n"
                 "set xlabel 'training iteration (main phase)'\n"
                 "set ylabel 'evaluations of f per iteration, forward (batched over all pairs)'\n"
                 "set logscale y\nset grid lc rgb '#dddddd'\nset key below noenhanced\n",
                 p.stem, "NFE per training iteration") +
             plot_cmd + "\n";
  return {p};
}

void write_plot(const fs::path& dir, const Plot& p) {
  io::write_text_atomic(dir / (p.stem + ".dat"), p.data);
  io::write_text_atomic(dir / (p.stem + ".gp"), p.script);
}

bool gnuplot_available() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

bool render_plot(const fs::path& dir, const Plot& p, std::string* why) {
  const std::string cmd = fmt::format("cd '{}' && gnuplot '{}.gp' 2>'{}.gp.log'", dir.string(), p.stem, p.stem);
  const int status = std::system(cmd.c_str());
  const fs::path tmp = dir / (p.stem + ".svg.tmp"), log = dir / (p.stem + ".gp.log");
  std::error_code ec;
  if (status != 0 || !fs::is_regular_file(tmp, ec)) {
    fs::remove(tmp, ec);
    if (why) *why = fmt::format("gnuplot failed on {} (see {})", (dir / (p.stem + ".gp")).string(), log.string());
    return false;
  }
  fs::rename(tmp, dir / (p.stem + ".svg"), ec);
  if (ec) {
    if (why) *why = fmt::format("cannot rename {}: {}", tmp.string(), ec.message());
    return false;
  }
  fs::remove(log, ec);
  return true;
}

}  // namespace trk::report
