// End-to-end tests of the workflow pieces for one's own data: generate --step (and its alias --h), generate --from --split,
// identify --forecast-steps (training and --evaluate), report stability|order --scheme model.h5 / identify.json /
// fit row, and the report's forecast and loss plots.
#include <gtest/gtest.h>

#include <filesystem>

#include "run_trk.h"
#include "trk/io/dataset_io.h"
#include "trk/io/forecast_io.h"
#include "trk/io/json_io.h"
#include "trk/io/stability_io.h"

namespace fs = std::filesystem;

namespace trk {
namespace {

using trk::testing::RunResult;
RunResult run(const std::string& args) { return trk::testing::run_trk(args); }

class Workflow : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("trk_workflow_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(Workflow, GenerateStepAndItsAliasGiveTheSameBytes) {
  ASSERT_EQ(run("generate --step 0.1 --train-steps 20 --test-steps 10 --out " + path("a.h5")).code, 0);
  ASSERT_EQ(run("generate --h 0.1 --train-steps 20 --test-steps 10 --out " + path("b.h5")).code, 0);
  EXPECT_EQ(trk::testing::slurp(path("a.h5")), trk::testing::slurp(path("b.h5")));
  EXPECT_EQ(io::read_dataset(path("a.h5")).h, 0.1);
  const RunResult help = run("generate -h");
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("--step"), std::string::npos);
}

TEST_F(Workflow, GenerateFromOneTrajectorySplitsItInTimeOrder) {
  ASSERT_EQ(run("generate --step 0.1 --train-steps 99 --test-steps 10 --out " + path("full.h5")).code, 0);
  const Dataset full = io::read_dataset(path("full.h5"));
  const RunResult with_test = run("generate --from " + path("full.h5") + " --split 0.7,0.15,0.15 --out " + path("s.h5"));
  EXPECT_EQ(with_test.code, 2);  // full.h5 has a /test split already
  EXPECT_NE(with_test.err.find("/test"), std::string::npos) << with_test.err;
  // A file with only /train (2-D states, no t), as h5py would write it.
  ASSERT_EQ(std::system(("cd '" + dir_.string() + "' && /usr/bin/python3 -c \"import h5py; s = h5py.File('full.h5'); "
                         "d = h5py.File('one.h5', 'w'); d.attrs['h'] = s.attrs['h']; d['train/states'] = "
                         "s['train/states'][0]\" 2>/dev/null")
                            .c_str()),
            0)
      << "needs /usr/bin/python3 with h5py (scripts/setup.sh installs python3-h5py)";
  EXPECT_EQ(run("identify --data " + path("one.h5") + " --solver sr --quiet --out " + path("x")).code, 2);
  const RunResult r = run("generate --from " + path("one.h5") + " --split 0.7,0.15,0.15 --out " + path("s.h5"));
  ASSERT_EQ(r.code, 0) << r.err;
  const Dataset s = io::read_dataset(path("s.h5"));
  EXPECT_EQ(s.train.num_times(), 70);
  EXPECT_EQ(s.validation.num_times(), 15);
  EXPECT_EQ(s.test.num_times(), 15);
  EXPECT_EQ(s.test.states[0], full.train.states[0].rightCols(15));
  EXPECT_EQ(run("generate --from " + path("one.h5") + " --split 0.7,0.15 --out " + path("t.h5")).code, 2);
  EXPECT_EQ(run("generate --from " + path("one.h5") + " --system lorenz96 --out " + path("t.h5")).code, 2);
  EXPECT_EQ(run("generate --split 0.7,0.15,0.15 --out " + path("t.h5")).code, 2);
  // The split file trains as any dataset.
  EXPECT_EQ(run("identify --data " + path("s.h5") + " --solver sr --quiet --out " + path("sr")).code, 0);
}

TEST_F(Workflow, ForecastsFromTrainingAndEvaluationAndTheirSchemesAndPlots) {
  ASSERT_EQ(run("generate --step 0.1 --train-steps 120 --test-steps 30 --out " + path("d.h5")).code, 0);
  const RunResult t = run("identify --data " + path("d.h5") + " --solver trk4 --iterations 20 --meet-iterations 10 "
                          "--refine-iterations 5 --lm-iterations 1 --quiet --forecast-steps 4 --out " + path("id"));
  ASSERT_EQ(t.code, 0) << t.err;
  // A horizon the test split cannot give is refused before training.
  const RunResult too_far = run("identify --data " + path("d.h5") + " --solver sr --quiet --forecast-steps 31 --out " +
                                path("far"));
  EXPECT_EQ(too_far.code, 2);
  EXPECT_NE(too_far.err.find("--forecast-steps 31"), std::string::npos) << too_far.err;
  EXPECT_FALSE(fs::exists(path("far/identify.json")));
  const io::json row = io::read_json_file(path("id/identify.json"));
  const io::ForecastFile f = io::read_forecast(path("id/forecast.h5"));
  EXPECT_EQ(f.solver, "trk4");
  EXPECT_EQ(f.forecast.rmse(1), row["rmse"]["t0+h"].get<double>());  // identify's cells, bit for bit
  EXPECT_EQ(f.forecast.rmse(4), row["rmse"]["t0+4h"].get<double>());
  const RunResult e = run("identify --evaluate " + path("id/model.h5") + " --data " + path("d.h5") +
                          " --forecast-steps 12 --forecast-every 5 --out " + path("ev"));
  ASSERT_EQ(e.code, 0) << e.err;
  const io::ForecastFile g = io::read_forecast(path("ev/forecast.h5"));
  EXPECT_EQ(g.forecast.steps, 12);
  EXPECT_EQ(g.forecast.num_starts(), (31 - 12 + 4) / 5);
  // The trained scheme, from model.h5 and from identify.json.
  ASSERT_EQ(run("report stability --scheme " + path("id/model.h5") + " --grid 21 --out " + path("st")).code, 0);
  EXPECT_EQ(io::read_stability(path("st")).tableau.name, "trk4 h=0.1 (model.h5)");
  const RunResult o = run("report order --scheme " + path("id/identify.json") + " --out " + path("or"));
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("trk4 h=0.1 (identify)"), std::string::npos) << o.out;
  EXPECT_EQ(run("report stability --scheme " + path("id/model.h5") + "#h=1 --out " + path("st2")).code, 2);
  // The report draws forecasts and loss curves.
  const RunResult rep = run("report --results " + path("id") + " --out " + path("rep") + " --no-render --quiet");
  ASSERT_EQ(rep.code, 0) << rep.err;
  EXPECT_TRUE(fs::exists(path("rep/forecast_lorenz63_h0.1.gp")));
  EXPECT_TRUE(fs::exists(path("rep/forecast_error_lorenz63_h0.1.dat")));
  EXPECT_TRUE(fs::exists(path("rep/loss_identify_lorenz63_h0.1.dat")));
}

}  // namespace
}  // namespace trk
