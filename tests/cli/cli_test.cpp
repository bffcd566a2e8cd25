// End-to-end tests of the trk binary: outputs, exit codes, one-line errors, no partial files.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "run_trk.h"
#include "trk/experiment/generate.h"
#include "trk/io/dataset_io.h"
#include "trk/io/json_io.h"
#include "trk/io/model_io.h"

namespace fs = std::filesystem;

namespace trk {
namespace {

using trk::testing::RunResult;
RunResult run(const std::string& args) { return trk::testing::run_trk(args); }

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("trk_cli_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // Exit code 2, a single line on stderr that mentions `needle`, and the folder still holds `files_before`
  // entries (files and folders, recursively): nothing was written.
  void expect_bad_input(const std::string& args, const std::string& needle, size_t files_before) {
    const RunResult r = run(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    size_t files = 0;
    for (auto it = fs::recursive_directory_iterator(dir_); it != fs::recursive_directory_iterator(); ++it) ++files;
    EXPECT_EQ(files, files_before) << args;
  }
  fs::path dir_;
};

TEST_F(Cli, GenerateWritesTheDatasetTheLibraryMakes) {
  const RunResult r = run("generate --system lorenz63 --h 0.2 --train-steps 100 --test-steps 30 --seed 3 --out " +
                    path("d.h5"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote"), std::string::npos);
  const Dataset d = io::read_dataset(path("d.h5"));
  GenerateOptions o;
  o.train_steps = 100;
  o.test_steps = 30;
  o.seed = 3;
  const Dataset ref = generate(o);
  EXPECT_EQ(d.system, "lorenz63");
  EXPECT_EQ(d.h, 0.2);
  EXPECT_EQ(d.seed, 3);
  EXPECT_EQ(d.parameters.at("rho"), 28.0);
  EXPECT_EQ((d.train.states[0] - ref.train.states[0]).norm(), 0.0);
  EXPECT_EQ((d.test.states[0] - ref.test.states[0]).norm(), 0.0);
  const auto gen = io::json::parse(d.generator_json);
  EXPECT_EQ(gen.at("integrator"), "dop853");
  EXPECT_EQ(gen.at("spin_up"), 5.0);
  // Same seed, same bytes.
  ASSERT_EQ(run("generate --train-steps 100 --test-steps 30 --seed 3 --out " + path("e.h5")).code, 0);
  std::ifstream a(path("d.h5"), std::ios::binary), b(path("e.h5"), std::ios::binary);
  std::string sa((std::istreambuf_iterator<char>(a)), {}), sb((std::istreambuf_iterator<char>(b)), {});
  EXPECT_EQ(sa, sb);
}

TEST_F(Cli, GenerateLorenz96WithParameters) {
  const RunResult r = run("generate --system lorenz96 --param n=12 --param F=10 --h 0.05 --train-steps 40 "
                    "--test-steps 10 --test-trajectories 3 --out " + path("l96.h5"));
  ASSERT_EQ(r.code, 0) << r.err;
  const Dataset d = io::read_dataset(path("l96.h5"));
  EXPECT_EQ(d.dim(), 12);
  EXPECT_EQ(d.test.num_trajectories(), 3);
  EXPECT_EQ(d.parameters.at("F"), 10.0);
}

// Kuramoto-Sivashinsky from the command line: the library's dataset, integrated by ETDRK4 (recorded), on the default
// domain and on Kassam & Trefethen's L = 32 pi; DOP853's tolerances are refused for it, its step for the others.
TEST_F(Cli, GenerateKuramotoSivashinsky) {
  RunResult r = run("generate --system ks --h 0.25 --train-steps 100 --test-steps 20 --seed 2 --out " + path("ks.h5"));
  ASSERT_EQ(r.code, 0) << r.err;
  const Dataset d = io::read_dataset(path("ks.h5"));
  GenerateOptions o;
  o.system = "ks";
  o.h = 0.25;
  o.train_steps = 100;
  o.test_steps = 20;
  o.seed = 2;
  const Dataset ref = generate(o);
  EXPECT_EQ(d.system, "ks");
  EXPECT_EQ(d.dim(), 64);
  EXPECT_EQ(d.train.num_times(), 101);
  EXPECT_EQ(d.parameters.at("L"), 22.0);
  EXPECT_EQ(d.parameters.at("n"), 64.0);
  EXPECT_EQ(d.train.states[0], ref.train.states[0]);
  EXPECT_EQ(d.test.states[0], ref.test.states[0]);
  const auto gen = io::json::parse(d.generator_json);
  EXPECT_EQ(gen.at("integrator"), "etdrk4");
  EXPECT_EQ(gen.at("step"), 0.005);
  EXPECT_EQ(gen.at("spin_up"), 200.0);
  EXPECT_FALSE(gen.contains("rtol"));
  r = run("generate --system ks --param L=100.53096491487338 --param n=128 --h 0.3 --etdrk4-step 0.01 "
          "--train-steps 50 --test-steps 10 --out " + path("ks32.h5"));
  ASSERT_EQ(r.code, 0) << r.err;
  const Dataset e = io::read_dataset(path("ks32.h5"));
  EXPECT_EQ(e.dim(), 128);
  EXPECT_NEAR(io::json::parse(e.generator_json).at("step").get<double>(), 0.01, 1e-15);
  expect_bad_input("generate --system ks --rtol 1e-10 --out " + path("x.h5"), "ETDRK4", 2);
  expect_bad_input("generate --system lorenz96 --etdrk4-step 0.01 --out " + path("x.h5"), "DOP853", 2);
  expect_bad_input("generate --system ks --param n=63 --out " + path("x.h5"), "even", 2);
  expect_bad_input("generate --system ks --etdrk4-step 0 --out " + path("x.h5"), "etdrk4-step", 2);
}

TEST_F(Cli, ReportStabilityMatchesTheReferenceIntervals) {
  struct Case { const char* scheme; double real, imag; };
  for (auto c : {Case{"euler", 2.0, 0.0}, Case{"rk4", 2.785293563405282, 2.8284271247461903},
                 Case{"dopri5", 3.306568, -1}, Case{"dopri8", 5.166634, 0.0}}) {
    const std::string out = path(std::string("st_") + c.scheme);
    const RunResult r = run(std::string("report stability --scheme ") + c.scheme + " --grid 101 --out " + out);
    ASSERT_EQ(r.code, 0) << r.err;
    const auto j = io::read_json_file(out + "/stability.json");
    EXPECT_EQ(j.at("scheme"), c.scheme);
    EXPECT_NEAR(j.at("real_axis_interval").get<double>(), c.real, 1e-6) << c.scheme;
    if (c.imag >= 0) EXPECT_NEAR(j.at("imag_axis_interval").get<double>(), c.imag, 1e-6) << c.scheme;
    EXPECT_TRUE(fs::exists(out + "/stability.h5"));
  }
}

TEST_F(Cli, ReportOrderOfBuiltInAndFileTableaux) {
  RunResult r = run("report order --scheme dopri8 --out " + path("o8"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("order 8"), std::string::npos) << r.out;
  auto j = io::read_json_file(path("o8/order.json"));
  EXPECT_EQ(j.at("order"), 8);
  EXPECT_EQ(j.at("residuals_by_order").size(), 8u);
  EXPECT_EQ(j.at("residuals_by_order")[7].at("num_conditions"), 115);
  std::ofstream(path("heun.json")) << R"({"A": [[0, 0], [1, 0]], "b": [0.5, 0.5], "c": [0, 1]})";
  r = run("report order --scheme " + path("heun.json") + " --out " + path("oh"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(io::read_json_file(path("oh/order.json")).at("order"), 2);
}

TEST_F(Cli, BadInputGivesOneLineAndExitTwoAndNoFile) {
  expect_bad_input("generate --h 0 --out " + path("x.h5"), "h must be", 0);
  expect_bad_input("generate --h -0.2 --out " + path("x.h5"), "h must be", 0);
  expect_bad_input("generate --system lorenz84 --out " + path("x.h5"), "unknown system", 0);
  expect_bad_input("generate --param gamma=2 --out " + path("x.h5"), "gamma", 0);
  expect_bad_input("generate --param rho --out " + path("x.h5"), "name=value", 0);
  expect_bad_input("generate --h abc --out " + path("x.h5"), "--h", 0);
  expect_bad_input("generate --out /proc/trk_cannot_write/x.h5", "/proc/trk_cannot_write", 0);
  expect_bad_input("report stability --scheme rk5 --out " + path("s"), "unknown scheme 'rk5'", 0);
  std::ofstream(path("bad.json")) << R"({"A": [[0, 0], [1, 0]], "b": [0.5, 0.6]})";
  expect_bad_input("report order --scheme " + path("bad.json") + " --out " + path("o"), "sum of b", 1);
  std::ofstream(path("broken.json")) << R"({"A": [[0, 0], [1, 0]], "b": [0.5, )";
  expect_bad_input("report stability --scheme " + path("broken.json") + " --out " + path("o"), "invalid JSON", 2);
  std::ofstream(path("implicit.json")) << R"({"A": [[0.5, 0], [1, 0]], "b": [0.5, 0.5]})";
  expect_bad_input("report order --scheme " + path("implicit.json") + " --out " + path("o"), "strictly lower", 3);
  expect_bad_input("report order --scheme rk4 --out " + path("implicit.json") + "/sub", "cannot create directory", 3);
  expect_bad_input("frobnicate", "frobnicate", 3);
}

TEST_F(Cli, HelpExitsZero) {
  for (const char* cmd : {"--help", "generate --help", "report stability --help", "report order --help"}) {
    const RunResult r = run(cmd);
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_NE(r.out.find("--"), std::string::npos) << cmd;
  }
}

}  // namespace
}  // namespace trk

namespace trk {
namespace {

TEST_F(Cli, FitWritesOneRowPerStepAndScheme) {
  ASSERT_EQ(run("generate --h 0.01 --train-steps 3000 --test-steps 3000 --out " + path("fine.h5")).code, 0);
  const RunResult r = run("fit --data " + path("fine.h5") + " --h 0.05,0.1 --iterations 40 --compare rk4,euler "
                          "--quiet --out " + path("fit"));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = io::read_json_file(path("fit/fit.json"));
  ASSERT_EQ(j.at("rows").size(), 6u);
  const auto& trk4 = j.at("rows")[0];
  EXPECT_EQ(trk4.at("scheme"), "trk4");
  EXPECT_EQ(trk4.at("h"), 0.05);
  EXPECT_EQ(trk4.at("runs"), 20);
  EXPECT_EQ(trk4.at("tableau").at("A").size(), 4u);
  EXPECT_EQ(trk4.at("iterations"), 40);
  double sum_b = 0;
  for (const auto& v : trk4.at("tableau").at("b")) sum_b += v.get<double>();
  EXPECT_NEAR(sum_b, 1.0, 1e-14);
  EXPECT_GE(trk4.at("order"), 1);
  const auto& euler = j.at("rows")[5];
  EXPECT_EQ(euler.at("scheme"), "euler");
  EXPECT_EQ(euler.at("h"), 0.1);
  EXPECT_FALSE(euler.at("integrates").get<bool>());
  EXPECT_EQ(j.at("rows")[1].at("scheme"), "rk4");
  EXPECT_TRUE(j.at("rows")[1].at("integrates").get<bool>());  // rk4 at h = 0.05
  EXPECT_TRUE(fs::exists(path("fit/fit.h5")));
  // The config path: a system instead of a data file, flags override.
  std::ofstream(path("cfg.json")) << R"({"system": "lorenz63", "generate": {"h": 0.05, "train_steps": 2000,
    "test_steps": 2000}, "h": [0.1], "training": {"stages": 4, "compare": [], "iterations": 10}, "out": "unused"})";
  const RunResult c = run("fit --config " + path("cfg.json") + " --iterations 20 --quiet --out " + path("fitc"));
  ASSERT_EQ(c.code, 0) << c.err;
  const auto jc = io::read_json_file(path("fitc/fit.json"));
  EXPECT_EQ(jc.at("rows").size(), 1u);
  EXPECT_EQ(jc.at("rows")[0].at("iterations"), 20);
  EXPECT_EQ(jc.at("configuration").at("data_h"), 0.05);
}

TEST_F(Cli, FitRefusesBadInput) {
  ASSERT_EQ(run("generate --h 0.01 --train-steps 500 --test-steps 500 --out " + path("fine.h5")).code, 0);
  expect_bad_input("fit --data " + path("fine.h5") + " --h 0.015 --out " + path("f"), "whole multiple", 1);
  expect_bad_input("fit --data " + path("fine.h5") + " --h 0.1 --stages 0 --out " + path("f"), "stages", 1);
  expect_bad_input("fit --data " + path("missing.h5") + " --h 0.1 --out " + path("f"), "missing.h5", 1);
  expect_bad_input("fit --data " + path("fine.h5") + " --out " + path("f"), "--h", 1);
  expect_bad_input("fit --data " + path("fine.h5") + " --h 0.1 --compare rk5 --out " + path("f"), "rk5", 1);
  std::ofstream(path("cfg.json")) << R"({"system": "lorenz63", "h": [0.1], "trainng": {}})";
  expect_bad_input("fit --config " + path("cfg.json") + " --out " + path("f"), "trainng", 2);
}

}  // namespace
}  // namespace trk

namespace trk {
namespace {

TEST_F(Cli, IdentifyTrainsEvaluatesAndRefusesBadInput) {
  ASSERT_EQ(run("generate --h 0.2 --train-steps 300 --test-steps 40 --out " + path("d.h5")).code, 0);
  RunResult r = run("identify --data " + path("d.h5") + " --solver trk4 --iterations 30 --meet-iterations 20 "
                    "--refine-iterations 10 --lm-iterations 2 --quiet --out " + path("m"));
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = io::read_json_file(path("m/identify.json"));
  EXPECT_EQ(j.at("solver"), "trk4");
  EXPECT_EQ(j.at("model"), "bilinear");
  EXPECT_EQ(j.at("h"), 0.2);
  EXPECT_EQ(j.at("iterations"), 30);
  EXPECT_EQ(j.at("test_states"), 37);
  EXPECT_EQ(j.at("nfe").at("train_forward_per_iteration").at("last"), 4);
  EXPECT_EQ(j.at("tableau").at("b").size(), 4u);
  EXPECT_TRUE(j.at("rmse").contains("t0+4h"));
  EXPECT_TRUE(fs::exists(path("m/model.h5")));
  // --evaluate on the same data reproduces the numbers.
  r = run("identify --evaluate " + path("m/model.h5") + " --data " + path("d.h5") + " --out " + path("e"));
  ASSERT_EQ(r.code, 0) << r.err;
  auto e = io::read_json_file(path("e/identify.json"));
  EXPECT_EQ(e.at("rmse"), j.at("rmse"));
  // A fixed-step model is refused on data of another step.
  ASSERT_EQ(run("generate --h 0.3 --train-steps 50 --test-steps 20 --out " + path("d3.h5")).code, 0);
  expect_bad_input("identify --evaluate " + path("m/model.h5") + " --data " + path("d3.h5") + " --out " + path("e3"),
                   "trained for one step of h = 0.2", 7);
  expect_bad_input("identify --data " + path("d.h5") + " --solver trk0 --out " + path("x"), "trk0", 7);
  expect_bad_input("identify --data " + path("d.h5") + " --model gpt --out " + path("x"), "gpt", 7);
  expect_bad_input("identify --data " + path("d.h5") + " --iterations -3 --out " + path("x"), "iterations", 7);
  expect_bad_input("identify --evaluate " + path("d.h5") + " --data " + path("d.h5") + " --out " + path("x"),
                   "trk-model", 7);
}

// The local models on Lorenz-96 from the command line: trained, saved with their stencil, reloaded by --evaluate
// with the same numbers; Levenberg-Marquardt runs (they are small whatever the dimension).
TEST_F(Cli, IdentifyLocalModelsOnLorenz96SaveAndReload) {
  ASSERT_EQ(run("generate --system lorenz96 --param n=16 --h 0.05 --train-steps 120 --test-steps 20 --quiet --out " +
                path("d.h5")).code, 0);
  struct Case { const char* model; const char* flags; int stencil, params; };
  for (const Case& c : {Case{"local-bilinear", "--stencil 1 --products 2", 1, (3 + 1) * 5 + 2},
                        Case{"local-mlp", "--widths 6 --activation relu", 2, (5 * 6 + 6) + 7}}) {
    const std::string m = path(c.model), e = m + "_evaluated";
    const RunResult r = run("identify --data " + path("d.h5") + " --solver trk4 --model " + c.model + " " + c.flags +
                            " --iterations 20 --meet-iterations 5 --refine-iterations 5 --lm-iterations 2 --out " + m);
    ASSERT_EQ(r.code, 0) << c.flags << r.err;
    EXPECT_NE(r.err.find("lm 2/2"), std::string::npos) << c.flags << r.err;
    EXPECT_EQ(r.err.find("lm skipped"), std::string::npos) << c.flags << r.err;
    const auto j = io::read_json_file(m + "/identify.json");
    EXPECT_EQ(j.at("model"), c.model);
    EXPECT_EQ(j.at("configuration").at("stencil"), c.stencil);
    ASSERT_EQ(run("identify --evaluate " + m + "/model.h5 --data " + path("d.h5") + " --out " + e).code, 0);
    const auto k = io::read_json_file(e + "/identify.json");
    EXPECT_EQ(k.at("rmse"), j.at("rmse")) << c.flags;
    EXPECT_EQ(k.at("model"), j.at("model")) << c.flags;
    const io::LoadedModel loaded = io::read_model_h5(m + "/model.h5");
    EXPECT_EQ(loaded.flow_map.field->name(), c.model);
    EXPECT_EQ(loaded.flow_map.model_options.stencil, c.stencil);
    EXPECT_EQ(loaded.flow_map.field->num_params(), c.params) << c.flags;
    EXPECT_EQ(loaded.flow_map.field->dim(), 16);
  }
}

// Config keys reach the run and are echoed in identify.json's configuration; a bad value is refused.
TEST_F(Cli, IdentifyConfigSindyDerivative) {
  ASSERT_EQ(run("generate --h 0.05 --train-steps 300 --test-steps 40 --quiet --out " + path("d.h5")).code, 0);
  auto write_config = [&](const std::string& derivative) {
    std::ofstream(path("sr.json")) << R"({"data": ")" << path("d.h5") << R"(", "solvers": ["sr"],
      "training": {"sindy_derivative": ")" << derivative << R"("}, "out": ")" << path("srout") << R"("})";
  };
  write_config("forward");
  const RunResult r = run("identify --config " + path("sr.json") + " --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = io::read_json_file(path("srout/h0.05/sr/identify.json"));
  EXPECT_EQ(j.at("configuration").at("sindy_derivative"), "forward");
  write_config("backward");
  fs::remove_all(path("srout"));
  expect_bad_input("identify --config " + path("sr.json") + " --quiet", "derivative", 2);
}

}  // namespace
}  // namespace trk
