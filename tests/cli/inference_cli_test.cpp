// trk identify --evaluate with --inference-solver (experiment/inference.h): the training solver given again
// reproduces the stored cells exactly (rk4, euler, dopri8 models); another solver is reported with its sub-steps and
// stages x N evaluations per step; bad inference flags are one-line errors with exit code 2 and write nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "run_trk.h"
#include "trk/io/json_io.h"

namespace fs = std::filesystem;

namespace trk {
namespace {

using trk::testing::RunResult;
RunResult run(const std::string& args) { return trk::testing::run_trk(args); }

class InferenceCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("trk_inference_cli_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_EQ(run("generate --h 0.2 --train-steps 120 --test-steps 24 --quiet --out " + path("d.h5")).code, 0);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // A small model of `solver` in DIR/<name>; its identify.json.
  io::json train(const std::string& solver, const std::string& name, const std::string& extra = "") {
    const RunResult r = run("identify --data " + path("d.h5") + " --solver " + solver +
                            " --iterations 40 --meet-iterations 10 --substeps-iterations 5 --refine-iterations 5 "
                            "--lm-iterations 2 --restarts 1 --quiet " + extra + " --out " + path(name));
    EXPECT_EQ(r.code, 0) << r.err;
    return io::read_json_file(path(name + "/identify.json"));
  }
  // `model` evaluated on the data with `flags`; its identify.json.
  io::json evaluate(const std::string& model, const std::string& flags, const std::string& out) {
    const RunResult r = run("identify --evaluate " + path(model + "/model.h5") + " --data " + path("d.h5") + " " +
                            flags + " --out " + path(out));
    EXPECT_EQ(r.code, 0) << flags << "\n" << r.err;
    return io::read_json_file(path(out + "/identify.json"));
  }
  size_t num_files() const {
    size_t n = 0;
    for (auto it = fs::recursive_directory_iterator(dir_); it != fs::recursive_directory_iterator(); ++it) ++n;
    return n;
  }
  void expect_refused(const std::string& args, const std::string& needle) {
    const size_t before = num_files();
    const RunResult r = run(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("trk: error: ", 0), 0u) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
    EXPECT_EQ(num_files(), before) << args;
  }
  fs::path dir_;
};

TEST_F(InferenceCli, TheTrainingSolverReproducesTheStoredCells) {
  // The adaptive model at looser tolerances than the defaults: evaluated at the model's own, unless given.
  for (const std::string solver : {"rk4", "euler", "dopri8"}) {
    const io::json trained = train(solver, solver, solver == "dopri8" ? "--rtol 1e-5 --atol 1e-7" : "");
    const io::json e = evaluate(solver, "--inference-solver " + solver + " --inference-substeps 1", solver + "_e");
    EXPECT_EQ(e.at("rmse").dump(), trained.at("rmse").dump()) << solver;  // the same bytes of the numbers
    EXPECT_EQ(e.at("rmse_mean_per_state").dump(), trained.at("rmse_mean_per_state").dump()) << solver;
    EXPECT_EQ(e.at("diverged"), trained.at("diverged")) << solver;
    EXPECT_EQ(e.at("nfe").at("inference_per_step"), trained.at("nfe").at("inference_per_step")) << solver;
    EXPECT_EQ(e.at("solver"), solver);
    EXPECT_EQ(e.at("inference").at("solver"), solver);
    EXPECT_EQ(e.at("inference").at("substeps"), 1);
    if (solver == "dopri8") {
      EXPECT_EQ(e.at("inference").at("rtol"), 1e-5);
      EXPECT_EQ(e.at("inference").at("atol"), 1e-7);
      // Another tolerance is another solve: other numbers, more evaluations.
      const io::json tight = evaluate(solver, "--inference-solver dopri8 --inference-rtol 1e-9 --inference-atol 1e-11",
                                      "dopri8_tight");
      EXPECT_EQ(tight.at("inference").at("rtol"), 1e-9);
      EXPECT_GT(tight.at("nfe").at("inference_per_step").get<double>(),
                trained.at("nfe").at("inference_per_step").get<double>());
    } else {
      EXPECT_FALSE(e.at("inference").contains("rtol"));
      EXPECT_EQ(e.at("nfe").at("inference_per_step"), solver == "rk4" ? 4.0 : 1.0);
    }
  }
}

TEST_F(InferenceCli, AnotherSolverReportsStagesTimesSubsteps) {
  train("dopri8", "dopri8", "--rtol 1e-5 --atol 1e-7");
  for (int n : {1, 2, 3}) {
    const io::json e = evaluate("dopri8", "--inference-solver rk4 --inference-substeps " + std::to_string(n),
                                "rk4_" + std::to_string(n));
    EXPECT_EQ(e.at("nfe").at("inference_per_step"), 4.0 * n);
    EXPECT_DOUBLE_EQ(e.at("nfe").at("inference_per_unit_time").get<double>(), 4.0 * n / 0.2);
    EXPECT_EQ(e.at("solver"), "dopri8");  // the model's training solver
    EXPECT_EQ(e.at("inference").at("solver"), "rk4");
    EXPECT_EQ(e.at("inference").at("substeps"), n);
    EXPECT_TRUE(e.at("rmse").at("t0+h").is_number());
  }
  // A TRK model: its own scheme by default (the stored cells), its field alone by another solver.
  const io::json trk = train("trk4", "trk4");
  const io::json own = evaluate("trk4", "", "trk4_own");
  EXPECT_EQ(own.at("rmse").dump(), trk.at("rmse").dump());
  EXPECT_EQ(own.at("inference").at("solver"), "trk4");
  EXPECT_EQ(own.at("inference").at("substeps"), 1);
  const io::json field = evaluate("trk4", "--inference-solver euler --inference-substeps 5", "trk4_euler");
  EXPECT_EQ(field.at("nfe").at("inference_per_step"), 5.0);
  EXPECT_NE(field.at("rmse").dump(), trk.at("rmse").dump());
  // The field is integrated over the step of the data, whatever the step of training.
  ASSERT_EQ(run("generate --h 0.1 --train-steps 40 --test-steps 20 --quiet --out " + path("d01.h5")).code, 0);
  const RunResult r = run("identify --evaluate " + path("trk4/model.h5") + " --data " + path("d01.h5") +
                          " --inference-solver rk4 --out " + path("trk4_h01"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(io::read_json_file(path("trk4_h01/identify.json")).at("nfe").at("inference_per_unit_time"), 40.0);
}

TEST_F(InferenceCli, BadInferenceFlagsAreRefused) {
  train("rk4", "m");
  const std::string e = "identify --evaluate " + path("m/model.h5") + " --data " + path("d.h5") + " --out " +
                        path("e") + " ";
  expect_refused(e + "--inference-solver rk5", "unknown solver 'rk5'");
  expect_refused(e + "--inference-solver trk10", "not an inference solver");
  expect_refused(e + "--inference-solver sr", "not an inference solver");
  expect_refused(e + "--inference-solver rk4 --inference-substeps 0", "--inference-substeps must be at least 1");
  expect_refused(e + "--inference-solver rk4 --inference-substeps -3", "--inference-substeps must be at least 1");
  expect_refused(e + "--inference-solver rk4 --inference-substeps 1.5", "--inference-substeps");
  expect_refused(e + "--inference-solver dopri8 --inference-substeps 2", "adaptive");
  expect_refused(e + "--inference-solver dopri8 --inference-rtol 0", "--inference-rtol 0: expected a tolerance > 0");
  expect_refused(e + "--inference-solver dopri8 --inference-atol -1e-9", "--inference-atol");
  expect_refused(e + "--inference-solver rk4 --inference-rtol 1e-6", "fixed-step");
  expect_refused(e + "--inference-substeps 2", "give inference-solver");
  for (const std::string flag : {"--inference-solver rk4", "--inference-substeps 2", "--inference-rtol 1e-6"})
    expect_refused("identify --data " + path("d.h5") + " " + flag + " --out " + path("t"),
                   flag.substr(0, flag.find(' ')) + ": only with --evaluate");
}

}  // namespace
}  // namespace trk
