// The job lists of the reproduction (experiments/*.jobs): every job names a cell of its config, and a job runs
// unchanged as a Slurm array task (scripts/slurm_array.sh) on this machine.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "run_trk.h"
#include "trk/io/json_io.h"

namespace fs = std::filesystem;

namespace trk {
namespace {

using trk::testing::run_command;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

std::string option(const std::string& cmd, const std::string& name) {
  std::istringstream in(cmd);
  for (std::string w; in >> w;)
    if (w == name && in >> w) return w;
  return "";
}

struct ListAndFits {
  const char* list;
  int fits;  // fit jobs in it
};

class JobList : public ::testing::TestWithParam<ListAndFits> {};

TEST_P(JobList, EveryJobNamesACellOfItsConfigAndEveryCellHasAJob) {
  const std::string jobfile = std::string("experiments/") + GetParam().list;
  const auto r = run_command("scripts/jobs.sh " + jobfile + " OUT TRK");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto jobs = lines(r.out);
  ASSERT_FALSE(jobs.empty());
  std::map<std::string, std::set<std::pair<std::string, double>>> cells;  // identify config -> (solver, h)
  int fits = 0;
  for (const std::string& job : jobs) {
    ASSERT_EQ(job.rfind("TRK ", 0), 0u) << job;
    EXPECT_NE(job.find("--out OUT/"), std::string::npos) << job;
    const std::string config = option(job, "--config");
    ASSERT_TRUE(fs::exists(fs::path(TRK_SOURCE_DIR) / config)) << job;
    const io::json j = io::read_json_file(fs::path(TRK_SOURCE_DIR) / config);
    if (job.find("TRK fit ") == 0) {
      ++fits;
      continue;
    }
    ASSERT_EQ(job.find("TRK identify "), 0u) << job;
    const std::string solver = option(job, "--solver");
    const double h = std::stod(option(job, "--h"));
    const auto solvers = j.at("solvers").get<std::vector<std::string>>();
    const auto steps = j.at("h").get<std::vector<double>>();
    EXPECT_NE(std::find(solvers.begin(), solvers.end(), solver), solvers.end()) << job;
    EXPECT_NE(std::find(steps.begin(), steps.end(), h), steps.end()) << job;
    EXPECT_TRUE(cells[config].insert({solver, h}).second) << "twice: " << job;
  }
  EXPECT_EQ(fits, GetParam().fits);
  for (const auto& [config, have] : cells) {
    const io::json j = io::read_json_file(fs::path(TRK_SOURCE_DIR) / config);
    EXPECT_EQ(have.size(), j.at("solvers").size() * j.at("h").size()) << config << ": a cell without a job";
  }
  const auto count = run_command("scripts/jobs.sh " + jobfile + " OUT TRK --count");
  EXPECT_EQ(std::stoul(count.out), jobs.size());
  EXPECT_EQ(run_command("scripts/jobs.sh " + jobfile + " OUT TRK --line " + std::to_string(jobs.size() + 1)).code, 2);
}

INSTANTIATE_TEST_SUITE_P(Experiments, JobList,
                         ::testing::Values(ListAndFits{"reproduce.jobs", 1}, ListAndFits{"regress.jobs", 1},
                                           ListAndFits{"reliability_l63.jobs", 0}));

TEST(ReliabilityList, TenDatasetsOfTheIdentifyGridEachWithItsOwnSeedSpinUpAndRunFolder) {
  const fs::path src(TRK_SOURCE_DIR);
  const io::json grid = io::read_json_file(src / "experiments/identify_l63.json");
  std::set<std::int64_t> seeds;
  std::set<double> spin_ups;
  for (int d = 1; d <= 10; ++d) {
    const std::string name = (d < 10 ? "d0" : "d") + std::to_string(d);
    io::json j = io::read_json_file(src / "experiments/reliability_l63" / (name + ".json"));
    seeds.insert(j["generate"]["seed"].get<std::int64_t>());
    spin_ups.insert(j["generate"]["spin_up"].get<double>());
    // The same grid as identify_l63.json but for the generator's seed and spin-up.
    for (const char* key : {"system", "h", "solvers", "training"}) EXPECT_EQ(j[key], grid[key]) << name << " " << key;
    j["generate"].erase("seed");
    j["generate"].erase("spin_up");
    io::json g = grid["generate"];
    g.erase("seed");
    EXPECT_EQ(j["generate"], g) << name;
  }
  EXPECT_EQ(seeds.size(), 10u);
  EXPECT_EQ(spin_ups.size(), 10u);
  // A job of dataset dNN writes its cells into OUT/reliability_l63/dNN (the report's datasets are those folders).
  const auto jobs = lines(run_command("scripts/jobs.sh experiments/reliability_l63.jobs OUT TRK").out);
  ASSERT_EQ(jobs.size(), 150u);
  for (const std::string& job : jobs) {
    const std::string config = option(job, "--config");
    EXPECT_EQ(option(job, "--out"), "OUT/reliability_l63/" + fs::path(config).stem().string()) << job;
  }
  // Longest first: the dopri8 and trk10 jobs before every other.
  const auto first_other = std::find_if(jobs.begin(), jobs.end(), [](const std::string& j) {
    return option(j, "--solver") != "dopri8" && option(j, "--solver") != "trk10";
  });
  EXPECT_EQ(first_other - jobs.begin(), 60);
  // Every job has an estimated time for run_jobs.sh's ETA.
  const std::string durations = trk::testing::slurp(src / "experiments/reliability_l63.durations");
  for (const std::string& job : lines(run_command("scripts/jobs.sh experiments/reliability_l63.jobs {out} {trk}").out))
    EXPECT_NE(durations.find("\t" + job + "\n"), std::string::npos) << job;
}

TEST(SlurmArray, RunsOneTaskOfTheJobListByHand) {
  // The job of the regression list that trains SINDy at h = 0.2 (fast): found by its line number.
  const auto all = lines(run_command("scripts/jobs.sh experiments/regress.jobs OUT TRK").out);
  size_t task = 0;
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i].find("--h 0.2 --solver sr ") != std::string::npos) task = i + 1;
  ASSERT_GT(task, 0u);
  const fs::path out = fs::temp_directory_path() / ("trk_slurm_" + std::to_string(::getpid()));
  fs::remove_all(out);
  const auto r = run_command("SLURM_ARRAY_TASK_ID=" + std::to_string(task) +
                             " scripts/slurm_array.sh experiments/regress.jobs " + out.string() + " " + TRK_BINARY);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(fs::exists(out / "identify_l63/h0.2/sr/identify.json")) << r.out << r.err;
  // Outside an array task it refuses to guess.
  EXPECT_NE(run_command("env -u SLURM_ARRAY_TASK_ID scripts/slurm_array.sh experiments/regress.jobs " + out.string()).code, 0);
  fs::remove_all(out);
}

