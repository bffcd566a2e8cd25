// The report's part beyond Lorenz-63 (report/highdim.h): the high-dimensional table with its persistence rows and
// budget statuses, the noise table's columns, the space-time plot's data; noisy cells kept apart from the others.
#include "trk/report/highdim.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "trk/io/json_io.h"
#include "trk/report/results.h"

namespace fs = std::filesystem;

namespace trk::report {
namespace {

using io::json;

// An identify.json of the new format: rmse = normalised x sigma, persistence rows, optional noise.
json cell(const std::string& system, const std::string& solver, double h, double normalised_h, double sigma,
          double noise = 0.0, const std::string& status = "completed") {
  json j = {{"format", "trk-identify"},
            {"format_version", 2},
            {"system", system},
            {"h", h},
            {"solver", solver},
            {"model", "local-bilinear"},
            {"rmse", {{"t0+h", normalised_h * sigma}, {"t0+4h", 4 * normalised_h * sigma}}},
            {"rmse_normalised", {{"t0+h", normalised_h}, {"t0+4h", 4 * normalised_h}}},
            {"persistence", {{"rmse", {{"t0+h", 0.5 * sigma}, {"t0+4h", sigma}}},
                             {"rmse_normalised", {{"t0+h", 0.5}, {"t0+4h", 1.0}}}}},
            {"climatological_std", sigma},
            {"diverged", {{"t0+h", false}, {"t0+4h", false}}},
            {"test_states", 197},
            {"nfe",
             {{"train_forward_per_iteration", {{"mean", 10.0}, {"last", 10}}},
              {"train_backward_per_iteration", {{"mean", 10.0}, {"last", 10}}},
              {"inference_per_step", 10.0},
              {"inference_per_unit_time", 10.0 / h}}},
            {"iterations", 100},
            {"train_seconds", 12.0},
            {"status", status}};
  if (noise > 0) j["noise"] = noise;
  return j;
}

class Highdim : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("trk_highdim_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void put(const std::string& rel, const json& j) {
    const fs::path file = root_ / rel / "identify.json";
    fs::create_directories(file.parent_path());
    std::ofstream(file) << j.dump(1);
  }
  fs::path root_;
};

TEST_F(Highdim, TableHasNormalisedRmsePersistenceRowsAndBudgetStatus) {
  put("identify_l96/h0.2/trk10", cell("lorenz96", "trk10", 0.2, 0.01, 3.6));
  put("identify_l96/h0.2/dopri8", cell("lorenz96", "dopri8", 0.2, 0.002, 3.6, 0.0, "budget_exceeded"));
  put("identify_l96/h0.1/trk10", cell("lorenz96", "trk10", 0.1, 0.001, 3.6));
  const Results r = collect_results({root_});
  ASSERT_TRUE(r.identify.front().climatological_std.has_value());
  EXPECT_DOUBLE_EQ(*r.identify.front().persistence_at_h, 0.5);
  const Table t = highdim_table(r);
  ASSERT_EQ(t.json["tables"].size(), 1u);
  const json& rows = t.json["tables"][0]["rows"];
  ASSERT_EQ(rows.size(), 5u);  // h 0.1: trk10, persistence; h 0.2: dopri8, trk10, persistence
  EXPECT_EQ(rows[1]["solver"], "persistence");
  EXPECT_EQ(rows[2]["solver"], "dopri8");
  EXPECT_EQ(rows[2]["status"], "budget_exceeded");
  EXPECT_NEAR(rows[3]["persistence_over_solver_t0+h"].get<double>(), 50.0, 1e-9);  // 0.5 / 0.01
  EXPECT_NEAR(rows[3]["rmse_normalised"]["t0+4h"].get<double>(), 0.04, 1e-12);
  EXPECT_NE(t.markdown.find("| 0.2 | dopri8 | 0.002 | 0.008 | 250x |"), std::string::npos) << t.markdown;
  EXPECT_NE(t.markdown.find("budget_exceeded"), std::string::npos);
  EXPECT_NE(t.markdown.find("| 0.2 | *persistence* | 0.5 | 1 |"), std::string::npos) << t.markdown;
  // Old-format cells (no normalised fields) give no table.
  EXPECT_TRUE(highdim_table(Results{}).json["tables"].empty());
}

TEST_F(Highdim, NoisyCellsAreCellsOfTheirOwnWithAColumnPerLevel) {
  put("identify_l96/h0.1/trk10", cell("lorenz96", "trk10", 0.1, 0.001, 3.6));
  put("noise_l96_1pct/h0.1/trk10", cell("lorenz96", "trk10", 0.1, 0.01, std::hypot(3.6, 0.036), 0.036));
  put("noise_l96_10pct/h0.1/trk10", cell("lorenz96", "trk10", 0.1, 0.05, std::hypot(3.6, 0.36), 0.36));
  put("noise_l96_10pct/h0.1/rk4", cell("lorenz96", "rk4", 0.1, 0.08, std::hypot(3.6, 0.36), 0.36, "poor_fit"));
  const Results r = collect_results({root_});
  EXPECT_TRUE(r.datasets.empty());  // the run folders differ by noise, not by dataset
  const Table t = noise_table(r);
  ASSERT_EQ(t.json["tables"].size(), 1u);
  const json& block = t.json["tables"][0];
  ASSERT_EQ(block["noise_over_sigma"].size(), 3u);
  EXPECT_NEAR(block["noise_over_sigma"][1].get<double>(), 0.01, 1e-9);  // noise / sigma of the clean signal
  EXPECT_NEAR(block["noise_over_sigma"][2].get<double>(), 0.1, 1e-9);
  ASSERT_EQ(block["rows"].size(), 2u);  // rk4, trk10
  EXPECT_EQ(block["rows"][0]["solver"], "rk4");
  EXPECT_TRUE(block["rows"][0]["cells"][0].is_null());  // no clean rk4 cell
  EXPECT_NEAR(block["rows"][1]["cells"][2]["rmse_normalised"]["t0+h"].get<double>(), 0.05, 1e-12);
  EXPECT_NE(t.markdown.find("noise 10% of sigma"), std::string::npos) << t.markdown;
  EXPECT_NE(t.markdown.find("(poor_fit)"), std::string::npos) << t.markdown;
  // The high-dimensional table keeps the clean cell only.
  EXPECT_EQ(highdim_table(r).json["tables"][0]["rows"].size(), 2u);
}

TEST(HighdimFormat, DivergedMissingAndSmallValues) {
  EXPECT_EQ(format_normalised(0.25, false), "0.25");
  EXPECT_EQ(format_normalised(2.5e-5, false), "2.50e-05");
  EXPECT_EQ(format_normalised(std::nullopt, false), "-");
  EXPECT_EQ(format_normalised(0.3, true), "diverged");
}

}  // namespace
}  // namespace trk::report
