#include "trk/report/plots.h"
#include "trk/report/reliability.h"
#include "trk/report/tables.h"

#include <fmt/core.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <map>
#include <set>

#include "trk/io/atomic_file.h"
#include "trk/io/forecast_io.h"
#include "trk/io/guarded_read.h"
#include "trk/io/hdf5_util.h"
#include "trk/io/json_io.h"
#include "trk/tableau/named_tableaux.h"
#include "trk/tableau/order_conditions.h"
#include "trk/tableau/stability.h"

namespace trk::report {
namespace fs = std::filesystem;

namespace {

// UTF-8 text (the axis labels write the Greek lambda as the character itself: {/Symbol l} needs a Symbol font
// that the set-up does not install, and then shows a Latin l). Sans-serif fonts render it (DejaVu Sans on Debian).
constexpr const char* kTerminal =
    "set encoding utf8\nset datafile missing '?'\n"
    "set terminal svg size 720,540 dynamic enhanced font 'Helvetica,13' background '#ffffff'\n";
constexpr const char* kLambda = "\u03bb";  // λ

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


Plot stability_plot(const std::string& stem, const std::string& label, const std::string& key, const ButcherTableau& t) {
  // Radius that keeps the components near the origin and drops far-out specks (docs/method.md: dopri8 near 130).
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
                 "set title {1} noenhanced\n"
                 "set xlabel 'Re(h {7})' noenhanced\nset ylabel 'Im(h {7})' noenhanced\n"
                 "set size ratio -1\nset grid lc rgb '#dddddd'\n"
                 "set xrange [{2:.3g}:{3:.3g}]\nset yrange [{4:.3g}:{5:.3g}]\n"
                 "set xzeroaxis lt -1 lc rgb '#888888'\nset yzeroaxis lt -1 lc rgb '#888888'\n"
                 "set key outside right top noenhanced\n"
                 "set style fill transparent solid 0.25 noborder\n"
                 "plot '{0}.dat' index 0 with filledcurves closed lc rgb '#1f77b4' title {6}, \\\n"
                 "     '{0}.dat' index 0 with lines lw 2 lc rgb '#1f77b4' notitle, \\\n"
                 "     '{0}.dat' index 1 with lines lw 2 dt 2 lc rgb '#d62728' title 'RK4', \\\n"
                 "     '{0}.dat' index 2 with lines lw 2 dt 3 lc rgb '#2ca02c' title 'Euler'\n",
                 stem, gnuplot_string(p.title), re_lo - pad, re_hi + pad, -im_hi - pad, im_hi + pad, gnuplot_string(key), kLambda);
  return p;
}

}  // namespace

std::string slug(std::string s) {
  std::uint64_t hash = 1469598103934665603ull;  // FNV-1a of the whole name, before it is shortened
  for (char& ch : s) {
    hash = (hash ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-') ch = '_';
  }
  if (s.size() > kMaxSlugLength) s = fmt::format("{}_{:016x}", s.substr(0, kMaxSlugLength - 17), hash);
  return s;
}

std::string gnuplot_string(std::string_view text) {
  std::string out = "'";
  for (const char ch : text) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '\'') out += "''";
    else if (u < 0x20 || u == 0x7f) out += ' ';  // a newline would end the command
    else out += ch;
  }
  return out + "'";
}

