#include "trk/report/report.h"

#include <fmt/core.h>

#include <algorithm>

#include "trk/io/atomic_file.h"
#include "trk/report/highdim.h"
#include "trk/report/plots.h"
#include "trk/report/reliability.h"
#include "trk/report/tables.h"

namespace trk::report {
namespace fs = std::filesystem;

namespace {

std::string image(const Plot& p, bool rendered) {
  if (rendered) return fmt::format("![{0}]({1}.svg)\n\n", p.title, p.stem);
  return fmt::format("*{0}*: not rendered (gnuplot missing); run `gnuplot {1}.gp` in this folder.\n\n", p.title,
                     p.stem);
}

}  // namespace

ReportSummary write_report(const Results& results, const fs::path& dir, const ReportOptions& options,
                           const std::function<void(const std::string&)>& log) {
  io::ensure_writable_directory(dir);
  ReportSummary s;
  auto emit = [&](const std::string& stem, const Table& t) {
    io::write_text_atomic(dir / (stem + ".md"), t.markdown);
    io::write_text_atomic(dir / (stem + ".json"), t.json.dump(2) + "\n");
    ++s.tables;
  };
  // Cells trained on noisy data appear in the noise table only; every other table and plot is of clean data.
  Results clean = results;
  clean.identify.erase(std::remove_if(clean.identify.begin(), clean.identify.end(),
                                      [](const IdentifyResult& c) { return c.noise > 0; }),
                       clean.identify.end());
  const Table rmse = rmse_table(clean), fit = fit_table(clean), nfe = nfe_table(clean), order = order_table(clean);
  const Table highdim = highdim_table(results), noise = noise_table(results);
  const bool has_highdim = !highdim.json["tables"].empty(), has_noise = !noise.json["tables"].empty();
  if (has_highdim) emit("highdim_table", highdim);
  if (has_noise) emit("noise_table", noise);
  emit("rmse_table", rmse);
  emit("fit_table", fit);
  emit("nfe", nfe);
  emit("order_table", order);
  const bool datasets = !results.datasets.empty();
  Table reliability;
  if (datasets) {
    reliability = reliability_table(results);
    emit("reliability_table", reliability);
  }

  const bool render = options.render && gnuplot_available();
  if (options.render && !render) s.warnings.push_back("gnuplot not found: plots written as data and scripts only");
  auto draw = [&](const std::vector<Plot>& plots) {
    std::string md;
    for (const Plot& p : plots) {
      write_plot(dir, p);
      ++s.plots;
      std::string why;
      bool ok = false;
      if (render) {
        ok = render_plot(dir, p, &why);
        if (ok) ++s.rendered;
        else s.warnings.push_back(why);
      }
      if (log) log(fmt::format("plot {}{}", p.stem, ok ? ".svg" : " (data and script)"));
      md += image(p, ok);
    }
    return md;
  };
  const std::string reliability_md = draw(reliability_plots(results));
  // With several datasets, the plots of single cells are those of the first dataset (the others would repeat them).
  Results first = clean;
  if (datasets)
    first.identify.erase(std::remove_if(first.identify.begin(), first.identify.end(),
                                        [&](const IdentifyResult& c) { return c.dataset != results.datasets.front(); }),
                         first.identify.end());
  const std::string nfe_md = draw(nfe_plots(first));
  const std::string stability_md = draw(stability_plots(first));
  const std::string order_md = draw(order_residual_plots(first));
  const std::string forecast_md = draw(forecast_plots(first));
  const std::string loss_md = draw(loss_plots(first));
  const std::string spacetime_md = has_highdim ? draw(spacetime_plots(first)) : std::string();

  std::string index = "# trk report\n\n";
  index += "Collected from: " + (options.sources.empty() ? std::string("-") : "") ;
  for (size_t i = 0; i < options.sources.size(); ++i) index += (i ? ", " : "") + ("`" + options.sources[i] + "`");
  index += fmt::format(" ({} identify cells{}, {} fit rows). Nothing here was re-trained.\n\n", results.identify.size(),
                       datasets ? fmt::format(" of {} datasets", results.datasets.size()) : "", results.fit.size());
  if (datasets)
    index += "## Identification over datasets: median, interquartile range, datasets at or under the talk's\n\n"
             "Each dataset is a run folder of `trk identify` (its name labels it); the same cells trained on each. "
             "Data: `reliability_table.json`. The per-cell plots further down (forecasts, NFE, stability, order "
             "residuals, loss) are those of dataset `" + results.datasets.front() + "`; `trk report --results` on "
             "another dataset's folder draws its own.\n\n" + reliability.markdown + reliability_md;
  index += "## Identification: RMSE of the forecast at t0+h and t0+4h\n\n"
           "From every test state, the learned flow map applied once and four times; \"> 10\" marks a forecast that "
           "diverged (non-finite or RMSE > 10). Data: `rmse_table.json`.\n\n" +
           rmse.markdown;
  if (has_highdim)
    index += "## Beyond Lorenz-63: normalised RMSE, the persistence floor and the cost\n\n"
             "RMSE divided by sigma, the climatological standard deviation of the training data (RMSE/sigma = 1: no "
             "better than forecasting the mean state), so that systems compare. Persistence (z(t0 + k h) ~ z(t0)) on the "
             "same test states is the floor; \"persistence / solver\" says how many times below it a cell is. NFE per "
             "step: evaluations of f per step h, in training (forward, mean over the main Adam phase, per step of a rollout) and in the "
             "evaluation; status budget_exceeded: training ended on its budget (max_nfe_per_step, max_train_seconds) "
             "and the model reached was evaluated. Data: `highdim_table.json`.\n\n" +
             highdim.markdown + spacetime_md;
  if (has_noise)
    index += "## Noisy observations\n\n"
             "Training and validation samples with Gaussian noise of the given fraction of sigma; the test trajectory "
             "clean, so each cell is the RMSE/sigma against the true trajectory (t0+h / t0+4h). Data: "
             "`noise_table.json`.\n\n" + noise.markdown;
  index += "## Known ODE: does the trained scheme integrate?\n\n"
           "The integrates criterion (docs/method.md): every run bounded over 1000 time units and the climatology within "
           "10% of the reference. Data: `fit_table.json`.\n\n" +
           fit.markdown;
  index += "## Forecasts over a horizon\n\n"
           "From test states, the learned flow map applied k times against the data (`forecast.h5` beside each "
           "`identify.json`, written by `trk identify --forecast-steps N`).\n\n" +
           (forecast_md.empty() ? std::string("No forecast.h5 found.\n\n") : forecast_md);
  index += "## Cost: function evaluations (NFE)\n\nData: `nfe.json`.\n\n" + nfe.markdown + "\n" + nfe_md;
  index += "## Stability regions of the trained schemes\n\n" +
           (stability_md.empty() ? std::string("No trained scheme found.\n\n") : stability_md);
  index += "## Order conditions of the trained schemes\n\nData: `order_table.json`.\n\n" + order.markdown + "\n" +
           order_md;
  index += "## Training loss per phase\n\n"
           "From the histories in each `model.h5` (identify) and `fit.h5` (fit).\n\n" +
           (loss_md.empty() ? std::string("No loss history found.\n\n") : loss_md);
  if (!s.warnings.empty()) {
    index += "## Warnings\n\n";
    for (const auto& w : s.warnings) index += "- " + w + "\n";
  }
  io::write_text_atomic(dir / "index.md", index);
  return s;
}

}  // namespace trk::report
