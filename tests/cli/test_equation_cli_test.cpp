// trk fit with a "test_equation" config: fit.json rows whose intervals recompute from their tableaux, and one-line
// errors for bad configs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "run_trk.h"
#include "trk/io/json_io.h"

namespace trk {
namespace {

namespace fs = std::filesystem;

class TestEquationCli : public ::testing::Test {
 protected:
  fs::path dir = fs::temp_directory_path() / ("trk_test_equation_cli_" + std::to_string(::getpid()));
  void SetUp() override { fs::create_directories(dir); }
  void TearDown() override { fs::remove_all(dir); }
  fs::path config(const std::string& section, const std::string& extra = "") {
    const fs::path p = dir / "config.json";
    std::ofstream(p) << "{\"test_equation\": {" << section << "}" << extra << "}";
    return p;
  }
};

// What a reader rechecks: R(x) = 1 + sum_k x^k b^T A^(k-1) 1 from the tableau, |R(-s)| <= 1 scanned on [0, 50]
// at step 1e-4 and the first crossing bisected.
double recomputed_real_axis_interval(const ButcherTableau& t) {
  const int q = t.num_stages();
  std::vector<long double> gamma(q + 1, 1.0L);
  Vec v = Vec::Ones(q);
  for (int k = 1; k <= q; ++k, v = t.A * v) gamma[k] = t.b.dot(v);
  auto bad = [&](long double s) {
    long double r = 0;
    for (int k = q; k >= 0; --k) r = r * (-s) + gamma[k];
    return std::abs(r) > 1 + 1e-12L;
  };
  for (long double hi = 1e-4L; hi <= 50; hi += 1e-4L) {
    if (!bad(hi)) continue;
    long double lo = hi - 1e-4L;
    for (int k = 0; k < 60; ++k) (bad(0.5L * (lo + hi)) ? hi : lo) = 0.5L * (lo + hi);
    return static_cast<double>(lo);
  }
  return 50;
}

// The first line of stderr and that there is no second one.
void expect_one_line_error(const testing::RunResult& r, const std::string& mentions) {
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(r.err.rfind("trk: error: ", 0), 0u) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  EXPECT_NE(r.err.find(mentions), std::string::npos) << r.err;
}

TEST_F(TestEquationCli, WritesRowsWhoseIntervalsRecomputeFromTheirTableaux) {
  const auto c = config(R"("stages": [4], "orders": [1], "axes": ["real"], "compare": ["rk4", "rkc"])");
  const auto r = testing::run_trk("fit --quiet --config " + c.string() + " --out " + (dir / "out").string());
  ASSERT_EQ(r.code, 0) << r.err;
  const io::json j = io::read_json_file(dir / "out" / "fit.json");
  EXPECT_EQ(j["experiment"], "test_equation");
  ASSERT_EQ(j["rows"].size(), 3u);  // trk4, rk4, rkc1_4
  EXPECT_EQ(j["rows"][0]["scheme"], "trk4");
  EXPECT_EQ(j["rows"][2]["scheme"], "rkc1_4");
  for (const auto& row : j["rows"]) {
    const double interval = recomputed_real_axis_interval(io::tableau_from_json(row["tableau"], "row"));
    EXPECT_NEAR(row["real_axis_interval"].get<double>(), interval, 0.01 * interval) << row["scheme"];
  }
  EXPECT_GE(j["rows"][0]["real_axis_interval"].get<double>(), 0.8 * 32);
  EXPECT_EQ(j["configuration"]["test_equation"]["stages"], io::json::array({4}));
}

TEST_F(TestEquationCli, RefusesBadConfigsInOneLine) {
  const std::string out = " --out " + (dir / "out").string();
  expect_one_line_error(testing::run_trk("fit --config " + config(R"("stagez": [4])").string() + out), "stagez");
  expect_one_line_error(testing::run_trk("fit --config " + config(R"("orders": [3])").string() + out), "orders");
  expect_one_line_error(testing::run_trk("fit --config " + config(R"("axes": ["diagonal"])").string() + out),
                        "diagonal");
  expect_one_line_error(testing::run_trk("fit --config " + config(R"("stages": [4])", R"(, "h": [0.1])").string() +
                                         out),
                        "h");
  expect_one_line_error(testing::run_trk("fit --config " + config(R"("stages": [4])").string() + " --h 0.1" + out),
                        "--h");
  expect_one_line_error(testing::run_trk("fit --config " + config(R"("stages": [4])").string()), "--out");
  EXPECT_FALSE(fs::exists(dir / "out" / "fit.json"));
}

}  // namespace
}  // namespace trk