TEST(RunJobs, ShowsRunningJobsTheirLastLogLineAndAnEtaAndRecordsDurations) {
  // A stand-in for trk: a job prints two progress lines around a sleep; "report" succeeds at once.
  const fs::path dir = fs::temp_directory_path() / ("trk_run_jobs_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path fake = dir / "fake_trk", jobfile = dir / "list.jobs", out = dir / "out";
  {
    std::ofstream f(fake);
    f << "#!/bin/sh\n[ \"$1\" = report ] && exit 0\necho \"phase 1/2 of $2\"\nsleep $3\necho \"phase 2/2 of $2\"\n"
         "[ \"$2\" != bad ]\n";
  }
  fs::permissions(fake, fs::perms::owner_all);
  {
    std::ofstream f(jobfile);
    f << "# three jobs\n{trk} job a 4\n{trk} job b 1\n{trk} job c 1\n";
  }
  const auto r = run_command("STATUS_EVERY=1 scripts/run_jobs.sh -j 2 --trk " + fake.string() + " " +
                             jobfile.string() + " " + out.string());
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("run_jobs: status"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("phase 1/2 of a"), std::string::npos) << r.out;  // a running job's last log line
  EXPECT_NE(r.out.find("ETA"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[3/3] ok"), std::string::npos) << r.out;
  const std::string durations = trk::testing::slurp(out / "logs/durations.tsv");
  EXPECT_NE(durations.find("\t{trk} job a 4\n"), std::string::npos) << durations;
  EXPECT_EQ(std::count(durations.begin(), durations.end(), '\n'), 4) << durations;  // a comment and 3 jobs
  // A second run into the same folder knows every job's time from the first: an ETA from the start.
  const auto again = run_command("STATUS_EVERY=1 scripts/run_jobs.sh -j 2 --trk " + fake.string() + " " +
                                 jobfile.string() + " " + out.string());
  EXPECT_EQ(again.code, 0);
  EXPECT_EQ(again.out.find("ETA after the first job ends"), std::string::npos) << again.out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace trk
