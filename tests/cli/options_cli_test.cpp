// The command line built from the options' one declaration: every field is a flag with its default in --help,
// flags win over a config, numbers out of range and misplaced model flags are refused in one line; a run that
// never made progress does not report "completed"; fit refuses a repeated step before training.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "run_trk.h"
#include "trk/experiment/generate.h"
#include "trk/io/dataset_io.h"
#include "trk/io/json_io.h"

namespace trk {
namespace {

namespace fs = std::filesystem;
using testing::RunResult;
using testing::run_trk;

class OptionsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("trk_options_cli_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    GenerateOptions g;
    g.h = 0.1;
    g.train_steps = 60;
    g.test_steps = 20;
    io::write_dataset(dir_ / "d.h5", generate(g));
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(OptionsCli, EveryFieldIsAFlagWithItsDefault) {
  const RunResult r = run_trk("identify --help");
  ASSERT_EQ(r.code, 0);
  for (const char* s : {"--widths", "[64,64]", "--activation", "tanh", "--sindy-iterations", "--model-seed",
                        "--lm-horizon-decay", "--on-divergence", "--schedule", "constant", "dopri5"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
  const RunResult f = run_trk("fit --help");
  for (const char* s : {"--stages", "--compare", "--continuation", "--no-continuation", "--judge-runs"})
    EXPECT_NE(f.out.find(s), std::string::npos) << s;
}

TEST_F(OptionsCli, RefusesOutOfRangeNumbersAndMisplacedModelFlags) {
  const std::string base = "identify --data " + path("d.h5") + " --out " + path("o") + " --solver rk4";
  for (const std::string& bad : {std::string(" --iterations 4294967297"), std::string(" --iterations 2.9"),
                                 std::string(" --widths 8,8"), std::string(" --model mlp --num-products 2"),
                                 std::string(" --model mlp --products 2"), std::string(" --stencil 1"),
                                 std::string(" --model mlp --stencil 1"),
                                 std::string(" --model local-bilinear --widths 8"),
                                 std::string(" --model local-mlp --products 2"),
                                 std::string(" --model local-bilinear --stencil -1"),
                                 std::string(" --model local-bilinear"),  // a stencil of 5 sites on 3
                                 std::string(" --on-divergence retry"), std::string(" --schedule linear")}) {
    const RunResult r = run_trk(base + bad);
    EXPECT_EQ(r.code, 2) << bad << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << bad << r.err;
  }
  std::ofstream(path("c.json")) << R"({"data": ")" << path("d.h5") << R"(", "solvers": ["rk4"],
    "training": {"iterations": 4294967306}})";
  const RunResult c = run_trk("identify --config " + path("c.json") + " --out " + path("o"));
  EXPECT_EQ(c.code, 2);
  EXPECT_NE(c.err.find(path("c.json") + ": training.iterations: 4294967306 is out of range"), std::string::npos)
      << c.err;
}

// --products is --num-products under a shorter name (both set the config key num_products).
TEST_F(OptionsCli, ProductsIsAnAliasOfNumProducts) {
  const std::string base = "identify --data " + path("d.h5") + " --solver rk4 --iterations 2 --meet-iterations 0 "
                           "--refine-iterations 0 --lm-iterations 0 --quiet --out ";
  ASSERT_EQ(run_trk(base + path("a") + " --products 2").code, 0);
  ASSERT_EQ(run_trk(base + path("b") + " --num-products 2").code, 0);
  const io::json a = io::read_json_file(path("a/identify.json")), b = io::read_json_file(path("b/identify.json"));
  EXPECT_EQ(a.at("configuration").at("num_products"), 2);
  EXPECT_EQ(a.at("configuration"), b.at("configuration"));
  EXPECT_EQ(a.at("rmse"), b.at("rmse"));
  EXPECT_FALSE(a.at("configuration").contains("products"));
}

TEST_F(OptionsCli, FlagsGivenWinOverTheConfig) {
  std::ofstream(path("c.json")) << R"({"data": ")" << path("d.h5") << R"(", "solvers": ["rk4"],
    "training": {"iterations": 50, "meet_iterations": 0, "refine_iterations": 0, "lm_iterations": 0,
                 "learning_rate": 0.5}})";
  ASSERT_EQ(run_trk("identify --config " + path("c.json") + " --learning-rate 0.001 --iterations 3 --quiet --out " +
                    path("o")).code, 0);
  const io::json j = io::read_json_file(path("o/h0.1/rk4/identify.json"));
  EXPECT_EQ(j.at("configuration").at("learning_rate"), 0.001);
  EXPECT_EQ(j.at("configuration").at("iterations"), 3);
  EXPECT_EQ(j.at("iterations"), 3);
}

// Five iterations, every one non-finite (a learning rate that throws the model to infinity): not "completed".
TEST_F(OptionsCli, ARunWithoutAFiniteIterationIsNotCompleted) {
  const RunResult r = run_trk("identify --data " + path("d.h5") + " --solver rk4 --iterations 5 --warmup 0 "
                              "--meet-iterations 0 --refine-iterations 0 --lm-iterations 0 --clip-norm 0 "
                              "--learning-rate 1e308 --quiet --out " + path("o"));
  ASSERT_EQ(r.code, 0) << r.err;
  const io::json j = io::read_json_file(path("o/identify.json"));
  EXPECT_EQ(j.at("status"), "non_finite_loss");
  EXPECT_EQ(j.at("iterations"), 0);
}

TEST_F(OptionsCli, FitRefusesARepeatedStepOrSchemeBeforeTraining) {
  ASSERT_EQ(run_trk("generate --h 0.05 --train-steps 200 --test-steps 200 --quiet --out " + path("fine.h5")).code, 0);
  for (const std::string& bad : {std::string(" --h 0.1,0.15,0.1"), std::string(" --h 0.1 --compare rk4,rk4")}) {
    const RunResult r = run_trk("fit --data " + path("fine.h5") + bad + " --iterations 5 --quiet --out " + path("f"));
    EXPECT_EQ(r.code, 2) << bad;
    EXPECT_NE(r.err.find("twice"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(path("f/checkpoint.h5")));
  }
}

}  // namespace
}  // namespace trk
