// trk report: collecting results, the tables, the plots' data, the regression check (library and exit codes).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "run_trk.h"
#include "trk/io/json_io.h"
#include "trk/report/check.h"
#include "trk/report/plots.h"
#include "trk/report/reliability.h"
#include "trk/report/results.h"
#include "trk/report/tables.h"
#include "trk/tableau/named_tableaux.h"

namespace fs = std::filesystem;

namespace trk::report {
namespace {

using io::json;

json identify_row(const std::string& solver, double h, double rmse_h, double rmse_4h) {
  auto cell = [](double x) { return std::isfinite(x) && x <= 10 ? json(x) : json(nullptr); };
  json row = {{"format", "trk-identify"},
              {"format_version", 1},
              {"system", "lorenz63"},
              {"h", h},
              {"solver", solver},
              {"model", solver == "sr" ? "polynomial" : "bilinear"},
              {"rmse", {{"t0+h", cell(rmse_h)}, {"t0+4h", cell(rmse_4h)}}},
              {"diverged", {{"t0+h", !(rmse_h <= 10)}, {"t0+4h", !(rmse_4h <= 10)}}},
              {"test_states", 496},
              {"nfe",
               {{"train_forward_per_iteration", {{"mean", 10.0}, {"last", 10}}},
                {"train_backward_per_iteration", {{"mean", 10.0}, {"last", 10}}},
                {"inference_per_step", 10.0},
                {"inference_per_unit_time", 10.0 / h}}},
              {"iterations", 100},
              {"train_seconds", 1.5},
              {"status", "completed"}};
  if (solver == "rk4") row["tableau"] = io::tableau_to_json(named_tableau("rk4"));
  return row;
}

json fit_file(bool integrates_017) {
  const json tab = io::tableau_to_json(named_tableau("rk4"));
  auto row = [&](double h, const std::string& scheme, bool trained, bool integrates, int bounded) {
    return json{{"h", h},         {"scheme", scheme},  {"trained", trained}, {"integrates", integrates},
                {"bounded_runs", bounded}, {"runs", 20}, {"worst_deviation", 0.05}, {"one_step_rmse", 0.1},
                {"order", 4},     {"real_axis_interval", 2.785}, {"tableau", tab}};
  };
  return {{"format", "trk-fit"},
          {"format_version", 1},
          {"configuration", {{"system", "lorenz63"}}},
          {"rows",
           {row(0.1, "trk4", true, true, 20), row(0.1, "rk4", false, true, 20),
            row(0.17, "trk4", true, integrates_017, integrates_017 ? 20 : 18), row(0.17, "rk4", false, false, 10)}}};
}

class Report : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("trk_report_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  // A results folder: identify cells (solver, h, rmse at t0+h, at t0+4h; > 10 diverged) and a fit.json.
  fs::path write_results(const std::string& name, double trk10_rmse, bool integrates_017 = true) {
    const fs::path dir = root_ / name;
    auto put = [&](const fs::path& file, const json& j) {
      fs::create_directories(file.parent_path());
      std::ofstream(file) << j.dump(1);
    };
    put(dir / "identify/h0.2/trk10/identify.json", identify_row("trk10", 0.2, trk10_rmse, 0.02));
    put(dir / "identify/h0.2/rk4/identify.json", identify_row("rk4", 0.2, 2.0, 11.0));
    put(dir / "identify/h0.2/sr/identify.json", identify_row("sr", 0.2, INFINITY, 6.0));
    put(dir / "fit/fit.json", fit_file(integrates_017));
    return dir;
  }
  fs::path root_;
};

TEST_F(Report, CollectsEveryResultBelowTheFoldersInTableOrder) {
  const Results r = collect_results({write_results("a", 0.01)});
  ASSERT_EQ(r.identify.size(), 3u);
  EXPECT_EQ(r.identify[0].solver, "sr");  // the paper's row order: sr, euler, rk4, dopri8, trk10
  EXPECT_EQ(r.identify[1].solver, "rk4");
  EXPECT_EQ(r.identify[2].solver, "trk10");
  EXPECT_TRUE(r.identify[0].at_h.diverged);
  EXPECT_FALSE(r.identify[0].at_h.rmse.has_value());
  EXPECT_DOUBLE_EQ(*r.identify[2].at_h.rmse, 0.01);
  EXPECT_TRUE(r.identify[1].tableau.has_value());
  EXPECT_FALSE(r.identify[1].trained_scheme());  // rk4 is fixed, not trained
  ASSERT_EQ(r.fit.size(), 4u);
  EXPECT_EQ(r.fit[0].scheme, "trk4");  // trained scheme first at each h
  EXPECT_EQ(r.fit[0].system, "lorenz63");
}

TEST_F(Report, RefusesMalformedFilesNamingTheFileAndField) {
  const fs::path dir = write_results("a", 0.01);
  const fs::path file = dir / "identify/h0.2/trk10/identify.json";
  json j = identify_row("trk10", 0.2, 0.01, 0.02);
  j["rmse"].erase("t0+4h");
  std::ofstream(file) << j.dump();
  try {
    collect_results({dir});
    FAIL() << "accepted a row without rmse.t0+4h";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("trk10/identify.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("rmse.t0+4h"), std::string::npos) << e.what();
  }
  j = identify_row("trk10", 0.2, 0.01, 0.02);
  j["format_version"] = 3;
  std::ofstream(file) << j.dump();
  EXPECT_THROW(collect_results({dir}), std::invalid_argument);
  std::ofstream(file) << "{ not json";
  EXPECT_ANY_THROW(collect_results({dir}));
  EXPECT_THROW(collect_results({root_ / "missing"}), std::invalid_argument);
}

TEST_F(Report, RefusesTwoFilesForTheSameCell) {
  const fs::path a = write_results("a", 0.01), b = write_results("b", 0.02);
  EXPECT_THROW(collect_results({a, b}), std::invalid_argument);
}

TEST_F(Report, RmseTableHasThePapersLayoutAndValues) {
  const Table t = rmse_table(collect_results({write_results("a", 0.0123)}));
  // Ours with the talk's in brackets; a diverged cell reads "> 10"; solvers with no result still show the talk's.
  EXPECT_NE(t.markdown.find("| trk10 | 0.0123 (0.017) | 0.02 (0.02) |"), std::string::npos) << t.markdown;
  EXPECT_NE(t.markdown.find("| sr | > 10 (9.06) | 6 (6.02) |"), std::string::npos) << t.markdown;
  EXPECT_NE(t.markdown.find("| rk4 | 2 (2.05) | > 10 (3.82) |"), std::string::npos) << t.markdown;
  EXPECT_NE(t.markdown.find("| euler | - (4.27) | - (> 10) |"), std::string::npos) << t.markdown;
  EXPECT_NE(t.markdown.find("h = 0.4: t0+h"), std::string::npos);
  const json& rows = t.json["tables"][0]["rows"];
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[4]["solver"], "trk10");
  EXPECT_DOUBLE_EQ(rows[4]["cells"][0]["ours"]["rmse"].get<double>(), 0.0123);
  EXPECT_DOUBLE_EQ(rows[4]["cells"][0]["paper"]["rmse"].get<double>(), 0.017);
  // Without rmse_mean_per_state in the files, no second table.
  EXPECT_EQ(t.markdown.find("mean RMSE over the test states"), std::string::npos) << t.markdown;
  EXPECT_FALSE(rows[4]["cells"][0].contains("ours_mean_per_state"));
}

TEST_F(Report, RmseTableGivesTheMeanRmseOverTheTestStatesWhenTheFilesHaveIt) {
  const fs::path dir = write_results("a", 0.0123);
  json j = identify_row("trk10", 0.2, 0.0123, 0.02);
  j["rmse_mean_per_state"] = {{"t0+h", 0.0101}, {"t0+4h", 0.0152}};
  std::ofstream(dir / "identify/h0.2/trk10/identify.json") << j.dump();
  const Table t = rmse_table(collect_results({dir}));
  const size_t mean_block = t.markdown.find("mean RMSE over the test states");
  ASSERT_NE(mean_block, std::string::npos) << t.markdown;
  EXPECT_NE(t.markdown.find("| trk10 | 0.0101 (0.017) | 0.0152 (0.02) |", mean_block), std::string::npos) << t.markdown;
  EXPECT_NE(t.markdown.find("| rk4 | - (2.05) | - (3.82) |", mean_block), std::string::npos) << t.markdown;
  EXPECT_LT(t.markdown.find("| trk10 | 0.0123 (0.017) | 0.02 (0.02) |"), mean_block);
  const json& cell = t.json["tables"][0]["rows"][4]["cells"][1];
  EXPECT_DOUBLE_EQ(cell["ours_mean_per_state"]["rmse"].get<double>(), 0.0152);
  EXPECT_DOUBLE_EQ(cell["ours"]["rmse"].get<double>(), 0.02);
}

TEST_F(Report, FitTableGivesVerdictsWithBoundedRuns) {
  const Table t = fit_table(collect_results({write_results("a", 0.01, false)}));
  EXPECT_NE(t.markdown.find("| 0.1 | **yes** (20/20) | **yes** (20/20) |"), std::string::npos) << t.markdown;
  EXPECT_NE(t.markdown.find("| 0.17 | no (18/20) | no (10/20) |"), std::string::npos) << t.markdown;
}

TEST_F(Report, StabilityPlotOfRk4CrossesTheRealAxisAtItsInterval) {
  Results r;
  FitResult f;
  f.system = "lorenz63";
  f.scheme = "trk4";
  f.h = 0.1;
  f.trained = true;
  f.tableau = named_tableau("rk4");
  r.fit.push_back(f);
  const std::vector<Plot> plots = stability_plots(r);
  ASSERT_EQ(plots.size(), 1u);
  // Block 0 (the trained scheme) is RK4's boundary: its leftmost point is -2.785 on the real axis, its highest
  // point above the imaginary-axis interval 2.828 (the curve bulges out right of the axis, to Im ~ 2.94).
  double re_min = 0, im_max = 0;
  std::istringstream in(plots[0].data.substr(0, plots[0].data.find("\n\n\n")));
  for (double re, im; in >> re >> im;) {
    re_min = std::min(re_min, re);
    im_max = std::max(im_max, im);
  }
  EXPECT_NEAR(re_min, -2.785, 2e-3);
  EXPECT_GT(im_max, 2.83);
  EXPECT_LT(im_max, 3.0);
  EXPECT_NE(plots[0].script.find("stability_fit_lorenz63_trk4_h0.1.svg.tmp"), std::string::npos);
}

TEST_F(Report, PlotLabelsNeedNoSymbolFontAndReferenceCurvesHaveTheirOwnStyles) {
  Results r;
  FitResult f;
  f.system = "lorenz63";
  f.scheme = "trk4";
  f.h = 0.1;
  f.trained = true;
  f.tableau = named_tableau("rk4");
  r.fit.push_back(f);
  // {/Symbol l} shows a Latin l without the Symbol font: the labels carry the UTF-8 lambda itself.
  const Plot s = stability_plots(r).at(0);
  EXPECT_EQ(s.script.find("/Symbol"), std::string::npos) << s.script;
  EXPECT_NE(s.script.find("Re(h \u03bb)"), std::string::npos) << s.script;
  EXPECT_NE(s.script.find("set encoding utf8"), std::string::npos);
  const Plot o = order_residual_plots(r).at(0);
  EXPECT_NE(o.script.find("dt 2 lc rgb '#555555' title 'rk4 (reference)'"), std::string::npos) << o.script;
  EXPECT_NE(o.script.find("dt 4 lc rgb '#000000' title 'euler (reference)'"), std::string::npos) << o.script;
}

TEST(GnuplotString, IsOneSingleQuotedLiteralWithQuotesDoubledAndNoControlCharacters) {
  EXPECT_EQ(gnuplot_string("l63"), "'l63'");
  EXPECT_EQ(gnuplot_string("it's"), "'it''s'");
  EXPECT_EQ(gnuplot_string("a\"b`touch X`"), "'a\"b`touch X`'");
  EXPECT_EQ(gnuplot_string("a\nsystem(\"touch X\")\r"), "'a system(\"touch X\") '");
  EXPECT_EQ(shell_string("a'b"), "'a'\\''b'");
}

// Names from a results folder written by someone else (identify.json's system, model and solver) are the plot's
// text: rendering the scripts runs none of the commands they spell.
TEST_F(Report, NamesThatSpellGnuplotCommandsAreRenderedAsText) {
  if (!gnuplot_available()) GTEST_SKIP() << "gnuplot not on PATH";
  fs::create_directories(root_);
  const std::string touch = "touch " + (root_ / "X").string();
  Results r;
  IdentifyResult c;
  c.system = "l63`" + touch + "`";
  c.model = "m\"'); system(\"" + touch + "1\") #";
  c.solver = "trk4'`" + touch + "2`'\nsystem('" + touch + "3')";
  c.h = 0.1;
  c.tableau = named_tableau("rk4");
  r.identify.push_back(c);
  FitResult f;
  f.system = "l63\" . system(\"" + touch + "4\") . \"";
  f.scheme = "trk4@x";
  f.h = 0.1;
  f.trained = true;
  f.tableau = named_tableau("rk4");
  r.fit.push_back(f);
  std::vector<Plot> plots = stability_plots(r);
  for (Plot& p : order_residual_plots(r)) plots.push_back(std::move(p));
  ASSERT_EQ(plots.size(), 4u);
  const fs::path dir = root_ / "plots";
  fs::create_directories(dir);
  for (const Plot& p : plots) {
    write_plot(dir, p);
    std::string why;
    EXPECT_TRUE(render_plot(dir, p, &why)) << why << "\n" << p.script;
  }
  for (const char* n : {"X", "X1", "X2", "X3", "X4"}) EXPECT_FALSE(fs::exists(root_ / n)) << n;
  const std::string svg = trk::testing::slurp(dir / (plots[0].stem + ".svg"));
  EXPECT_NE(svg.find("touch"), std::string::npos);  // the name is drawn as text
}

TEST_F(Report, CheckPassesOnTheSameResultsAndFailsOnARegression) {
  const Results base = collect_results({write_results("base", 0.0100)});
  EXPECT_EQ(check_results(base, base).regressions(), 0);
  // 0.5% worse: a regression at the default (tight) tolerance, not with rtol 1%.
  const Results worse = collect_results({write_results("worse", 0.01005)});
  const CheckReport rep = check_results(base, worse);
  EXPECT_EQ(rep.regressions(), 1);
  EXPECT_NE(rep.text().find("lorenz63 bilinear trk10 h=0.2 t0+h"), std::string::npos) << rep.text();
  EXPECT_NE(rep.text().find("WORSE"), std::string::npos);
  EXPECT_EQ(check_results(base, worse, {.rtol = 0.01, .atol = 0}).regressions(), 0);
  // Better is reported, not failed.
  const CheckReport better = check_results(base, collect_results({write_results("better", 0.005)}));
  EXPECT_EQ(better.regressions(), 0);
  EXPECT_NE(better.text().find("better"), std::string::npos);
  // A cell that now diverges, a fit verdict lost, a missing cell.
  EXPECT_EQ(check_results(base, collect_results({write_results("div", 11.0)})).regressions(), 1);
  EXPECT_EQ(check_results(base, collect_results({write_results("fit", 0.01, false)})).regressions(), 1);
  fs::remove_all(root_ / "fit" / "identify" / "h0.2" / "rk4");
  EXPECT_EQ(check_results(base, collect_results({root_ / "fit"})).regressions(), 1 + 2);
}

TEST_F(Report, CheckCommandExitsZeroOneAndTwo) {
  using trk::testing::run_trk;
  const fs::path base = write_results("base", 0.0100), same = write_results("same", 0.0100),
                 worse = write_results("worse", 0.0110);
  auto r = run_trk("report --check " + base.string() + " --results " + same.string());
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("-> ok"), std::string::npos) << r.out;
  r = run_trk("report --check " + base.string() + " --results " + worse.string());
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("0.01 -> 0.011"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("1 regression"), std::string::npos) << r.err;
  r = run_trk("report --check " + base.string() + " --results " + worse.string() + " --rtol 0.2");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  r = run_trk("report --check " + (root_ / "nothing").string() + " --results " + worse.string());
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = run_trk("report --check " + base.string() + " --results " + worse.string() + " --rtol -1");
  EXPECT_EQ(r.code, 2) << r.out << r.err;
}

TEST_F(Report, ReportCommandWritesTablesPlotsAndIndex) {
  using trk::testing::run_trk;
  const fs::path dir = write_results("a", 0.01), out = root_ / "report";
  const auto r = run_trk("report --results " + dir.string() + " --out " + out.string() + " --no-render --quiet");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  for (const char* f : {"index.md", "rmse_table.md", "rmse_table.json", "fit_table.md", "fit_table.json", "nfe.md",
                        "nfe.json", "order_table.md", "order_residuals_fit.gp", "stability_fit_lorenz63_trk4_h0.1.gp",
                        "stability_fit_lorenz63_trk4_h0.1.dat"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  for (const auto& e : fs::directory_iterator(out))  // nothing left under a temporary name
    EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << e.path();
  const std::string index = trk::testing::slurp(out / "index.md");
  EXPECT_NE(index.find("0.01 (0.017)"), std::string::npos);
  EXPECT_NE(index.find("not rendered"), std::string::npos);  // --no-render says so instead of a broken image
  // No results below the folder: bad input.
  fs::create_directories(root_ / "empty");
  EXPECT_EQ(run_trk("report --results " + (root_ / "empty").string() + " --out " + out.string()).code, 2);
}

// Four datasets (run folders d01..d04) of the cells trk10 h=0.2 and rk4 h=0.4, the other identify.json forms of
// the results files: status poor_fit, final_loss a number or {train, validation}.
class Reliability : public Report {
 protected:
  fs::path write_datasets(const std::string& name) {
    const fs::path dir = root_ / name;
    const double trk10_h[] = {0.01, 0.017, 0.04, 11.0}, trk10_4h[] = {0.02, 0.01, 0.03, 0.005};
    const double rk4_h[] = {2.0, 3.0, 1.0, 2.5}, rk4_4h[] = {5.0, 11.0, 3.0, INFINITY};
    for (int d = 0; d < 4; ++d) {
      const fs::path run = dir / "reliability_l63" / ("d0" + std::to_string(d + 1));
      json trk10 = identify_row("trk10", 0.2, trk10_h[d], trk10_4h[d]);
      trk10["final_loss"] = 0.001;
      trk10["tableau"] = io::tableau_to_json(named_tableau("rk4"));  // a trained scheme: stability plots
      if (d == 2) {
        trk10["status"] = "poor_fit";
        trk10["final_loss"] = {{"train", 0.5}, {"validation", 0.7}};
      }
      put(run / "h0.2/trk10/identify.json", trk10);
      put(run / "h0.4/rk4/identify.json", identify_row("rk4", 0.4, rk4_h[d], rk4_4h[d]));
    }
    return dir;
  }
  static void put(const fs::path& file, const json& j) {
    fs::create_directories(file.parent_path());
    std::ofstream(file) << j.dump(1);
  }
};

TEST(Quantile, LinearInterpolationBetweenOrderStatistics) {
  // numpy.percentile's values (method "linear", Hyndman and Fan type 7).
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3}, 0.25), 1.5);
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3}, 0.5), 2);
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3, 4}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3, 4}, 0.75), 3.25);
  EXPECT_DOUBLE_EQ(quantile({7}, 0.25), 7);
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3, 4}, 1), 4);
  // Towards a diverged forecast (+inf): +inf; on an order statistic: that statistic.
  EXPECT_EQ(quantile({1, 2, INFINITY}, 0.75), INFINITY);
  EXPECT_DOUBLE_EQ(quantile({1, 2, INFINITY, INFINITY, INFINITY}, 0.25), 2);
  EXPECT_TRUE(std::isnan(quantile({}, 0.5)));
}