std::string shell_string(std::string_view text) {
  std::string out = "'";
  for (const char ch : text) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

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
    // Two lines: the long title does not fit above the plot at 720 px.
    const std::string plot_title = gnuplot_string("Order-condition residuals, schemes trained by " + kind) + " . \"\\n\" . " +
                                   gnuplot_string("max |Phi(t) - 1/gamma(t)| over the trees of each order");
    std::string plot_cmd = "plot ";
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i) p.data += "\n\n";
      for (size_t k = 0; k < lines[i].residual.size(); ++k)
        p.data += fmt::format("{} {:.6e}\n", k + 1, std::max(lines[i].residual[k], kFloor));
      // The references in grey and black with their own dash and point type; the trained schemes in colour.
      const bool rk4_ref = lines[i].label == "rk4 (reference)", euler_ref = lines[i].label == "euler (reference)";
      const char* style = rk4_ref     ? "lw 2 pt 4 ps 0.9 dt 2 lc rgb '#555555'"
                          : euler_ref ? "lw 2 pt 6 ps 0.9 dt 4 lc rgb '#000000'"
                                      : "lw 2 pt 7 ps 0.7";
      plot_cmd += fmt::format("{}'{}.dat' index {} with linespoints {} title {}", i ? ", \\\n     " : "", p.stem, i,
                              style, gnuplot_string(lines[i].label));
    }
    p.script = std::string(kTerminal) +
               fmt::format(
                   "set output '{0}.svg.tmp'\nset title {1} noenhanced\n"
                   "set xlabel 'order of the rooted trees'\nset ylabel 'max |residual| (exact zeros at 1e-17)'\n"
                   "set logscale y\nset format y '10^{{%L}}'\nset xrange [0.5:{2}.5]\nset xtics 1\n"
                   "set grid lc rgb '#dddddd'\nset key below noenhanced\n",
                   p.stem, plot_title, max_order) +
               plot_cmd + "\n";
    plots.push_back(std::move(p));
  }
  return plots;
}