TEST_F(Reliability, DatasetsAreTheRunFoldersOfTheSameCells) {
  const Results r = collect_results({write_datasets("rel")});
  EXPECT_EQ(r.datasets, (std::vector<std::string>{"d01", "d02", "d03", "d04"}));
  ASSERT_EQ(r.identify.size(), 8u);
  EXPECT_EQ(r.identify[0].solver, "trk10");  // h = 0.2 first, its datasets in order
  EXPECT_EQ(r.identify[0].dataset, "d01");
  EXPECT_EQ(r.identify[3].dataset, "d04");
  EXPECT_EQ(r.identify[2].status, "poor_fit");
  // One dataset: no labels, as before.
  const Results one = collect_results({write_datasets("one") / "reliability_l63" / "d02"});
  EXPECT_TRUE(one.datasets.empty());
  EXPECT_EQ(one.identify.at(0).dataset, "");
  // Cells written by identify --data --out RUN (identify.json in the run folder itself).
  put(root_ / "flat/run_a/identify.json", identify_row("rk4", 0.2, 1.0, 2.0));
  put(root_ / "flat/run_b/identify.json", identify_row("rk4", 0.2, 1.5, 2.5));
  EXPECT_EQ(collect_results({root_ / "flat"}).datasets, (std::vector<std::string>{"run_a", "run_b"}));
  // Two run folders of the same name hold the same dataset: the same cell twice is refused.
  EXPECT_THROW(collect_results({write_datasets("rel"), write_datasets("copy")}), std::invalid_argument);
}

TEST_F(Reliability, MedianQuartilesAndDatasetsAtOrUnderTheTalksValue) {
  const Results r = collect_results({write_datasets("rel")});
  const std::vector<CellSpread> s = cell_spreads(r);
  ASSERT_EQ(s.size(), 2u);
  // rk4 before trk10 (table order), each over its 4 datasets.
  const CellSpread& rk4 = s[0];
  const CellSpread& trk10 = s[1];
  EXPECT_EQ(rk4.solver, "rk4");
  ASSERT_EQ(trk10.cells.size(), 4u);
  // trk10 t0+h: 0.01, 0.017, 0.04, > 10 (+inf). Median (0.017 + 0.04) / 2; Q1 = 0.01 + 0.75 (0.017 - 0.01);
  // Q3 interpolates towards +inf. At or under the talk's 0.017: 0.01 and 0.017.
  EXPECT_DOUBLE_EQ(trk10.at_h.median, 0.0285);
  EXPECT_DOUBLE_EQ(trk10.at_h.q1, 0.01525);
  EXPECT_EQ(trk10.at_h.q3, INFINITY);
  EXPECT_EQ(trk10.at_h.at_or_under_paper, 2);
  // t0+4h: 0.005, 0.01, 0.02, 0.03: median 0.015, [0.00875, 0.0225]; at or under 0.02: three.
  EXPECT_DOUBLE_EQ(trk10.at_4h.median, 0.015);
  EXPECT_DOUBLE_EQ(trk10.at_4h.q1, 0.00875);
  EXPECT_DOUBLE_EQ(trk10.at_4h.q3, 0.0225);
  EXPECT_EQ(trk10.at_4h.at_or_under_paper, 3);
  EXPECT_EQ(trk10.num_not_completed(), 1);
  EXPECT_EQ(trk10.not_completed.at("poor_fit"), 1);
  // rk4 h = 0.4 t0+4h, the talk's "> 10": 5, > 10, 3, > 10 (one non-finite). Median between 5 and +inf: +inf;
  // every forecast that did not diverge is at or under the talk's.
  EXPECT_EQ(rk4.at_4h.median, INFINITY);
  EXPECT_DOUBLE_EQ(rk4.at_4h.q1, 4.5);
  EXPECT_EQ(rk4.at_4h.at_or_under_paper, 2);
  EXPECT_DOUBLE_EQ(rk4.at_h.median, 2.25);
  EXPECT_EQ(rk4.at_h.at_or_under_paper, 2);  // 2.0 and 1.0 under the talk's 2.48

  const Table t = reliability_table(r);
  EXPECT_NE(t.markdown.find("Over 4 datasets (d01, d02, d03, d04)"), std::string::npos) << t.markdown;
  EXPECT_NE(t.markdown.find("type 7"), std::string::npos);
  // Headline: medians in the paper's layout with the talk's value and the count.
  EXPECT_NE(t.markdown.find("| rk4 | - | - | 2.25 (2.48) 2/4 | > 10 (> 10) 2/4 |"), std::string::npos) << t.markdown;
  EXPECT_NE(t.markdown.find("| trk10 | 0.0285 (0.017) 2/4 | 0.015 (0.02) 3/4 | - | - |"), std::string::npos)
      << t.markdown;
  EXPECT_NE(t.markdown.find("| trk10 | 0.2 | 4 | 0.0285 | [0.0153, > 10] | 2/4 (0.017) | 0.015 | [0.00875, 0.0225] | "
                            "3/4 (0.02) | 1 (poor_fit 1) |"),
            std::string::npos)
      << t.markdown;
  const json& cell = t.json["cells"][1];
  EXPECT_EQ(cell["solver"], "trk10");
  EXPECT_EQ(cell["datasets"], json({"d01", "d02", "d03", "d04"}));
  EXPECT_DOUBLE_EQ(cell["t0+h"]["median"].get<double>(), 0.0285);
  EXPECT_TRUE(cell["t0+h"]["q3"].is_null());  // +inf
  EXPECT_TRUE(cell["t0+h"]["rmse"][3].is_null());
  EXPECT_EQ(cell["t0+4h"]["at_or_under_paper"], 3);
  EXPECT_EQ(cell["not_completed"], 1);
  // Files without rmse_mean_per_state (older files): the pooled measure alone.
  EXPECT_FALSE(trk10.mean_state_at_h.has_value());
  EXPECT_TRUE(cell["mean_per_state"].is_null());
  EXPECT_EQ(t.markdown.find("mean RMSE over the test states"), std::string::npos) << t.markdown;
}