namespace {

// A history of an HDF5 file as doubles, empty when the file, group or dataset is absent, unreadable (the tables still
// have the summary numbers) or longer than kMaxHistoryValues (a plot draws at most ~500 points of it).
constexpr double kMaxHistoryValues = 1e7;
std::vector<double> read_history(const fs::path& file, const std::string& group, const std::string& name) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return {};
  try {
    return io::read_hdf5_guarded(file.string(), "an HDF5 file of trk", [&]() -> std::vector<double> {
      const io::h5::File f = io::h5::File::open_read(file);
      if (!f.has_group(group)) return {};
      const io::h5::Group g = f.open_group(group);
      if (!g.has_dataset(name)) return {};
      const io::h5::ArrayShape shape = g.read_shape(name);
      if (shape.count() > kMaxHistoryValues) return {};
      return g.read_array(name).values;
    });
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace

std::vector<Plot> nfe_plots(const Results& r) {
  Plot p;
  p.stem = "nfe_training";
  p.title = "Function evaluations per training iteration (forward pass): adaptive Dopri8 against the fixed TRK schemes";
  std::string plot_cmd = "plot ";
  int block = 0;
  double y_lo = 0, y_hi = 0;
  for (const auto& c : r.identify) {
    if (c.solver != "dopri8" && !c.trained_scheme()) continue;
    const fs::path model = c.file.parent_path() / "model.h5";
    std::error_code ec;
    if (!fs::is_regular_file(model, ec)) continue;
    // Empty for a model file this trk cannot read: the NFE table still has the means.
    const std::vector<double> nfe = read_history(model, "history", "nfe_forward");
    if (nfe.empty()) continue;
    for (double v : nfe) {
      if (!(v > 0)) continue;
      y_lo = y_lo > 0 ? std::min(y_lo, v) : v;
      y_hi = std::max(y_hi, v);
    }
    // At most ~500 points: means over equal windows of iterations.
    const size_t window = std::max<size_t>(1, nfe.size() / 500);
    if (block) p.data += "\n\n";
    for (size_t i = 0; i < nfe.size(); i += window) {
      double sum = 0;
      size_t n = 0;
      for (size_t k = i; k < std::min(nfe.size(), i + window); ++k, ++n) sum += nfe[k];
      p.data += fmt::format("{} {:.6g}\n", i + 1, sum / n);
    }
    plot_cmd += fmt::format("{}'{}.dat' index {} with lines lw 2 title {}", block ? ", \\\n     " : "",
                            p.stem, block, gnuplot_string(fmt::format("{} h={} ({})", c.solver, format_step(c.h), c.model)));
    ++block;
  }
  if (block == 0) return {};
  p.script = std::string(kTerminal) +
             fmt::format(
                 "set output '{0}.svg.tmp'\nset title {1} noenhanced\n"
                 "set xlabel 'training iteration (main phase)'\n"
                 "set ylabel 'evaluations of f per iteration, forward (batched over all pairs)'\n"
                 "set logscale y\nset yrange [{2:.4g}:{3:.4g}]\nset grid lc rgb '#dddddd'\nset key below noenhanced\n",
                 p.stem, gnuplot_string("NFE per training iteration"), y_lo / 1.6, y_hi * 1.6) +
             plot_cmd + "\n";
  return {p};
}

namespace {

// "x y" lines of a history starting at iteration `first`, at most ~400 points (means over equal windows);
// non-finite values written as "?" (a gap in the line).
std::string history_block(const std::vector<double>& v, size_t first) {
  std::string out;
  const size_t window = std::max<size_t>(1, v.size() / 400);
  for (size_t i = 0; i < v.size(); i += window) {
    double sum = 0;
    size_t n = 0;
    for (size_t k = i; k < std::min(v.size(), i + window); ++k, ++n) sum += v[k];
    const double y = sum / n;
    out += std::isfinite(y) && y > 0 ? fmt::format("{} {:.6g}\n", first + i + 1, y) : fmt::format("{} ?\n", first + i + 1);
  }
  return out;
}

std::string join_plot(const std::vector<std::string>& parts) {
  std::string out = "plot ";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", \\\n     " : "") + parts[i];
  return out + "\n";
}

}  // namespace

std::vector<Plot> loss_plots(const Results& r) {
  std::vector<Plot> plots;
  // identify: one plot per (system, h); a colour per solver, a dash per phase.
  std::map<std::pair<std::string, double>, std::vector<const IdentifyResult*>> by_step;
  for (const auto& c : r.identify) by_step[{c.system, c.h}].push_back(&c);
  for (const auto& [key, cells] : by_step) {
    Plot p;
    p.stem = slug("loss_identify_" + key.first + "_h" + format_step(key.second));
    p.title = fmt::format("Training loss per phase, identify {} h = {}", key.first, format_step(key.second));
    std::vector<std::string> parts;
    int block = 0, colour = 0;
    for (const IdentifyResult* c : cells) {
      const fs::path model = c->file.parent_path() / "model.h5";
      struct Phase {
        const char* dataset;
        const char* label;
        int dash;
      };
      size_t first = 0;
      bool any = false;
      for (const Phase& ph : {Phase{"meet_loss", "continuation", 2}, Phase{"loss", "main", 1},
                              Phase{"refine_loss", "L-BFGS", 3}, Phase{"lm_loss", "Levenberg-Marquardt", 4}}) {
        const std::vector<double> v = read_history(model, "history", ph.dataset);
        if (v.empty()) continue;
        if (block) p.data += "\n\n";
        p.data += history_block(v, first);
        parts.push_back(fmt::format("'{}.dat' index {} with lines lw 2 dt {} lc {} title {}", p.stem, block,
                                    ph.dash, colour + 1, gnuplot_string(fmt::format("{} {} ({})", c->solver, ph.label, c->model))));
        first += v.size();
        ++block;
        any = true;
      }
      if (any) ++colour;
    }
    if (block == 0) continue;
    p.script = std::string(kTerminal) +
               fmt::format("set output '{0}.svg.tmp'\nset title {1} noenhanced\n"
                           "set xlabel 'iteration (phases one after the other)'\nset ylabel 'loss (mean squared error)'\n"
                           "set logscale y\nset format y '10^{{%L}}'\nset grid lc rgb '#dddddd'\nset key below noenhanced\n",
                           p.stem, gnuplot_string(p.title)) +
               join_plot(parts);
    plots.push_back(std::move(p));
  }
  // fit: one plot per fit.h5, a line per trained row.
  std::map<fs::path, std::vector<const FitResult*>> by_file;
  for (const auto& c : r.fit)
    if (c.trained) by_file[c.file].push_back(&c);
  for (const auto& [file, rows] : by_file) {
    Plot p;
    p.stem = slug("loss_fit_" + rows.front()->system + "_" + rows.front()->scheme);
    p.title = fmt::format("Training loss of the {} schemes, fit {}", rows.front()->scheme, rows.front()->system);
    std::vector<std::string> parts;
    int block = 0;
    for (const FitResult* c : rows) {
      const std::vector<double> v =
          read_history(file.parent_path() / "fit.h5", fmt::format("{}_h{}", c->scheme, c->h), "loss_history");
      if (v.empty()) continue;
      if (block) p.data += "\n\n";
      p.data += history_block(v, 0);
      parts.push_back(fmt::format("'{}.dat' index {} with lines lw 2 title {}", p.stem, block,
                                  gnuplot_string(fmt::format("{} h={}", c->scheme, format_step(c->h)))));
      ++block;
    }
    if (block == 0) continue;
    p.script = std::string(kTerminal) +
               fmt::format("set output '{0}.svg.tmp'\nset title {1} noenhanced\n"
                           "set xlabel 'iteration (kept candidate)'\nset ylabel 'loss'\n"
                           "set logscale y\nset format y '10^{{%L}}'\nset grid lc rgb '#dddddd'\nset key below noenhanced\n",
                           p.stem, gnuplot_string(p.title)) +
               join_plot(parts);
    plots.push_back(std::move(p));
  }
  return plots;
}

std::vector<Plot> forecast_plots(const Results& r) {
  struct Entry {
    const IdentifyResult* cell;
    io::ForecastFile file;
  };
  std::map<std::pair<std::string, double>, std::vector<Entry>> by_step;
  for (const auto& c : r.identify) {
    const fs::path path = c.file.parent_path() / "forecast.h5";
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) continue;
    try {
      by_step[{c.system, c.h}].push_back(
          {&c, io::read_hdf5_guarded(path.string(), "a forecast.h5 of trk identify", [&] { return io::read_forecast(path); })});
    } catch (const std::exception&) {
      continue;  // unreadable: no plot for this cell
    }
  }
  std::vector<Plot> plots;
  for (const auto& [key, entries] : by_step) {
    const std::string step = format_step(key.second);
    const ForecastSummary& first = entries.front().file.forecast;
    const int dim = static_cast<int>(first.truth[0].rows());
    const int shown = std::min(dim, 3);
    // Against truth: the first start state (the same test state in every file of this step when written with the
    // same options), its first three components.
    Plot f;
    f.stem = slug("forecast_" + key.first + "_h" + step);
    f.title = fmt::format("Forecasts against the truth from one test state, {} h = {}", key.first, step);
    auto trajectory = [&](const ForecastSummary& s, const std::vector<Mat>& z) {
      std::string out;
      for (size_t k = 0; k < z.size(); ++k) {
        out += fmt::format("{:.6g}", k * s.h);
        for (int i = 0; i < shown; ++i) {
          const double v = z[k](i, 0);
          out += std::isfinite(v) && std::abs(v) < 1e6 ? fmt::format(" {:.8g}", v) : std::string(" ?");
        }
        out += "\n";
      }
      return out;
    };
    f.data = trajectory(first, first.truth);
    for (const Entry& e : entries) f.data += "\n\n" + trajectory(e.file.forecast, e.file.forecast.predicted);
    // y range of each panel from the truth, with a margin: a diverged forecast leaves the panel.
    std::string panels;
    for (int i = 0; i < shown; ++i) {
      double lo = first.truth[0](i, 0), hi = lo;
      for (const Mat& z : first.truth) lo = std::min(lo, z(i, 0)), hi = std::max(hi, z(i, 0));
      const double pad = 0.25 * std::max(hi - lo, 1.0);
      std::vector<std::string> parts = {
          fmt::format("'{}.dat' index 0 using 1:{} with lines lw 3 lc rgb '#000000' title 'truth'", f.stem, i + 2)};
      for (size_t b = 0; b < entries.size(); ++b)
        parts.push_back(fmt::format("'{}.dat' index {} using 1:{} with lines lw 2 dt {} lc {} title {}", f.stem, b + 1,
                                    i + 2, b % 2 ? 2 : 1, b + 1, gnuplot_string(entries[b].cell->solver)));
      panels += fmt::format("set ylabel 'z{}'\nset yrange [{:.4g}:{:.4g}]\n{}{}", i + 1, lo - pad, hi + pad,
                            i + 1 == shown ? "set xlabel 'lead time'\n" : "unset xlabel\n", join_plot(parts));
      if (i == 0) panels += "unset key\n";
    }
    f.script = "set encoding utf8\nset datafile missing '?'\nset terminal svg size 720,760 dynamic enhanced font 'Helvetica,13' background '#ffffff'\n" +
               fmt::format("set output '{0}.svg.tmp'\nset grid lc rgb '#dddddd'\nset key top right horizontal noenhanced font ',11'\n"
                           "set multiplot layout {1},1 title {2} noenhanced\n",
                           f.stem, shown, gnuplot_string(f.title)) +
               panels + "unset multiplot\n";
    plots.push_back(std::move(f));

    Plot e;
    e.stem = slug("forecast_error_" + key.first + "_h" + step);
    e.title = fmt::format("Forecast error against lead time (RMSE over the start states), {} h = {}", key.first, step);
    std::vector<std::string> parts;
    double lowest = 0;  // the smallest positive RMSE: the bottom of the y range; the top is 100 (diverged: > 10)
    for (size_t b = 0; b < entries.size(); ++b) {
      const ForecastSummary& s = entries[b].file.forecast;
      for (int k = 1; k <= s.steps; ++k)
        if (std::isfinite(s.rmse(k)) && s.rmse(k) > 0) lowest = lowest > 0 ? std::min(lowest, s.rmse(k)) : s.rmse(k);
      if (b) e.data += "\n\n";
      for (int k = 1; k <= s.steps; ++k)
        e.data += std::isfinite(s.rmse(k)) && s.rmse(k) > 0 ? fmt::format("{:.6g} {:.6g}\n", k * s.h, s.rmse(k))
                                                            : fmt::format("{:.6g} ?\n", k * s.h);
      parts.push_back(fmt::format("'{}.dat' index {} with linespoints lw 2 pt 7 ps 0.5 lc {} title {}", e.stem,
                                  b, b + 1, gnuplot_string(fmt::format("{} ({} starts)", entries[b].cell->solver, s.num_starts()))));
    }
    parts.push_back("10 with lines dt 2 lw 2 lc rgb '#555555' title 'diverged above 10'");
    e.script = std::string(kTerminal) +
               fmt::format("set output '{0}.svg.tmp'\nset title {1} noenhanced\n"
                           "set xlabel 'lead time (one step of the flow map = h = {2})'\nset ylabel 'RMSE'\n"
                           "set logscale y\nset format y '10^{{%L}}'\nset yrange [{3:.3g}:100]\n"
                           "set grid lc rgb '#dddddd'\nset key below noenhanced\n",
                           e.stem, gnuplot_string(fmt::format("Forecast error against lead time, {} h = {}", key.first, step)), step,
                           lowest > 0 ? lowest / 2 : 1e-3) +
               join_plot(parts);
    plots.push_back(std::move(e));
  }
  return plots;
}