TEST_F(Reliability, MeanRmseOverTheTestStatesIsSummarisedBesideThePooledOne) {
  // The same cells with rmse_mean_per_state: trk10 t0+h 0.009, 0.012, 0.03, null (diverged); t0+4h 0.01 ... 0.004.
  const fs::path dir = write_datasets("mean");
  const double trk10_h[] = {0.009, 0.012, 0.03, NAN}, trk10_4h[] = {0.015, 0.008, 0.025, 0.004};
  for (int d = 0; d < 4; ++d) {
    const fs::path run = dir / "reliability_l63" / ("d0" + std::to_string(d + 1));
    for (const char* cell : {"h0.2/trk10", "h0.4/rk4"}) {
      const fs::path file = run / cell / "identify.json";
      json j = io::read_json_file(file);
      const bool trk10 = std::string(cell) == "h0.2/trk10";
      j["rmse_mean_per_state"] = {{"t0+h", trk10 && !std::isnan(trk10_h[d]) ? json(trk10_h[d]) : json(nullptr)},
                                  {"t0+4h", trk10 ? json(trk10_4h[d]) : json(nullptr)}};
      if (!trk10) j["rmse_mean_per_state"]["t0+h"] = 0.9 * j["rmse"]["t0+h"].get<double>();
      put(file, j);
    }
  }
  const Results r = collect_results({dir});
  const std::vector<CellSpread> s = cell_spreads(r);
  ASSERT_EQ(s.size(), 2u);
  const CellSpread& trk10 = s[1];
  ASSERT_TRUE(trk10.mean_state_at_h && trk10.mean_state_at_4h);
  // t0+h: 0.009, 0.012, 0.03, +inf (the pooled forecast diverged): median 0.021, 2 at or under the talk's 0.017.
  EXPECT_DOUBLE_EQ(trk10.mean_state_at_h->median, 0.021);
  EXPECT_EQ(trk10.mean_state_at_h->at_or_under_paper, 2);
  // t0+4h: 0.004, 0.008, 0.015, 0.025: median 0.0115, 3 at or under 0.02 (the pooled counts are untouched).
  EXPECT_DOUBLE_EQ(trk10.mean_state_at_4h->median, 0.0115);
  EXPECT_EQ(trk10.mean_state_at_4h->at_or_under_paper, 3);
  EXPECT_DOUBLE_EQ(trk10.at_h.median, 0.0285);
  // rk4 t0+4h: null with the pooled forecast diverged, null without (the pooled 5 and 3): +inf both.
  EXPECT_EQ(s[0].mean_state_at_4h->median, INFINITY);

  const Table t = reliability_table(r);
  const size_t mean_block = t.markdown.find("mean RMSE over the test states");
  ASSERT_NE(mean_block, std::string::npos) << t.markdown;
  EXPECT_NE(t.markdown.find("| trk10 | 0.021 (0.017) 2/4 | 0.0115 (0.02) 3/4 | - | - |", mean_block), std::string::npos)
      << t.markdown;
  EXPECT_LT(t.markdown.find("| trk10 | 0.0285 (0.017) 2/4 |"), mean_block);  // the pooled block first
  const json& cell = t.json["cells"][1];
  EXPECT_DOUBLE_EQ(cell["mean_per_state"]["t0+4h"]["median"].get<double>(), 0.0115);
  EXPECT_EQ(cell["mean_per_state"]["t0+h"]["at_or_under_paper"], 2);
  EXPECT_TRUE(cell["mean_per_state"]["t0+h"]["rmse"][3].is_null());
}

TEST_F(Reliability, OneDatasetGivesNoReliabilityTable) {
  const Results r = collect_results({write_results("a", 0.01)});
  EXPECT_TRUE(cell_spreads(r).empty());
  EXPECT_TRUE(reliability_plots(r).empty());
  EXPECT_EQ(reliability_table(r).markdown, "No reliability table (one dataset).\n");
  using trk::testing::run_trk;
  const fs::path out = root_ / "report";
  ASSERT_EQ(
      run_trk("report --results " + (root_ / "a").string() + " --out " + out.string() + " --no-render --quiet").code,
      0);
  EXPECT_FALSE(fs::exists(out / "reliability_table.md"));
  EXPECT_EQ(trk::testing::slurp(out / "index.md").find("over datasets"), std::string::npos);
}

TEST_F(Reliability, ReportWritesTheTableAndAPlotPerHorizonAndDrawsCellPlotsOfTheFirstDataset) {
  using trk::testing::run_trk;
  const fs::path out = root_ / "report";
  const auto r = run_trk("report --results " + write_datasets("rel").string() + " --out " + out.string() +
                         " --no-render --quiet");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("8 identify cells of 4 datasets"), std::string::npos) << r.out;
  for (const char* f : {"reliability_table.md", "reliability_table.json", "reliability_lorenz63_t0_h.gp",
                        "reliability_lorenz63_t0_h.dat", "reliability_lorenz63_t0_4h.gp", "rmse_table.md"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  const std::string index = trk::testing::slurp(out / "index.md");
  EXPECT_NE(index.find("## Identification over datasets"), std::string::npos) << index;
  EXPECT_NE(index.find("| trk10 | 0.2 | 4 |"), std::string::npos) << index;
  // One RMSE table per dataset; the nfe table gains a dataset column.
  const std::string rmse = trk::testing::slurp(out / "rmse_table.md");
  EXPECT_NE(rmse.find(", dataset d04: ours"), std::string::npos) << rmse;
  EXPECT_NE(trk::testing::slurp(out / "nfe.md").find("| lorenz63 | d03 | bilinear | 0.2 | trk10 |"), std::string::npos);
  // The plot: one point per dataset (4 per cell), the median bars, the talk's values, the line at 10.
  const std::string dat = trk::testing::slurp(out / "reliability_lorenz63_t0_4h.dat");
  const std::string gp = trk::testing::slurp(out / "reliability_lorenz63_t0_4h.gp");
  EXPECT_NE(gp.find("set logscale y"), std::string::npos);
  EXPECT_NE(gp.find("title 'rk4'"), std::string::npos) << gp;
  EXPECT_NE(gp.find("title 'median'"), std::string::npos) << gp;
  EXPECT_NE(gp.find("title \"the talk's\""), std::string::npos) << gp;
  EXPECT_NE(gp.find("'h = 0.2' 1, 'h = 0.4' 2"), std::string::npos) << gp;
  // 4 + 4 points, 2 medians, 2 talk's values, and 3 separators of two newlines between the 4 blocks.
  EXPECT_EQ(std::count(dat.begin(), dat.end(), '\n'), 4 + 4 + 2 + 2 + 3 * 2) << dat;
  // Plots of single cells: the first dataset's only (those of the others would repeat them under the same names).
  int stability = 0;
  for (const auto& e : fs::directory_iterator(out))
    stability += e.path().extension() == ".gp" && e.path().filename().string().rfind("stability_identify_", 0) == 0;
  EXPECT_EQ(stability, 1);
  EXPECT_NE(index.find("those of dataset `d01`"), std::string::npos) << index;
  EXPECT_NE(trk::testing::slurp(out / "order_table.md").find("identify lorenz63 bilinear d03"), std::string::npos);
}

TEST_F(Reliability, CheckComparesEachDatasetsCells) {
  const Results base = collect_results({write_datasets("base")});
  EXPECT_EQ(check_results(base, base).regressions(), 0);
  EXPECT_EQ(check_results(base, base).lines.size(), 16u);
  const fs::path cell = write_datasets("worse") / "reliability_l63/d02/h0.2/trk10/identify.json";
  put(cell, identify_row("trk10", 0.2, 0.017, 0.011));  // t0+4h 0.01 -> 0.011
  const CheckReport rep = check_results(base, collect_results({root_ / "worse"}));
  EXPECT_EQ(rep.regressions(), 1);
  EXPECT_NE(rep.text().find("lorenz63 bilinear trk10 h=0.2 t0+4h dataset d02"), std::string::npos) << rep.text();
}

}  // namespace
}  // namespace trk::report