std::vector<Plot> reliability_plots(const Results& r) {
  const std::vector<CellSpread> spreads = cell_spreads(r);
  std::map<std::string, std::vector<const CellSpread*>> by_system;
  for (const auto& c : spreads) by_system[c.system].push_back(&c);
  constexpr double kDiverged = 30;  // where "> 10" is drawn, above the dashed line at 10
  constexpr const char* kColours[] = {"#9467bd", "#2ca02c", "#1f77b4", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};
  std::vector<Plot> plots;
  for (const auto& [system, cells] : by_system) {
    std::vector<double> steps;
    std::vector<std::pair<std::string, std::string>> series;  // (solver, model), in table order
    for (const auto* c : cells) {
      if (std::find(steps.begin(), steps.end(), c->h) == steps.end()) steps.push_back(c->h);
      if (std::find(series.begin(), series.end(), std::make_pair(c->solver, c->model)) == series.end())
        series.emplace_back(c->solver, c->model);
    }
    std::sort(steps.begin(), steps.end());
    std::set<std::string> models;  // outside sr: the model joins the solver's name when there are several
    for (const auto& [solver, model] : series)
      if (solver != "sr") models.insert(model);
    // Step g at x = g + 1, its solvers side by side in slots of width 0.8 / S, a cell's datasets spread over 0.7 of
    // a slot.
    const double slot = 0.8 / series.size();
    auto x_of = [&](const CellSpread& c) {
      const size_t g = std::find(steps.begin(), steps.end(), c.h) - steps.begin();
      const size_t s = std::find(series.begin(), series.end(), std::make_pair(c.solver, c.model)) - series.begin();
      return g + 1 + (s - 0.5 * (series.size() - 1)) * slot;
    };
    auto y_of = [&](double v) { return std::isfinite(v) ? v : kDiverged; };
    std::string xtics;
    for (size_t g = 0; g < steps.size(); ++g)
      xtics += fmt::format("{}'h = {}' {}", g ? ", " : "", format_step(steps[g]), g + 1);
    for (int k : {1, 4}) {
      const std::string horizon = k == 1 ? "t0+h" : "t0+4h";
      Plot p;
      p.stem = slug("reliability_" + system + "_" + horizon);
      p.title = fmt::format("RMSE at {} of every dataset, per solver and step h, {} ({} datasets)", horizon, system,
                            r.datasets.size());
      double lowest = 0;
      std::vector<std::string> parts;
      int block = 0;
      auto add_block = [&](const std::string& text, const std::string& how) {
        if (text.empty()) return;
        if (block) p.data += "\n\n";
        p.data += text;
        parts.push_back(fmt::format("'{}.dat' index {} {}", p.stem, block++, how));
      };
      std::string medians, paper;  // drawn under and over the points
      std::vector<std::pair<std::string, std::string>> per_series;  // (data, style)
      for (size_t s = 0; s < series.size(); ++s) {
        std::string points;
        for (const auto* c : cells) {
          if (std::make_pair(c->solver, c->model) != series[s]) continue;
          const HorizonSpread& h = k == 1 ? c->at_h : c->at_4h;
          const double x = x_of(*c), n = h.rmse.size();
          for (size_t d = 0; d < h.rmse.size(); ++d) {
            if (std::isfinite(h.rmse[d]) && h.rmse[d] > 0)
              lowest = lowest > 0 ? std::min(lowest, h.rmse[d]) : h.rmse[d];
            points += fmt::format("{:.4f} {:.6g}\n", x + ((d + 0.5) / n - 0.5) * 0.7 * slot, y_of(h.rmse[d]));
          }
          medians += fmt::format("{:.4f} {:.6g} {:.4f} 0\n", x - 0.4 * slot, y_of(h.median), 0.8 * slot);
          if (h.paper) {
            const double v = h.paper->diverged || !h.paper->rmse ? INFINITY : *h.paper->rmse;
            if (std::isfinite(v) && v > 0) lowest = lowest > 0 ? std::min(lowest, v) : v;
            paper += fmt::format("{:.4f} {:.6g}\n", x, y_of(v));
          }
        }
        const auto& [solver, model] = series[s];
        per_series.emplace_back(points, fmt::format("with points pt 7 ps 0.6 lc rgb '{}' title {}",
                                                    kColours[s % std::size(kColours)],
                                                    gnuplot_string(solver + (models.size() < 2 || solver == "sr" ? "" : " (" + model + ")"))));
      }
      add_block(medians, "with vectors nohead lw 2 lc rgb '#000000' title 'median'");
      for (const auto& [points, how] : per_series) add_block(points, how);
      add_block(paper, "with points pt 12 ps 1.6 lw 2 lc rgb '#d62728' title \"the talk's\"");
      parts.push_back("10 with lines dt 2 lw 2 lc rgb '#555555' title '> 10: diverged (drawn at 30)'");
      p.script = std::string(kTerminal) +
                 fmt::format("set output '{0}.svg.tmp'\nset title {1} noenhanced\n"
                             "set xlabel 'step h (solvers side by side; one point per dataset)'\n"
                             "set ylabel 'RMSE at {2}'\n"
                             "set logscale y\nset format y '10^{{%L}}'\nset yrange [{3:.3g}:100]\n"
                             "set xrange [0.5:{4}.5]\nset xtics ({5})\nset grid ytics lc rgb '#dddddd'\n"
                             "set key below horizontal width -2 noenhanced\n",
                             p.stem, gnuplot_string(fmt::format("RMSE at {} over {} datasets, {}", horizon, r.datasets.size(), system)),
                             horizon, lowest > 0 ? lowest / 3 : 1e-3, steps.size(), xtics) +
                 join_plot(parts);
      plots.push_back(std::move(p));
    }
  }
  return plots;
}

void write_plot(const fs::path& dir, const Plot& p) {
  io::write_text_atomic(dir / (p.stem + ".dat"), p.data);
  io::write_text_atomic(dir / (p.stem + ".gp"), p.script);
}

bool gnuplot_available() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

bool render_plot(const fs::path& dir, const Plot& p, std::string* why) {
  const std::string cmd = fmt::format("cd {} && gnuplot {} 2>{}", shell_string(dir.string()), shell_string(p.stem + ".gp"),
                                      shell_string(p.stem + ".gp.log"));
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
