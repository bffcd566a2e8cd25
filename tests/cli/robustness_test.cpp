// Robustness of the trk binary: every kind of bad input gives one line naming the file and the field,
// exit code 2 and no output; SIGINT / SIGTERM write a checkpoint and --resume ends with the bytes of an
// uninterrupted run; a killed run leaves no result; outputs are the same bytes at 1 and 2 threads.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <thread>

#include "trk/experiment/generate.h"
#include "trk/io/checkpoint_io.h"
#include "trk/io/dataset_io.h"
#include "trk/experiment/memory_estimate.h"
#include "trk/field/models.h"
#include "trk/io/json_io.h"
#include "trk/tableau/stability.h"
#include "run_trk.h"

namespace fs = std::filesystem;

namespace trk {
namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The trk binary as a child process, stdout and stderr to files; OMP_NUM_THREADS set when threads > 0.
struct Child {
  pid_t pid = -1;
  fs::path out, err;
  int wait() const {  // exit code, or 128 + signal
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

Child spawn(const std::string& args, const fs::path& log_prefix, int threads = 0, const std::string& env = "") {
  Child c;
  c.out = log_prefix.string() + ".out";
  c.err = log_prefix.string() + ".err";
  std::vector<std::string> words = {TRK_BINARY};
  std::istringstream in(args);
  for (std::string w; in >> w;) words.push_back(w);
  c.pid = ::fork();
  if (c.pid == 0) {
    const int o = ::open(c.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(c.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(e, 2);
    if (threads > 0) ::setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 1);
    if (!env.empty()) ::putenv(const_cast<char*>(env.c_str()));
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return c;
}

struct RunResult {
  int code;
  std::string out, err;
};

class Robustness : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("trk_robustness_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    logs_ = dir_.string() + "_logs";
    fs::remove_all(dir_);
    fs::remove_all(logs_);
    fs::create_directories(dir_);
    fs::create_directories(logs_);
  }
  void TearDown() override {
    fs::remove_all(dir_);
    fs::remove_all(logs_);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  RunResult run(const std::string& args, int threads = 0, const std::string& env = "") {
    const Child c = spawn(args, logs_ / std::to_string(runs_++), threads, env);
    const int code = c.wait();
    return {code, slurp(c.out), slurp(c.err)};
  }
  size_t num_files() const {
    size_t n = 0;
    for (auto it = fs::recursive_directory_iterator(dir_); it != fs::recursive_directory_iterator(); ++it) ++n;
    return n;
  }
  // Exit code 2, the last line on stderr is the one error line and names every `needles` entry (progress lines
  // may come before it), nothing written.
  void expect_refused(const std::string& args, const std::vector<std::string>& needles) {
    const size_t before = num_files();
    const RunResult r = run(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    ASSERT_FALSE(r.err.empty()) << args;
    const size_t start = r.err.rfind('\n', r.err.size() - 2);
    const std::string line = r.err.substr(start == std::string::npos ? 0 : start + 1);
    EXPECT_EQ(line.rfind("trk: error: ", 0), 0u) << args << "\n" << r.err;
    EXPECT_EQ(r.err.find("error"), r.err.size() - line.size() + 5) << args << "\n" << r.err;  // the only one
    for (const auto& n : needles) EXPECT_NE(line.find(n), std::string::npos) << args << "\n" << r.err;
    EXPECT_EQ(num_files(), before) << args;
  }
  fs::path dir_, logs_;
  int runs_ = 0;
};

// ---- datasets damaged with the HDF5 C API

Dataset small_dataset(int train_steps = 60, int test_steps = 20) {
  GenerateOptions g;
  g.h = 0.1;
  g.train_steps = train_steps;
  g.test_steps = test_steps;
  return generate(g);
}

void edit_h5(const fs::path& p, const std::function<void(hid_t)>& edit) {
  const hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  edit(f);
  H5Fclose(f);
}

void put(hid_t f, const char* name, hid_t type, std::vector<hsize_t> dims, const std::vector<double>& v) {
  if (H5Lexists(f, name, H5P_DEFAULT) > 0) H5Ldelete(f, name, H5P_DEFAULT);
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t ds = H5Dcreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (!v.empty()) H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  H5Dclose(ds);
  H5Sclose(space);
}

void set_attr(hid_t f, const char* name, hid_t type, const void* v) {
  if (H5Aexists(f, name) > 0) H5Adelete(f, name);
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t a = H5Acreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, type == H5T_IEEE_F64LE ? H5T_NATIVE_DOUBLE : H5T_NATIVE_LLONG, v);
  H5Aclose(a);
  H5Sclose(space);
}

std::vector<double> states_of(const Split& s) {
  std::vector<double> v;
  for (const Mat& t : s.states) v.insert(v.end(), t.data(), t.data() + t.size());
  return v;
}

TEST_F(Robustness, BadDatasetsAreRefusedForIdentifyAndFit) {
  const Dataset d = small_dataset();
  struct Case {
    std::string name;
    std::function<void(const fs::path&)> damage;
    std::vector<std::string> needles;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  std::vector<double> with_nan = states_of(d.train), with_inf = states_of(d.test);
  with_nan[40] = nan;
  with_inf[7] = inf;
  const std::vector<Case> cases = {
      {"missing", [](const fs::path& p) { fs::remove(p); }, {"file not found"}},
      {"empty", [](const fs::path& p) { std::ofstream(p, std::ios::trunc); }, {"empty file"}},
      {"truncated", [](const fs::path& p) { fs::resize_file(p, fs::file_size(p) * 2 / 3); }, {"truncated"}},
      {"not HDF5", [](const fs::path& p) { std::ofstream(p, std::ios::trunc) << "t,x,y,z\n0,1,2,3\n"; },
       {"not an HDF5 file"}},
      {"layout: no test split", [](const fs::path& p) { edit_h5(p, [](hid_t f) { H5Ldelete(f, "test", H5P_DEFAULT); }); },
       {"/test", "missing group"}},
      {"rank", [&](const fs::path& p) {
         edit_h5(p, [&](hid_t f) { put(f, "train/states", H5T_IEEE_F64LE, {183}, states_of(d.train)); });
       }, {"/train/states", "expected rank 2 or 3, found rank 1"}},
      {"dimension", [&](const fs::path& p) {
         edit_h5(p, [&](hid_t f) { put(f, "test/states", H5T_IEEE_F64LE, {1, 21, 2}, std::vector<double>(42, 1.0)); });
       }, {"/test/states", "expected dim 3"}},
      {"dtype", [&](const fs::path& p) {
         edit_h5(p, [&](hid_t f) { put(f, "train/states", H5T_STD_I32LE, {1, 61, 3}, std::vector<double>(183, 1.0)); });
       }, {"/train/states", "expected floating-point values, found integer"}},
      {"NaN", [&](const fs::path& p) {
         edit_h5(p, [&](hid_t f) { put(f, "train/states", H5T_IEEE_F64LE, {1, 61, 3}, with_nan); });
       }, {"/train/states", "expected finite values, found nan"}},
      {"Inf", [&](const fs::path& p) {
         edit_h5(p, [&](hid_t f) { put(f, "test/states", H5T_IEEE_F64LE, {1, 21, 3}, with_inf); });
       }, {"/test/states", "expected finite values, found inf"}},
      {"h missing, no t", [](const fs::path& p) {
         edit_h5(p, [](hid_t f) {
           H5Adelete(f, "h");
           H5Ldelete(f, "train/t", H5P_DEFAULT);
         });
       }, {"attribute h of /", "missing"}},
      {"t against h", [&](const fs::path& p) {
         std::vector<double> t(61);
         for (int k = 0; k < 61; ++k) t[k] = 0.2 * k;  // the attribute says 0.1
         edit_h5(p, [&](hid_t f) { put(f, "train/t", H5T_IEEE_F64LE, {61}, t); });
       }, {"/train/t", "expected uniform times with the step 0.1 (attribute h of /)", "t(1) - t(0) = 0.2"}},
      {"h negative", [](const fs::path& p) {
         const double h = -0.1;
         edit_h5(p, [&](hid_t f) { set_attr(f, "h", H5T_IEEE_F64LE, &h); });
       }, {"attribute h of /", "found -0.1"}},
      {"h zero", [](const fs::path& p) {
         const double h = 0.0;
         edit_h5(p, [&](hid_t f) { set_attr(f, "h", H5T_IEEE_F64LE, &h); });
       }, {"attribute h of /", "> 0"}},
      {"newer format", [](const fs::path& p) {
         const long long v = 2;
         edit_h5(p, [&](hid_t f) { set_attr(f, "format_version", H5T_STD_I64LE, &v); });
       }, {"attribute format_version of /", "newer trk"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const fs::path p = dir_ / "data.h5";
    io::write_dataset(p, d);
    c.damage(p);
    std::vector<std::string> needles = c.needles;
    needles.push_back(p.string());
    expect_refused("identify --data " + p.string() + " --iterations 5 --out " + path("out"), needles);
    expect_refused("fit --data " + p.string() + " --h 0.1 --iterations 5 --out " + path("out"), needles);
    fs::remove(p);
  }
}

// Damaged files on which libhdf5 1.10.8 loops forever or reads out of bounds (found by
// tests/io/fuzz_readers_test.cpp): the CLI reads in a child first and refuses them like any other bad file.
TEST_F(Robustness, FilesThatHangOrCrashLibhdf5AreRefused) {
  const fs::path loop = dir_ / "loop.h5", overread = dir_ / "overread.h5";
  fs::copy_file(fs::path(TRK_SOURCE_DIR) / "tests/cli/data/hdf5_heap_loop.h5", loop);
  fs::copy_file(fs::path(TRK_SOURCE_DIR) / "tests/cli/data/hdf5_heap_overread.h5", overread);
  const auto start = std::chrono::steady_clock::now();
  const RunResult r = run("identify --data " + loop.string() + " --out " + path("out"), 0, "TRK_READ_TIMEOUT=1");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 30.0);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(r.err, "trk: error: " + loop.string() + ": reading did not finish in 1 s (libhdf5 loops on some damaged "
                   "files); expected a trk-dataset HDF5 file\n");
  expect_refused("identify --data " + overread.string() + " --out " + path("out"),
                 {overread.string(), "libhdf5 crashed reading it", "expected a trk-dataset"});
  expect_refused("fit --data " + overread.string() + " --h 0.1 --out " + path("out"), {overread.string(), "libhdf5"});
  EXPECT_FALSE(fs::exists(path("out")));
}

// Every reader of a user's HDF5 file goes through the guard (io/guarded_read.h): the damaged files and a FIFO are
// refused in one line by report --scheme and generate --from too, within the read timeout.
TEST_F(Robustness, EveryHdf5ReaderRefusesDamagedFilesAndFifos) {
  const fs::path loop = dir_ / "loop.h5", overread = dir_ / "overread.h5", fifo = dir_ / "fifo.h5";
  fs::copy_file(fs::path(TRK_SOURCE_DIR) / "tests/cli/data/hdf5_heap_loop.h5", loop);
  fs::copy_file(fs::path(TRK_SOURCE_DIR) / "tests/cli/data/hdf5_heap_overread.h5", overread);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  for (const fs::path& f : {loop, overread, fifo}) {
    for (const std::string& args : {"report stability --scheme " + f.string() + " --out " + path("s"),
                                    "report order --scheme " + f.string() + " --out " + path("o"),
                                    "generate --from " + f.string() + " --split 0.6,0.2,0.2 --out " + path("g.h5")}) {
      const RunResult r = run(args, 0, "TRK_READ_TIMEOUT=1");
      EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
      EXPECT_EQ(r.err.rfind("trk: error: " + f.string() + ": ", 0), 0u) << args << "\n" << r.err;
    }
  }
  EXPECT_FALSE(fs::exists(path("g.h5")));
}

// ks: a reference step so small that the step count overflows or never ends is refused before any solve.
TEST_F(Robustness, EtdrkStepCountsAreBoundedAndSpinUpIsNotNegative) {
  for (const char* step : {"1e-25", "1e-19"})
    expect_refused(std::string("generate --system ks --h 0.25 --etdrk4-step ") + step + " --out " + path("ks.h5"),
                   {"etdrk4-step", "ETDRK4 steps", "choose etdrk4-step >="});
  expect_refused("generate --spin-up -5 --out " + path("l63.h5"), {"spin-up", ">= 0"});
}

// Every number flag of every command (as --help lists them: INT, UINT, FLOAT and lists of them) reads its text
// with the check config keys share: nothing non-finite, empty, partial, hexadecimal or past its type is taken.
TEST_F(Robustness, EveryNumberFlagRefusesTextThatIsNotANumberOfItsType) {
  const std::vector<std::string> commands = {"generate", "fit", "identify", "report", "report stability",
                                             "report order"};
  const std::vector<std::string> not_numbers = {"inf", "nan", "-inf", "1e400", "0x10", "12abc", "' 5'"};
  const std::vector<std::string> not_integers = {"99999999999999999999", "-99999999999999999999", "1.5"};
  size_t flags = 0;
  for (const std::string& c : commands) {
    const auto help = testing::run_trk(c + " --help");
    ASSERT_EQ(help.code, 0) << c;
    std::istringstream lines(help.out);
    for (std::string line; std::getline(lines, line);) {
      std::istringstream words(line);
      std::string names, type;
      words >> names >> type;
      if (names.rfind("--", 0) != 0) continue;
      const std::string kind = type.substr(0, type.find('='));
      if (kind != "INT" && kind != "UINT" && kind != "FLOAT") continue;
      const std::string flag = names.substr(0, names.find(','));
      ++flags;
      // '' and one more of each list, a different one for each flag.
      std::vector<std::string> bad = {"''", not_numbers[flags % not_numbers.size()]};
      if (kind != "FLOAT") bad.push_back(not_integers[flags % not_integers.size()]);
      if (kind == "UINT") bad.push_back("-1");
      for (const std::string& v : bad) {
        const auto r = testing::run_trk(c + " " + flag + " " + v + " --out " + path("x"));
        EXPECT_EQ(r.code, 2) << c << " " << flag << " " << v << "\n" << r.err;
        EXPECT_EQ(r.err.rfind("trk: error: " + flag, 0), 0u) << c << " " << flag << " " << v << "\n" << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
      }
    }
  }
  EXPECT_GT(flags, 40u);  // the parse of --help found the flags
  EXPECT_EQ(num_files(), 0u);
  // What the flags read, the config keys read the same way.
  const fs::path data = dir_ / "d.h5";
  io::write_dataset(data, small_dataset());
  std::ofstream(path("huge.json")) << R"({"data": ")" << data.string()
                                   << R"(", "solvers": ["rk4"], "training": {"rtol": 1e400}})";
  expect_refused("identify --config " + path("huge.json") + " --out " + path("o"),
                 {path("huge.json"), "1e400", "out of the range of a double"});
  std::ofstream(path("seed.json")) << R"({"data": ")" << data.string()
                                   << R"(", "solvers": ["rk4"], "training": {"seed": 99999999999999999999}})";
  expect_refused("identify --config " + path("seed.json") + " --out " + path("o"),
                 {path("seed.json"), "training.seed", "out of range"});
  // Names: one spelling per solver; a parameter given once.
  expect_refused("identify --data " + data.string() + " --solver trk04 --out " + path("o"), {"trk04", "trk4"});
  expect_refused("generate --param rho=10 --param rho=28 --out " + path("x.h5"), {"--param", "rho", "twice"});
  expect_refused("generate --param rho --out " + path("x.h5"), {"--param 'rho'", "name=value"});
  expect_refused("fit --data " + data.string() + " --h 0.1 --param rho=28 --out " + path("o"), {"--param", "config"});
  expect_refused("fit --data " + data.string() + " --h 0.1 --param rho --out " + path("o"), {"--param 'rho'"});
}

// What is scored or trained on has the samples it needs: a /validation too short to score (or with no
// trajectory) is refused, not scored over zero states or taken as absent; every rollout option is bounded by the
// training samples; an order no scheme of the stages reaches is refused.
TEST_F(Robustness, EverySplitAndRolloutIsLongEnoughForItsUse) {
  const std::string quick = " --iterations 1 --meet-iterations 0 --refine-iterations 0 --quiet";
  Dataset d = small_dataset(300, 20);
  const fs::path full = dir_ / "full.h5";
  io::write_dataset(full, d);
  for (Mat& m : d.validation.states) m = Mat(m.leftCols(3));
  d.validation.t = Vec(d.validation.t.head(3));
  const fs::path short_validation = dir_ / "short_validation.h5";
  io::write_dataset(short_validation, d);
  expect_refused("identify --data " + short_validation.string() + quick + " --out " + path("o"),
                 {short_validation.string(), "/validation/states", "at least 5"});
  const fs::path no_trajectory = dir_ / "no_trajectory.h5";
  io::write_dataset(no_trajectory, small_dataset(300, 20));
  const long samples = small_dataset(300, 20).validation.num_times();
  edit_h5(no_trajectory, [&](hid_t f) {
    put(f, "validation/states", H5T_IEEE_F64LE, {0, static_cast<hsize_t>(samples), 3}, {});
  });
  expect_refused("identify --data " + no_trajectory.string() + quick + " --out " + path("o"),
                 {no_trajectory.string(), "/validation/states", "at least 1 trajectory, found 0"});
  const std::string D = " --data " + full.string() + " --solver rk4";
  expect_refused("identify" + D + quick + " --refine-rollout-iterations 1 --refine-rollout-steps 100000 --out " +
                     path("o"),
                 {full.string(), "--refine-rollout-steps", "100001 time samples"});
  expect_refused("identify" + D + quick + " --lm-iterations 1 --lm-rollout-steps 400 --out " + path("o"),
                 {full.string(), "--lm-rollout-steps", "401 time samples", "found 301"});
  expect_refused("identify" + D + quick + " --rollout-steps 301 --out " + path("o"), {"--rollout-steps", "302 time samples"});
  // Held out of a dataset without /validation: the rollouts fit in what is left.
  Dataset without = small_dataset(300, 20);
  without.validation = Split{};
  const fs::path held = dir_ / "held.h5";
  io::write_dataset(held, without);
  expect_refused("identify --data " + held.string() + " --solver rk4" + quick +
                     " --lm-iterations 1 --lm-rollout-steps 250 --out " + path("o"),
                 {held.string(), "--lm-rollout-steps", "held out for validation"});
  EXPECT_EQ(run("identify --data " + held.string() + " --solver rk4" + quick + " --lm-iterations 1 " +
                "--lm-rollout-steps 200 --restarts 1 --out " + path("o")).code, 0);
  fs::remove_all(path("o"));
  // fit: an order the stages cannot reach; a step printed as given.
  ASSERT_EQ(run("generate --h 0.01 --train-steps 1000 --test-steps 1000 --quiet --out " + path("fine.h5")).code, 0);
  expect_refused("fit --data " + path("fine.h5") + " --h 0.1 --order 4 --stages 2 --out " + path("o"),
                 {"order 4", "stages", "--stages 4"});
  expect_refused("fit --data " + path("fine.h5") + " --h 1e-300 --iterations 1 --out " + path("o"), {"h = 1e-300"});
}

// Results and models with values no run writes (a negative RMSE, NFE or count, an unknown status, a NaN
// parameter) are refused by report, --check and --evaluate; configs that would run a cell twice into one folder,
// or give keys a data file makes meaningless, are refused; --evaluate refuses training flags.
TEST_F(Robustness, ValuesNoRunWritesAndKeysThatWouldBeIgnoredAreRefused) {
  const fs::path data = dir_ / "d.h5";
  io::write_dataset(data, small_dataset());
  const std::string quick = " --iterations 1 --meet-iterations 0 --refine-iterations 0 --lm-iterations 0 --quiet";
  ASSERT_EQ(run("identify --data " + data.string() + " --solver rk4" + quick + " --out " + path("ok")).code, 0);
  const io::json row = io::read_json_file(path("ok/identify.json"));
  const fs::path model = dir_ / "model.h5";
  fs::rename(path("ok/model.h5"), model);
  const std::vector<std::pair<std::string, std::function<void(io::json&)>>> impossible = {
      {"rmse.t0+h", [](io::json& j) { j["rmse"]["t0+h"] = -0.5; }},
      {"nfe.inference_per_step", [](io::json& j) { j["nfe"]["inference_per_step"] = -3; }},
      {"test_states", [](io::json& j) { j["test_states"] = -5; }},
      {"status", [](io::json& j) { j["status"] = "fine"; }},
  };
  for (const auto& [field, edit] : impossible) {
    SCOPED_TRACE(field);
    io::json j = row;
    edit(j);
    fs::create_directories(path("bad/cell"));
    std::ofstream(path("bad/cell/identify.json")) << j.dump();
    expect_refused("report --results " + path("bad") + " --out " + path("report") + " --no-render",
                   {path("bad/cell/identify.json"), field});
    expect_refused("report --check " + path("ok") + " --results " + path("bad"), {path("bad/cell/identify.json"), field});
    fs::remove_all(path("bad"));
  }
  // A model with a NaN parameter.
  fs::copy_file(model, path("nan_model.h5"));
  edit_h5(path("nan_model.h5"), [](hid_t f) {
    const hid_t ds = H5Dopen2(f, "params", H5P_DEFAULT);
    const hid_t space = H5Dget_space(ds);
    std::vector<double> p(static_cast<size_t>(H5Sget_simple_extent_npoints(space)));
    H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data());
    p[1] = std::numeric_limits<double>::quiet_NaN();
    H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data());
    H5Sclose(space);
    H5Dclose(ds);
  });
  expect_refused("identify --evaluate " + path("nan_model.h5") + " --data " + data.string() + " --out " + path("e"),
                 {path("nan_model.h5"), "params", "finite", "index 1"});
  // Training flags with --evaluate.
  for (const std::string flag : {"--iterations 5", "--solver trk4", "--learning-rate 0.1", "--resume"})
    expect_refused("identify --evaluate " + model.string() + " --data " + data.string() + " " + flag + " --out " +
                       path("e"),
                   {flag.substr(0, flag.find(' ')), "not with --evaluate"});
  EXPECT_EQ(run("identify --evaluate " + model.string() + " --data " + data.string() + " --threads 1 --out " +
                path("e")).code, 0);
  fs::remove_all(path("e"));
  // Configs.
  auto config = [&](const std::string& name, const std::string& text) {
    std::ofstream(path(name)) << text;
    return path(name);
  };
  const std::string D = R"("data": ")" + data.string() + R"(", )";
  const std::vector<std::pair<std::string, std::vector<std::string>>> grids = {
      {R"({"h": [0.2, 0.2], "solvers": ["rk4"]})", {"h[1]", "given twice"}},
      {R"({"h": [0.2], "solvers": ["rk4", "euler", "rk4"]})", {"solvers", "rk4", "given twice"}},
      {"{" + D + R"("h": [0.1], "solvers": ["rk4"]})", {"h", "not with \"data\""}},
      {"{" + D + R"("system": "lorenz96", "solvers": ["rk4"]})", {"system", "not with \"data\""}},
      {"{" + D + R"("generate": {"train_steps": 10}, "solvers": ["rk4"]})", {"generate", "not with \"data\""}},
  };
  for (size_t i = 0; i < grids.size(); ++i) {
    SCOPED_TRACE(grids[i].first);
    const std::string file = config("grid" + std::to_string(i) + ".json", grids[i].first);
    std::vector<std::string> needles = grids[i].second;
    needles.push_back(file);
    expect_refused("identify --config " + file + quick + " --out " + path("g"), needles);
  }
  const std::string fit_config = config("fit.json", "{" + D + R"("system": "lorenz63", "h": [0.1]})");
  expect_refused("fit --config " + fit_config + " --out " + path("f"), {fit_config, "system", "not with \"data\""});
}

TEST_F(Robustness, TooFewSamplesAndWrongDimensionForTheSystem) {
  const fs::path p = dir_ / "short.h5";
  io::write_dataset(p, small_dataset(60, 3));  // 4 test samples: no state with 4 steps after it
  expect_refused("identify --data " + p.string() + " --out " + path("out"), {p.string(), "/test/states", "at least 5"});
  Dataset two = small_dataset();
  for (Split* s : {&two.train, &two.validation, &two.test})
    for (Mat& m : s->states) m = Mat(m.topRows(2));
  const fs::path q = dir_ / "planar.h5";
  io::write_dataset(q, two);
  expect_refused("fit --data " + q.string() + " --h 0.1 --out " + path("out"), {q.string(), "/train/states", "dim 3"});
  const fs::path r = dir_ / "tiny.h5";
  io::write_dataset(r, small_dataset(1, 20));  // one training pair
  expect_refused("identify --data " + r.string() + " --rollout-steps 4 --out " + path("out"),
                 {r.string(), "/train/states", "for 4-step rollouts"});
}

TEST_F(Robustness, BadConfigsNamesAndNumbersAreRefused) {
  const fs::path data = dir_ / "d.h5";
  io::write_dataset(data, small_dataset());
  const std::string D = " --data " + data.string();
  const std::string out = " --out " + path("out");
  auto config = [&](const std::string& name, const std::string& text) {
    std::ofstream(path(name)) << text;
    return path(name);
  };
  // Invalid JSON, unknown keys at the top and inside sections, wrong types.
  const std::string broken = config("broken.json", R"({"system": "lorenz63", "h": [0.1, )");
  expect_refused("fit --config " + broken + out, {broken, "invalid JSON"});
  expect_refused("identify --config " + broken + out, {broken, "invalid JSON"});
  const std::string unknown = config("unknown.json", R"({"system": "lorenz63", "h": [0.1], "itrations": 5})");
  expect_refused("fit --config " + unknown + out, {unknown, "itrations", "unknown key"});
  expect_refused("identify --config " + unknown + out, {unknown, "itrations", "unknown key"});
  const std::string inner = config("inner.json", R"({"h": [0.1], "solvers": ["rk4"], "training": {"lr": 1}})");
  expect_refused("identify --config " + inner + out, {inner, "training.lr", "unknown key"});
  const std::string typed = config("typed.json", R"({"system": "lorenz63", "h": [0.1], "training": {"iterations": "many"}})");
  expect_refused("fit --config " + typed + out, {typed, "training.iterations", "wrong type"});
  const std::string list = config("list.json", R"([1, 2, 3])");
  expect_refused("fit --config " + list + out, {list, "expected a JSON object"});
  expect_refused("identify --config " + list + out, {list, "expected a JSON object"});
  expect_refused("fit --config " + path("absent.json") + out, {path("absent.json"), "cannot open"});
  // Unknown names.
  expect_refused("generate --system lorenz64 --out " + path("x.h5"), {"unknown system", "lorenz64"});
  const std::string system = config("system.json", R"({"system": "duffing", "h": [0.1]})");
  expect_refused("fit --config " + system + out, {"duffing"});
  expect_refused("identify" + D + " --solver rk5" + out, {"unknown solver", "rk5"});
  expect_refused("identify" + D + " --model transformer" + out, {"unknown model", "transformer"});
  expect_refused("identify" + D + " --schedule linear" + out, {"schedule", "linear"});
  expect_refused("identify" + D + " --on-divergence retry" + out, {"divergence", "retry"});
  expect_refused("fit" + D + " --h 0.1 --compare rk5" + out, {"rk5"});
  expect_refused("fit" + D + " --h 0.1 --init rk7" + out, {"rk7"});
  expect_refused("identify" + D + " --solver trk4 --tableau-init dopri5" + out, {"dopri5"});
  // Numbers out of range.
  expect_refused("identify" + D + " --iterations -1" + out, {"iterations"});
  expect_refused("identify" + D + " --refine-iterations -5" + out, {"refine iterations"});
  expect_refused("fit" + D + " --h 0.1 --iterations -1" + out, {"iterations"});
  expect_refused("fit" + D + " --h 0.1 --stages 0" + out, {"stages"});
  expect_refused("identify" + D + " --solver trk0" + out, {"trk0"});
  expect_refused("identify" + D + " --solver dopri8 --rtol 0" + out, {"tolerances"});
  expect_refused("identify" + D + " --atol -1e-9" + out, {"tolerances"});
  expect_refused("generate --rtol 0 --out " + path("x.h5"), {"tol"});
  expect_refused("identify" + D + " --learning-rate 0" + out, {"learning rate"});
  expect_refused("identify" + D + " --checkpoint-every -1" + out, {"--checkpoint-every"});
  expect_refused("fit" + D + " --h -0.1" + out, {"h"});
  expect_refused("fit" + D + " --h 0.1 --batch-size 0" + out, {"batch size"});
  expect_refused("identify" + D + " --iterations many" + out, {"--iterations"});
  // Output folders that cannot be written: below a regular file, in /proc.
  std::ofstream(path("file.txt")) << "x";
  expect_refused("identify" + D + " --iterations 5 --out " + path("file.txt") + "/out", {path("file.txt"), "directory"});
  expect_refused("fit" + D + " --h 0.1 --iterations 5 --out /proc/trk_no/out", {"/proc/trk_no/out", "directory"});
  expect_refused("generate --out " + path("file.txt") + "/d.h5", {path("file.txt")});
}

// ---- long runs: signals, resume, kills, reproducibility

// Every dataset and attribute of two HDF5 files, byte for byte, and the JSON files of two folders; JSON (also in
// string attributes) is compared without the fields that measure time (train_seconds, the phases' seconds,
// screening_seconds).
void erase_timing(io::json& j) {
  if (j.is_object()) {
    j.erase("train_seconds");
    j.erase("seconds");
    j.erase("screening_seconds");
    for (auto& [k, v] : j.items()) erase_timing(v);
  } else if (j.is_array()) {
    for (auto& v : j) erase_timing(v);
  }
}

std::map<std::string, std::string> h5_contents(const fs::path& p) {
  std::map<std::string, std::string> out;
  const hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(f, 0) << p;
  if (f < 0) return out;
  struct Ctx {
    hid_t f;
    std::map<std::string, std::string>* out;
  } ctx{f, &out};
  auto read_attrs = [](hid_t obj, const std::string& prefix, std::map<std::string, std::string>& out) {
    const int n = H5Aget_num_attrs(obj);
    for (int i = 0; i < n; ++i) {
      const hid_t a = H5Aopen_idx(obj, static_cast<unsigned>(i));
      char name[256];
      H5Aget_name(a, sizeof name, name);
      const hid_t type = H5Aget_type(a);
      std::string value;
      if (H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) > 0) {
        char* s = nullptr;
        H5Aread(a, type, &s);
        value = s ? s : "";
        H5free_memory(s);
        io::json j = io::json::parse(value, nullptr, false);
        if (!j.is_discarded()) {
          erase_timing(j);
          value = j.dump();
        }
      } else {
        value.resize(H5Aget_storage_size(a));
        H5Aread(a, type, value.data());
      }
      (*&out)[prefix + "@" + name] = value;
      H5Tclose(type);
      H5Aclose(a);
    }
  };
  read_attrs(f, "/", out);
  H5Ovisit(
      f, H5_INDEX_NAME, H5_ITER_INC,
      [](hid_t root, const char* name, const H5O_info_t* info, void* data) -> herr_t {
        auto* c = static_cast<Ctx*>(data);
        if (info->type != H5O_TYPE_DATASET) return 0;
        const hid_t ds = H5Dopen2(root, name, H5P_DEFAULT);
        const hid_t type = H5Dget_type(ds);
        std::string bytes(H5Dget_storage_size(ds), '\0');
        if (!bytes.empty()) H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data());
        (*c->out)[name] = bytes;
        H5Tclose(type);
        H5Dclose(ds);
        return 0;
      },
      &ctx);
  H5Fclose(f);
  return out;
}

void expect_same_results(const fs::path& a, const fs::path& b) {
  size_t compared = 0;
  for (const auto& e : fs::directory_iterator(a)) {
    const fs::path other = b / e.path().filename();
    ASSERT_TRUE(fs::exists(other)) << other;
    if (e.path().extension() == ".json") {
      io::json ja = io::read_json_file(e.path()), jb = io::read_json_file(other);
      erase_timing(ja);
      erase_timing(jb);
      EXPECT_EQ(ja.dump(), jb.dump()) << e.path();
    } else {
      const auto ha = h5_contents(e.path()), hb = h5_contents(other);
      EXPECT_GT(ha.size(), 2u);
      EXPECT_EQ(ha.size(), hb.size());
      for (const auto& [k, v] : ha) EXPECT_TRUE(hb.count(k) && hb.at(k) == v) << e.path() << " " << k;
    }
    ++compared;
  }
  EXPECT_GE(compared, 2u);
  for (const auto& e : fs::directory_iterator(b)) EXPECT_TRUE(fs::exists(a / e.path().filename())) << e.path();
}

// Waits until `file` contains `text` (or the child ended); false on timeout.
bool wait_for(const fs::path& file, const std::string& text, double seconds = 60) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (slurp(file).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

const char* kIdentifyRun = " --solver trk4 --iterations 1500 --meet-iterations 300 --refine-iterations 200 "
                           "--lm-iterations 3 --batch-size 128 --seed 5";

// The same dataset with one value of the training states changed in its last digits.
Dataset with_one_value_changed(Dataset d) {
  double& v = d.train.states[0](1, 17);
  v = std::nextafter(v, 1e300);
  return d;
}

TEST_F(Robustness, IdentifySigintWritesACheckpointAndResumeGivesTheSameBytes) {
  const fs::path data = dir_ / "d.h5";
  const Dataset original = small_dataset(300, 40);
  io::write_dataset(data, original);
  const std::string base = "identify --data " + data.string() + kIdentifyRun;
  ASSERT_EQ(run(base + " --threads 1 --out " + path("full")).code, 0);
  // Interrupted once the main phase is under way; the checkpoint is all that is written.
  const Child c = spawn(base + " --threads 1 --checkpoint-every 0 --out " + path("cut"), logs_ / "cut");
  ASSERT_TRUE(wait_for(c.err, " adam ")) << slurp(c.err);
  ::kill(c.pid, SIGINT);
  EXPECT_EQ(c.wait(), 130) << slurp(c.err);
  const std::string err = slurp(c.err);
  EXPECT_NE(err.find("interrupted by SIGINT"), std::string::npos) << err;
  EXPECT_NE(err.find("--resume"), std::string::npos) << err;
  EXPECT_TRUE(fs::exists(path("cut/checkpoint.h5")));
  EXPECT_FALSE(fs::exists(path("cut/identify.json")));
  EXPECT_FALSE(fs::exists(path("cut/model.h5")));
  // A checkpoint of other options is refused.
  expect_refused("identify --data " + data.string() + " --solver trk4 --iterations 10 --resume --out " + path("cut"),
                 {path("cut/checkpoint.h5"), "configuration"});
  // So is one of other data: the same file, path and shapes, one value changed; the checkpoint is kept as it was.
  const std::string saved = slurp(path("cut/checkpoint.h5"));
  io::write_dataset(data, with_one_value_changed(original));
  expect_refused(base + " --threads 2 --resume --out " + path("cut"),
                 {path("cut/checkpoint.h5"), "data_hash", "the data differ", data.string()});
  EXPECT_EQ(slurp(path("cut/checkpoint.h5")), saved);
  io::write_dataset(data, original);
  // A checkpoint of an older format (version 2, before the optimiser states had their own structs) is refused in
  // one line and kept; the current one resumes with another thread count: the same bytes as the uninterrupted run,
  // and the checkpoint is gone.
  const long long two = 2;
  edit_h5(path("cut/checkpoint.h5"), [&](hid_t f) { set_attr(f, "format_version", H5T_STD_I64LE, &two); });
  expect_refused(base + " --threads 2 --resume --out " + path("cut"), {path("cut/checkpoint.h5"), "older trk"});
  std::ofstream(path("cut/checkpoint.h5"), std::ios::binary) << saved;
  const RunResult r = run(base + " --threads 2 --resume --out " + path("cut"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("resuming"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("cut/checkpoint.h5")));
  expect_same_results(path("full"), path("cut"));
}

TEST_F(Robustness, AKilledRunLeavesNoResultAndResumesFromItsLastCheckpoint) {
  const fs::path data = dir_ / "d.h5";
  io::write_dataset(data, small_dataset(300, 40));
  const std::string base = "identify --data " + data.string() + kIdentifyRun;
  ASSERT_EQ(run(base + " --out " + path("full")).code, 0);
  const Child c = spawn(base + " --checkpoint-every 100 --out " + path("cut"), logs_ / "cut");
  ASSERT_TRUE(wait_for(c.err, " adam ")) << slurp(c.err);
  ASSERT_TRUE(wait_for(path("cut/checkpoint.h5"), "HDF"));
  ::kill(c.pid, SIGKILL);
  EXPECT_EQ(c.wait(), 128 + SIGKILL);
  // No result that report would read; no temporary file that could be mistaken for one.
  EXPECT_FALSE(fs::exists(path("cut/identify.json")));
  EXPECT_FALSE(fs::exists(path("cut/model.h5")));
  const RunResult r = run(base + " --resume --out " + path("cut"));
  ASSERT_EQ(r.code, 0) << r.err;
  for (const auto& e : fs::directory_iterator(path("cut")))  // ".trk-tmp.<pid>.<n>.<name>" (io/atomic_file.h)
    EXPECT_EQ(e.path().filename().string().find("tmp."), std::string::npos) << e.path();
  expect_same_results(path("full"), path("cut"));
}

TEST_F(Robustness, FitSigtermWritesACheckpointAndResumeGivesTheSameBytes) {
  ASSERT_EQ(run("generate --h 0.01 --train-steps 3000 --test-steps 3000 --quiet --out " + path("fine.h5")).code, 0);
  std::ofstream(path("cfg.json")) << R"({"h": [0.05, 0.1],
    "training": {"stages": 4, "compare": ["rk4"], "iterations": 300, "batch_size": 64, "candidates": 2, "selection_runs": 4, "judge_runs": 4}})";
  const std::string base = "fit --config " + path("cfg.json") + " --data " + path("fine.h5");
  ASSERT_EQ(run(base + " --out " + path("full")).code, 0);
  // The run waits at iteration boundary 450 (the second candidate of h = 0.05, its iteration 150; a test hook) until
  // the signal has arrived, so the signal lands during training however loaded the machine (a signal sent on a
  // progress line may come after the training left has ended).
  const Child c = spawn(base + " --checkpoint-every 0 --out " + path("cut"), logs_ / "cut", 0,
                        "TRK_TEST_AWAIT_SIGNAL_AT=450");
  const bool waiting = wait_for(c.err, "fit: waiting for a signal at iteration boundary 450", 600);
  if (!waiting) ::kill(c.pid, SIGKILL);
  ASSERT_TRUE(waiting) << slurp(c.err);
  ::kill(c.pid, SIGTERM);
  EXPECT_EQ(c.wait(), 143) << slurp(c.err);
  EXPECT_NE(slurp(c.err).find("interrupted by SIGTERM: checkpoint written"), std::string::npos) << slurp(c.err);
  EXPECT_TRUE(fs::exists(path("cut/checkpoint.h5")));
  EXPECT_FALSE(fs::exists(path("cut/fit.json")));
  // The data file rewritten with one value changed: the resume is refused and nothing is written or overwritten.
  const std::string saved = slurp(path("cut/checkpoint.h5"));
  fs::copy_file(path("fine.h5"), path("fine.h5.orig"));
  io::write_dataset(path("fine.h5"), with_one_value_changed(io::read_dataset(path("fine.h5"))));
  expect_refused(base + " --resume --out " + path("cut"),
                 {path("cut/checkpoint.h5"), "data_hash", "the data differ", path("fine.h5")});
  EXPECT_EQ(slurp(path("cut/checkpoint.h5")), saved);
  fs::rename(path("fine.h5.orig"), path("fine.h5"));
  const RunResult r = run(base + " --resume --out " + path("cut"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("fit: resuming from h #1, candidate 2, iteration 150"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("cut/checkpoint.h5")));
  expect_same_results(path("full"), path("cut"));

  // A signal after training, here between the two outputs (a test hook: the window is too short to hit from
  // outside): both outputs are written, complete and equal to the uninterrupted run's, and the exit code is 143.
  const RunResult late = run(base + " --checkpoint-every 100 --out " + path("late"), 0,
                             "TRK_TEST_SIGNAL_BETWEEN_OUTPUTS=SIGTERM");
  EXPECT_EQ(late.code, 143) << late.err;
  EXPECT_NE(late.err.find("trk: interrupted by SIGTERM after training; the results are complete: " +
                          path("late/fit.json") + ", " + path("late/fit.h5")), std::string::npos) << late.err;
  EXPECT_FALSE(fs::exists(path("late/checkpoint.h5")));
  expect_same_results(path("full"), path("late"));  // also: no other file (no temporary) in the folder
  // --resume on the finished folder does nothing.
  const std::string json = slurp(path("late/fit.json"));
  const RunResult again = run(base + " --resume --out " + path("late"));
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.err.find("done already"), std::string::npos) << again.err;
  EXPECT_EQ(slurp(path("late/fit.json")), json);
}

// A signal after training, during the evaluation of a grid cell (a wide MLP on many test states: a real window of
// about 0.7 s): the cell's results are written, complete; the run exits 130 without starting the next cell;
// --resume skips the finished cell and runs the next one.
TEST_F(Robustness, IdentifySignalDuringEvaluationFinishesTheCellAndStopsTheGrid) {
  Dataset d = small_dataset(60, 200);
  for (int k = 0; k < 24; ++k) d.test.states.push_back(d.test.states.front());  // 25 x 197 test states
  io::write_dataset(path("d.h5"), d);
  std::ofstream(path("grid.json")) << R"({"data": ")" << path("d.h5") << R"(", "solvers": ["rk4", "euler"],
    "training": {"model": "mlp", "widths": [384, 384], "iterations": 1, "batch_size": 1, "warmup": 0,
                 "meet_iterations": 0, "refine_iterations": 0, "lm_iterations": 0, "restarts": 1}})";
  const std::string base = "identify --config " + path("grid.json") + " --threads 1 --out " + path("grid");
  const Child c = spawn(base, logs_ / "grid");
  ASSERT_TRUE(wait_for(c.err, " adam 1/1 ")) << slurp(c.err);  // the one training iteration is done
  ::kill(c.pid, SIGINT);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(c.wait(), 130) << slurp(c.err);
  const double stop_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string err = slurp(c.err);
  const fs::path cell = path("grid/h0.1/rk4");
  EXPECT_NE(err.find("trk: interrupted by SIGINT after training; the results are complete: " +
                     (cell / "identify.json").string() + ", " + (cell / "model.h5").string()), std::string::npos)
      << err;
  const io::json row = io::read_json_file(cell / "identify.json");
  EXPECT_EQ(row.at("solver"), "rk4");
  EXPECT_EQ(row.at("test_states"), 25 * 197);
  EXPECT_TRUE(row.at("rmse").contains("t0+4h"));
  EXPECT_GT(h5_contents(cell / "model.h5").size(), 2u);
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(cell)) files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"identify.json", "model.h5"}));  // no checkpoint, no temporary
  EXPECT_FALSE(fs::exists(path("grid/h0.1/euler")));  // the next cell was not started
  const std::string json = slurp(cell / "identify.json");
  const RunResult r = run(base + " --resume");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("done already"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(cell / "identify.json"), json);
  EXPECT_TRUE(fs::exists(path("grid/h0.1/euler/identify.json")));
  RecordProperty("stop_seconds", std::to_string(stop_seconds));
}

TEST_F(Robustness, SameBytesAtOneAndTwoThreads) {
  for (int threads : {1, 2})
    ASSERT_EQ(run("generate --h 0.1 --train-steps 300 --test-steps 40 --seed 4 --noise 0.1 --quiet --out " +
                  path("d" + std::to_string(threads) + ".h5"), threads).code, 0);
  EXPECT_EQ(slurp(path("d1.h5")), slurp(path("d2.h5")));
  const std::string identify = "identify --data " + path("d1.h5") +
                               " --solver trk4 --iterations 60 --meet-iterations 30 --refine-iterations 30 "
                               "--lm-iterations 2 --batch-size 200 --quiet";
  ASSERT_EQ(run(identify + " --threads 1 --out " + path("i1")).code, 0);
  ASSERT_EQ(run(identify + " --threads 2 --out " + path("i2")).code, 0);
  expect_same_results(path("i1"), path("i2"));
  ASSERT_EQ(run("identify --data " + path("d1.h5") + " --solver dopri8 --meet-iterations 3 --iterations 3 --refine-iterations 2 --threads 2 --quiet --out " +
                path("p2")).code, 0);
  ASSERT_EQ(run("identify --data " + path("d1.h5") + " --solver dopri8 --meet-iterations 3 --iterations 3 --refine-iterations 2 --threads 1 --quiet --out " +
                path("p1")).code, 0);
  expect_same_results(path("p1"), path("p2"));
  ASSERT_EQ(run("generate --h 0.01 --train-steps 2000 --test-steps 2000 --quiet --out " + path("fine.h5")).code, 0);
  const std::string fit = "fit --data " + path("fine.h5") + " --h 0.05,0.1 --iterations 50 --batch-size 64 "
                          "--candidates 2 --quiet";
  ASSERT_EQ(run(fit + " --out " + path("f1"), 1).code, 0);
  ASSERT_EQ(run(fit + " --out " + path("f2"), 2).code, 0);
  expect_same_results(path("f1"), path("f2"));
}

// The rest of the bad inputs, command by command: the identify grid config (types, keys, names), model and
// checkpoint files given to identify --evaluate and --resume, results read by report, splits too short for fit,
// and numbers that are not finite or out of range for every command.
TEST_F(Robustness, BadInputOfEveryOtherKindIsRefused) {
  const fs::path data = dir_ / "d.h5";
  io::write_dataset(data, small_dataset());
  const std::string D = " --data " + data.string(), out = " --out " + path("out");
  const std::string quick = " --iterations 1 --meet-iterations 0 --refine-iterations 0 --lm-iterations 0 --quiet";
  auto config = [&](const std::string& name, const std::string& text) {
    std::ofstream(path(name)) << text;
    return path(name);
  };
  // identify --config: a missing file, wrong types, unknown keys and names, a missing data file.
  expect_refused("identify --config " + path("absent.json") + out, {path("absent.json"), "cannot open"});
  const std::vector<std::pair<std::string, std::vector<std::string>>> grids = {
      {R"({"h": "0.1", "solvers": ["rk4"]})", {"h", "wrong type"}},
      {R"({"h": [0.1], "solvers": "rk4"})", {"solvers", "wrong type"}},
      {R"({"h": [0.1], "solvers": []})", {"solvers", "non-empty"}},
      {R"({"h": [0.1], "solvers": ["rk4"], "out": 5})", {"out", "wrong type"}},
      {R"({"h": [0.1], "solvers": ["rk4"], "system": 63})", {"system", "wrong type"}},
      {R"({"h": [0.1], "solvers": ["rk4"], "parameters": {"rho": "28"}})", {"parameters.rho", "expected a number"}},
      {R"({"h": [0.1], "solvers": ["rk4"], "generate": {"train_steps": "many"}})",
       {"generate.train_steps", "wrong type"}},
      {R"({"h": [0.1], "solvers": ["rk4"], "generate": {"trainsteps": 100}})", {"generate.trainsteps", "unknown key"}},
      {R"({"h": [0.1], "solvers": ["rk5"]})", {"unknown solver", "rk5"}},
      {R"({"h": [0.1], "solvers": ["rk4"], "solver_training": {"rk5": {"iterations": 1}}})",
       {"solver_training.rk5", "unknown solver"}},
      {R"({"h": [0.1], "solvers": ["rk4"], "solver_training": {"rk4": {"lr": 1}}})",
       {"solver_training.rk4.lr", "unknown key"}},
      {R"({"h": [0.1], "solvers": ["rk4"], "training": {"batch_size": -1}})", {"batch size"}},
      {R"({"data": ")" + path("absent.h5") + R"(", "solvers": ["rk4"]})", {path("absent.h5"), "file not found"}},
  };
  for (size_t i = 0; i < grids.size(); ++i) {
    SCOPED_TRACE(grids[i].first);
    const std::string file = config("grid" + std::to_string(i) + ".json", grids[i].first);
    std::vector<std::string> needles = grids[i].second;
    if (needles.front() != "batch size" && needles.front() != "unknown solver" && needles.front() != path("absent.h5"))
      needles.push_back(file);
    expect_refused("identify --config " + file + quick + out, needles);
  }
  // identify --evaluate: model files that are missing, empty, not HDF5, truncated, of a newer format, not a model.
  ASSERT_EQ(run("identify" + D + " --solver rk4" + quick + " --out " + path("m")).code, 0);
  const fs::path model = dir_ / "model.h5";
  fs::rename(path("m/model.h5"), model);
  fs::remove_all(path("m"));
  const std::vector<std::pair<std::function<void(const fs::path&)>, std::string>> models = {
      {[](const fs::path& p) { fs::remove(p); }, "file not found"},
      {[](const fs::path& p) { std::ofstream(p, std::ios::trunc); }, "empty file"},
      {[](const fs::path& p) { std::ofstream(p, std::ios::trunc) << "not a model\n"; }, "not an HDF5 file"},
      {[](const fs::path& p) { fs::resize_file(p, fs::file_size(p) / 2); }, "truncated"},
      {[](const fs::path& p) {
         const long long v = 2;
         edit_h5(p, [&](hid_t f) { set_attr(f, "format_version", H5T_STD_I64LE, &v); });
       }, "attribute format_version of /"},
      {[&](const fs::path& p) { fs::copy_file(data, p, fs::copy_options::overwrite_existing); }, "trk-model"},
  };
  for (const auto& [damage, needle] : models) {
    SCOPED_TRACE(needle);
    const fs::path p = dir_ / "damaged_model.h5";
    fs::copy_file(model, p, fs::copy_options::overwrite_existing);
    damage(p);
    expect_refused("identify --evaluate " + p.string() + D + out, {p.string(), needle});
    fs::remove(p);
  }
  // --resume with a checkpoint.h5 that is empty, not HDF5, of another kind, or of a newer version.
  ASSERT_EQ(run("generate --h 0.01 --train-steps 1000 --test-steps 1000 --quiet --out " + path("fine.h5")).code, 0);
  const std::vector<std::pair<std::function<void(const fs::path&)>, std::string>> checkpoints = {
      {[](const fs::path& p) { std::ofstream(p, std::ios::trunc); }, "empty file"},
      {[](const fs::path& p) { std::ofstream(p, std::ios::trunc) << "checkpoint\n"; }, "not an HDF5 file"},
      {[&](const fs::path& p) { fs::copy_file(model, p); }, "expected \"trk-checkpoint\""},
  };
  fs::create_directories(path("run"));
  const fs::path ckpt = dir_ / "run" / "checkpoint.h5";
  for (const auto& [make, needle] : checkpoints) {
    SCOPED_TRACE(needle);
    make(ckpt);
    expect_refused("identify" + D + " --solver rk4 --resume" + quick + " --out " + path("run"),
                   {ckpt.string(), needle});
    expect_refused("fit --data " + path("fine.h5") + " --h 0.1 --iterations 1 --resume --quiet --out " + path("run"),
                   {ckpt.string(), needle});
    fs::remove(ckpt);
  }
  // A checkpoint of a newer trk.
  fs::create_directories(path("run"));
  io::write_identify_checkpoint(ckpt, IdentifyCheckpoint{}, io::json::object(), 0);
  const long long six = 6;
  edit_h5(ckpt, [&](hid_t f) { set_attr(f, "format_version", H5T_STD_I64LE, &six); });
  expect_refused("identify" + D + " --solver rk4 --resume" + quick + " --out " + path("run"),
                 {ckpt.string(), "attribute format_version", "newer trk"});
  fs::remove_all(path("run"));
  // report: results that are not JSON, of a newer format, or lack a field; a missing folder; an unwritable output.
  ASSERT_EQ(run("identify" + D + " --solver rk4" + quick + " --out " + path("res/ok")).code, 0);
  const io::json row = io::read_json_file(path("res/ok/identify.json"));
  fs::remove_all(path("res"));
  auto results = [&](const std::string& name, const std::string& text) {
    fs::create_directories(path(name + "/cell"));
    std::ofstream(path(name + "/cell/identify.json")) << text;
    return path(name);
  };
  io::json newer = row, partial = row;
  newer["format_version"] = 3;
  partial.erase("rmse");
  const std::string broken = results("broken", "{ \"solver\": "), later = results("newer", newer.dump()),
                    missing_field = results("partial", partial.dump()), good = results("good", row.dump());
  expect_refused("report --results " + broken + " --out " + path("report") + " --no-render",
                 {broken + "/cell/identify.json", "invalid JSON"});
  expect_refused("report --results " + later + " --out " + path("report") + " --no-render",
                 {later + "/cell/identify.json", "format_version", "not supported"});
  expect_refused("report --results " + missing_field + " --out " + path("report") + " --no-render",
                 {missing_field + "/cell/identify.json", "rmse", "missing"});
  expect_refused("report --results " + path("absent") + " --out " + path("report") + " --no-render",
                 {path("absent"), "no such folder"});
  expect_refused("report --check " + broken + " --results " + good, {broken + "/cell/identify.json", "invalid JSON"});
  std::ofstream(path("file.txt")) << "x";
  expect_refused("report --results " + good + " --out " + path("file.txt") + "/report --no-render",
                 {path("file.txt"), "directory"});
  // fit: splits too short for the selection and judge runs.
  ASSERT_EQ(run("generate --h 0.01 --train-steps 30 --test-steps 1000 --quiet --out " + path("short_train.h5")).code,
            0);
  ASSERT_EQ(run("generate --h 0.01 --train-steps 1000 --test-steps 5 --quiet --out " + path("short_test.h5")).code, 0);
  expect_refused("fit --data " + path("short_train.h5") + " --h 0.1 --iterations 1" + out,
                 {path("short_train.h5"), "training split", "fewer states"});
  expect_refused("fit --data " + path("short_test.h5") + " --h 0.1 --iterations 1" + out,
                 {path("short_test.h5"), "test split", "fewer states"});
  // Numbers that are not finite or out of range, for every command.
  const std::string F = " --data " + path("fine.h5") + " --iterations 1";
  expect_refused("fit" + F + " --h nan" + out, {"--h", "expected a finite number", "nan"});
  expect_refused("fit" + F + " --h inf" + out, {"--h", "expected a finite number", "inf"});
  expect_refused("fit" + F + " --h 0.1 --learning-rate inf" + out, {"--learning-rate", "finite"});
  expect_refused("fit" + F + " --h 0.1 --candidates 0" + out, {"candidates"});
  expect_refused("fit" + F + " --h 0.1 --order 9" + out, {"order"});
  expect_refused("fit" + F + " --h 0.1 --rollout-steps 0" + out, {"rollout steps"});
  expect_refused("identify" + D + " --learning-rate nan" + quick + out, {"--learning-rate", "finite"});
  expect_refused("identify" + D + " --learning-rate inf" + quick + out, {"--learning-rate", "finite"});
  expect_refused("identify" + D + " --solver dopri8 --rtol nan" + quick + out, {"--rtol", "finite"});
  expect_refused("identify" + D + " --solver dopri8 --rtol 0" + quick + out, {"tolerances"});
  expect_refused("identify" + D + " --batch-size -1" + quick + out, {"batch size"});
  expect_refused("identify" + D + " --rollout-steps 0" + quick + out, {"rollout steps"});
  expect_refused("identify" + D + " --threads -2" + quick + out, {"threads"});
  expect_refused("generate --h nan --out " + path("x.h5"), {"--h", "finite", "nan"});
  expect_refused("generate --h -1 --out " + path("x.h5"), {"h must be"});
  expect_refused("generate --h inf --out " + path("x.h5"), {"--h", "finite", "inf"});
  expect_refused("generate --train-steps -1 --out " + path("x.h5"), {"train-steps"});
  expect_refused("generate --test-trajectories 0 --out " + path("x.h5"), {"test-trajectories"});
  expect_refused("generate --noise -1 --out " + path("x.h5"), {"noise"});
  expect_refused("report stability --scheme rk4 --grid 1 --out " + path("s"), {"--grid"});
  expect_refused("report order --scheme rk4 --max-order 0 --out " + path("o"), {"--max-order"});
  expect_refused("report --check " + good + " --results " + good + " --atol -1", {"--atol"});
}

// ---- never replace what is not ours, never crash on a full disk, bounded inputs

// Exit code 2 and one error line naming `needles`, `node` left as it was (a device, FIFO, folder or link).
TEST_F(Robustness, NonRegularOutputsAreNeverReplaced) {
  const std::string gen = "generate --train-steps 10 --test-steps 10 --quiet --out ";
  // Links: to a FIFO, to a file, to nothing, to themselves (a loop).
  std::vector<std::pair<fs::path, std::string>> nodes = {{dir_ / "fifo", "a FIFO"}, {dir_ / "folder", "a folder"},
                                                          {dir_ / "link", "a symbolic link"},
                                                          {dir_ / "file_link", "a symbolic link"},
                                                          {dir_ / "dangling", "a symbolic link"},
                                                          {dir_ / "loop", "a symbolic link"}};
  ASSERT_EQ(::mkfifo(nodes[0].first.c_str(), 0644), 0);
  fs::create_directory(nodes[1].first);
  fs::create_symlink(nodes[0].first, nodes[2].first);
  std::ofstream(path("file")) << "mine\n";
  fs::create_symlink(path("file"), nodes[3].first);
  fs::create_symlink(path("absent"), nodes[4].first);
  fs::create_symlink(path("loop"), nodes[5].first);
  if (::geteuid() == 0) {  // the issue's case: mknod null c 1 3; generate --out null turned it into a regular file
    ASSERT_EQ(::mknod(path("null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
    nodes.emplace_back(dir_ / "null", "a character device");
  }
  for (const auto& [node, kind] : nodes) {
    SCOPED_TRACE(node);
    const auto type = fs::symlink_status(node).type();
    expect_refused(gen + node.string(), {node.string() + ": not a regular file (" + kind + ")"});
    EXPECT_EQ(fs::symlink_status(node).type(), type);
  }
  EXPECT_EQ(slurp(path("file")), "mine\n");
  // report stability writes two files into a folder: a FIFO at the second one's place stays a FIFO.
  fs::create_directory(path("st"));
  ASSERT_EQ(::mkfifo(path("st/stability.json").c_str(), 0644), 0);
  const RunResult r = run("report stability --scheme rk4 --grid 11 --out " + path("st"));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find(path("st/stability.json") + ": not a regular file (a FIFO)"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_fifo(path("st/stability.json")));
}

TEST_F(Robustness, OutPathsEmptyFolderLikeOrLong) {
  expect_refused("generate --out " + path("newdir") + "/", {path("newdir") + "/", "expected a file name"});
  EXPECT_FALSE(fs::exists(path("newdir")));  // before: refused, but an empty newdir was left
  const auto empty = trk::testing::run_trk("generate --out ''");
  EXPECT_EQ(empty.code, 2);
  EXPECT_EQ(empty.err.rfind("trk: error: --out: expected the path of the dataset file", 0), 0u) << empty.err;
  // A 250-byte name: its temporary name was 250 + ".tmp.<pid>" bytes, over NAME_MAX (255): "File name too long".
  const std::string long_name = path("deep/" + std::string(247, 'd') + ".h5");
  const RunResult r = run("generate --train-steps 10 --test-steps 10 --quiet --out " + long_name);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::is_regular_file(long_name));
  EXPECT_EQ(num_files(), 2u);  // deep and the file: no temporary left
}

// The issue's case 2 without root: a file-size limit (ulimit -f) made generate die of SIGXFSZ (exit 153) and leave
// its temporary file for good. Now the write fails with EFBIG: one line, exit 2, nothing left, earlier output kept.
TEST_F(Robustness, FileSizeLimitGivesOneLineAndLeavesNothing) {
  ASSERT_EQ(run("generate --train-steps 10 --test-steps 10 --quiet --out " + path("small.h5")).code, 0);
  const std::string before = slurp(path("small.h5"));
  for (const std::string& target : {path("big.h5"), path("small.h5")}) {
    const auto r = trk::testing::run_command("ulimit -f 64; exec " + std::string(TRK_BINARY) +
                                             " generate --train-steps 5000 --quiet --out " + target);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(r.err, "trk: error: " + target + ": /train/states: cannot write dataset (File too large)\n");
  }
  EXPECT_FALSE(fs::exists(path("big.h5")));
  EXPECT_EQ(slurp(path("small.h5")), before);
  EXPECT_EQ(num_files(), 1u);
}

// Disk full (root: a 64 kB tmpfs). Before: generate and report stability printed the error line, then died of
// SIGSEGV in libhdf5's shutdown (H5F__close_cb from H5_term_library at exit), exit 139.
TEST_F(Robustness, DiskFullGivesOneLineExitTwoAndLeavesNothing) {
  const fs::path mnt = dir_ / "small";
  fs::create_directory(mnt);
  if (::geteuid() != 0 || ::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=64k") != 0)
    GTEST_SKIP() << "needs root and a tmpfs mount (scripts/fuzz_readers.sh outputs runs the same by hand)";
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt};
  ASSERT_EQ(run("generate --train-steps 10 --test-steps 10 --quiet --out " + (mnt / "a.h5").string()).code, 0);
  const std::string before = slurp(mnt / "a.h5");
  for (const std::string& args : {"generate --h 0.2 --train-steps 5000 --quiet --out " + (mnt / "b.h5").string(),
                                  "generate --h 0.2 --train-steps 5000 --quiet --out " + (mnt / "a.h5").string(),
                                  "report stability --scheme dopri8 --grid 1001 --out " + mnt.string()}) {
    SCOPED_TRACE(args);
    const RunResult r = run(args);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find("trk: error: " + mnt.string()), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_EQ(slurp(mnt / "a.h5"), before);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(mnt)) left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"a.h5"});
}

// Only temporaries trk made are removed by a run's cleanup. Before: any "*.tmp.<digits>" of a dead pid went.
TEST_F(Robustness, CleanupLeavesUsersFilesAlone) {
  const fs::path data = dir_ / "d.h5";
  io::write_dataset(data, small_dataset());
  fs::create_directory(path("out"));
  std::ofstream(path("out/thesis.tex.tmp.4194000")) << "my thesis";
  std::ofstream(path("out/.trk-tmp.4194000.0.model.h5")) << "left by a killed trk";
  const RunResult r = run("identify --data " + data.string() + " --solver rk4 --iterations 2 --meet-iterations 0 "
                          "--refine-iterations 0 --lm-iterations 0 --quiet --out " + path("out"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(path("out/thesis.tex.tmp.4194000")), "my thesis");
  EXPECT_FALSE(fs::exists(path("out/.trk-tmp.4194000.0.model.h5")));
}

TEST_F(Robustness, ConfigsThatAreFifosDevicesOrRepeatKeysAreRefused) {
  ASSERT_EQ(::mkfifo(path("fifo.json").c_str(), 0644), 0);
  const Child c = spawn("identify --config " + path("fifo.json"), logs_ / "fifo");
  int status = 0;
  pid_t done = 0;
  for (int i = 0; i < 500 && done == 0; ++i) {  // before: blocked until a writer came
    done = ::waitpid(c.pid, &status, WNOHANG);
    if (done == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (done == 0) {
    ::kill(c.pid, SIGKILL);
    ::waitpid(c.pid, &status, 0);
    FAIL() << "identify --config FIFO still blocked after 10 s";
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2);
  EXPECT_NE(slurp(c.err).find(path("fifo.json") + ": expected a JSON file, found a FIFO"), std::string::npos);
  expect_refused("identify --config /dev/zero", {"/dev/zero: expected a JSON file, found a character device"});
  expect_refused("fit --data x.h5 --config /dev/zero", {"/dev/zero", "character device"});
  std::ofstream(path("dup.json")) << R"({"h": [0.2], "solvers": ["rk4"], "training": {"iterations": 5,
    "iterations": 4294967297}, "out": ")" + path("o") + R"("})";
  expect_refused("identify --config " + path("dup.json"), {path("dup.json") + ": training.iterations: duplicate key"});
  std::ofstream(path("tab.json")) << R"({"A": [[0, 0], [1, 0]], "b": [0.5, 0.5], "b": [1, 0]})";
  expect_refused("report order --scheme " + path("tab.json") + " --out " + path("o"),
                 {path("tab.json") + ": b: duplicate key"});
}

// A valid 100-stage tableau (100 Euler substeps of h/100): the eigenvalue solver finds no roots of its degree-100
// stability polynomial (coefficients 1 / 100^k span 200 decades) and stability_region_boundary read past the end of
// the empty root vector: `report stability` died of SIGSEGV. Called here with 16 angles (the command uses 1024, 17 s
// for this tableau: each angle is an eigenvalue problem of order 100).
TEST_F(Robustness, StabilityBoundaryOfAHundredStages) {
  const int q = 100;
  ButcherTableau t;
  t.name = "euler_x100";
  t.A = Mat::Zero(q, q);
  for (int i = 0; i < q; ++i)
    for (int j = 0; j < i; ++j) t.A(i, j) = 1.0 / q;
  t.b = Vec::Constant(q, 1.0 / q);
  t.c = t.A.rowwise().sum();
  ASSERT_EQ(t.validation_error(1e-9), "");
  const auto curves = stability_region_boundary(t, 16);
  ASSERT_FALSE(curves.empty());
  // R(z) = (1 + z/100)^100: |R| = 1 on the circle of radius 100 around -100. The points are finite, but the monomial
  // coefficients lose many of them (results/robustness.md, "not done").
  for (const auto& curve : curves)
    for (const Complex& z : curve) EXPECT_TRUE(std::isfinite(z.real()) && std::isfinite(z.imag())) << z;
  // 200 stages are refused at once by report stability (they took more than 10 minutes); report order takes them.
  const int q2 = 200;
  io::json A = io::json::array(), b = io::json::array();
  for (int i = 0; i < q2; ++i) {
    io::json row = io::json::array();
    for (int j = 0; j < q2; ++j) row.push_back(j < i ? 1.0 / q2 : 0.0);
    A.push_back(row);
    b.push_back(1.0 / q2);
  }
  std::ofstream(path("q200.json")) << io::json{{"A", A}, {"b", b}}.dump();
  expect_refused("report stability --scheme " + path("q200.json") + " --out " + path("s"),
                 {"200 stages", "up to 100", "report order"});
  EXPECT_EQ(run("report order --scheme " + path("q200.json") + " --max-order 2 --out " + path("o")).code, 0);
}

// An unwritten (chunked) float64 dataset `name` of shape `dims` in the open file f, replacing any of that name.
void declare(hid_t f, const std::string& name, const std::vector<hsize_t>& dims) {
  if (H5Lexists(f, name.c_str(), H5P_DEFAULT) > 0) H5Ldelete(f, name.c_str(), H5P_DEFAULT);
  std::vector<hsize_t> chunk(dims.size(), 1);
  const auto longest = std::max_element(dims.begin(), dims.end());  // chunked along it: few chunks
  chunk[static_cast<size_t>(longest - dims.begin())] = std::min<hsize_t>(*longest, 4096);
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
              dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, static_cast<int>(dims.size()), chunk.data());
  H5Dclose(H5Dcreate2(f, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  H5Pclose(dcpl);
  H5Sclose(space);
}

TEST_F(Robustness, ThreadsAndMemoryAreBoundedBeforeTheRun) {
  const fs::path data = dir_ / "d.h5";
  io::write_dataset(data, small_dataset());
  // Before: libgomp crashed (SIGSEGV) creating 100000 threads.
  expect_refused("identify --data " + data.string() + " --threads 100000 --out " + path("o"),
                 {"--threads", "expected 0 (OpenMP's default) to 1024 threads, found 100000"});
  // An 18 kB file declaring 50M x 3 unwritten states: refused before reading, naming the dataset and the sizes
  // (before: read them all, 1.2 GB of fill values, then std::bad_alloc naming nothing).
  const fs::path big = dir_ / "big.h5";
  io::write_dataset(big, small_dataset());
  edit_h5(big, [](hid_t f) {
    H5Ldelete(f, "train/states", H5P_DEFAULT);
    H5Ldelete(f, "train/t", H5P_DEFAULT);
    const hsize_t dims[] = {1, 50000000, 3}, chunk[] = {1, 4096, 3};
    const hid_t space = H5Screate_simple(3, dims, nullptr), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 3, chunk);
    H5Dclose(H5Dcreate2(f, "train/states", H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    H5Pclose(dcpl);
    H5Sclose(space);
  });
  ASSERT_LT(fs::file_size(big), 100000u);
  for (const std::string& cmd : {"identify --data " + big.string() + " --out " + path("o") + " --max-memory 512M",
                                 "fit --max-memory 512M --data " + big.string() + " --h 0.1 --out " + path("o")})
    expect_refused(cmd, {big.string() + ": /train/states: declares [1, 50000000, 3] values, 2.2 GB to read",
                         "more than the 512 MB of --max-memory"});
  // The same for /validation/states and /train/t declaring 5e7 and 4e8 values.
  for (const auto& [name, dims] : std::vector<std::pair<std::string, std::vector<hsize_t>>>{
           {"validation/states", {1, 50000000, 3}}, {"train/t", {400000000}}}) {
    SCOPED_TRACE(name);
    const fs::path declared = dir_ / "declared.h5";
    io::write_dataset(declared, small_dataset());
    edit_h5(declared, [&](hid_t f) {
      declare(f, name, dims);
    });
    expect_refused("identify --data " + declared.string() + " --out " + path("o") + " --max-memory 512M",
                   {declared.string() + ": /" + name + ": declares [", "more than the 512 MB of --max-memory"});
    fs::remove(declared);
  }
  // The estimate is printed for a run that needs 256 MB or more (an MLP of 4.2M parameters with L-BFGS), not for a
  // small one; a run beyond the limit is refused before it starts.
  const RunResult r = run("generate --train-steps 100 --test-steps 10 --out " + path("g.h5"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("memory needed"), std::string::npos) << r.err;
  const RunResult m = run("identify --data " + path("g.h5") + " --solver rk4 --model mlp --widths 2048,2048 "
                          "--iterations 0 --meet-iterations 0 --refine-iterations 1 --lm-iterations 0 --threads 1 "
                          "--out " + path("m"));
  EXPECT_EQ(m.code, 0) << m.err;
  EXPECT_NE(m.err.find("identify: memory needed: about "), std::string::npos) << m.err;
  expect_refused("generate --h 0.01 --train-steps 100000000 --max-memory 1G --out " + path("g2.h5"),
                 {"generate: needs about 6.0 GB of memory", "more than the 1.0 GB of --max-memory"});
  expect_refused("generate --max-memory lots --out " + path("g2.h5"), {"--max-memory 'lots'", "expected a size"});
}

// The issue's measurement: identify trk10 with an MLP of widths 2048,2048 on 2000 pairs, 2 threads, L-BFGS memory 20
// reached 1.8 GB in L-BFGS and 3.9 GB while writing a checkpoint.
// The stacks of the OpenMP threads count in the estimate: 1024 threads under ulimit -v 3 GB are refused in one
// line before any is created (libgomp would print "Thread creation failed" and exit 1).
TEST_F(Robustness, ThreadStacksCountInTheMemoryEstimate) {
  const fs::path data = dir_ / "d.h5";
  io::write_dataset(data, small_dataset());
  const auto r = testing::run_command("ulimit -v 3000000; exec " + std::string(TRK_BINARY) + " identify --data " +
                                      data.string() + " --solver rk4 --threads 1024 --iterations 1 --restarts 1 " +
                                      "--quiet --out " + path("o"));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(r.err.rfind("trk: error: identify: needs about", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("thread stacks"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(path("o")));
}

// --resume on a folder whose results are of another run (options, solver, data) is refused, not "done already".
TEST_F(Robustness, ResumeOfAFinishedRunOfOtherOptionsIsRefused) {
  const fs::path data = dir_ / "d.h5", other = dir_ / "e.h5";
  io::write_dataset(data, small_dataset());
  io::write_dataset(other, small_dataset(80));
  const std::string quick = " --iterations 1 --meet-iterations 0 --refine-iterations 0 --lm-iterations 0 --restarts 1 "
                            "--quiet --out " + path("o");
  ASSERT_EQ(run("identify --data " + data.string() + " --solver rk4" + quick).code, 0);
  const std::string before = slurp(path("o/identify.json"));
  EXPECT_EQ(run("identify --data " + data.string() + " --solver rk4 --resume" + quick).code, 0);  // the same run
  expect_refused("identify --data " + data.string() + " --solver rk4 --seed 3 --resume" + quick,
                 {path("o/identify.json"), "configuration", "another --out"});
  expect_refused("identify --data " + data.string() + " --solver euler --resume" + quick,
                 {path("o/identify.json"), "configuration"});
  expect_refused("identify --data " + other.string() + " --solver rk4 --resume" + quick, {path("o/identify.json"), "data"});
  EXPECT_EQ(slurp(path("o/identify.json")), before);
  ASSERT_EQ(run("generate --h 0.01 --train-steps 1000 --test-steps 1000 --quiet --out " + path("fine.h5")).code, 0);
  const std::string fit = "fit --data " + path("fine.h5") + " --h 0.1 --iterations 2 --candidates 1 --quiet --out " +
                          path("f");
  ASSERT_EQ(run(fit).code, 0);
  expect_refused(fit + " --seed 5 --resume", {path("f/fit.json"), "configuration", "another --out"});
}

// forecast.h5 counts in the estimate before training: 5000 steps from each of 15001 test states is refused under
// --max-memory 1G (it peaked at 7 GB and wrote 3.6 GB).
TEST_F(Robustness, ForecastStepsCountInTheMemoryEstimate) {
  ASSERT_EQ(run("generate --train-steps 200 --test-steps 20000 --validation-steps 100 --quiet --out " +
                path("long.h5")).code, 0);
  const std::string quick = " --solver rk4 --iterations 1 --meet-iterations 0 --refine-iterations 0 --lm-iterations 0 "
                            "--restarts 1 --quiet";
  expect_refused("identify --data " + path("long.h5") + quick + " --forecast-steps 5000 --max-memory 1G --out " +
                     path("o"),
                 {"identify: needs about", "forecast 5.0 GB", "more than the 1.0 GB of --max-memory"});
  EXPECT_EQ(run("identify --data " + path("long.h5") + quick + " --forecast-steps 50 --forecast-every 100 " +
                "--max-memory 1G --out " + path("o")).code, 0);
}

// A string attribute of the root group (fixed-length), replacing any of that name.
void set_string_attr(hid_t f, const char* name, const std::string& value) {
  if (H5Aexists(f, name) > 0) H5Adelete(f, name);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, value.size());
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t a = H5Acreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, type, value.data());
  H5Aclose(a);
  H5Sclose(space);
  H5Tclose(type);
}

// Options that multiply memory are estimated before anything of their size is made, under an address-space limit
// that the allocation would exceed: the model's parameters are counted, not allocated (an MLP of widths
// 30000,30000 holds 7 GB; 100000 x 3 more parameters than an int counts).
TEST_F(Robustness, MemoryIsEstimatedBeforeAnythingOfItsSizeIsAllocated) {
  const fs::path data = dir_ / "d.h5";
  io::write_dataset(data, small_dataset());
  const std::string limited = "ulimit -v 2000000; exec " + std::string(TRK_BINARY) + " ";
  for (const std::string widths : {"30000,30000", "100000,100000,100000"}) {
    SCOPED_TRACE(widths);
    const auto r = testing::run_command(limited + "identify --data " + data.string() + " --model mlp --widths " +
                                        widths + " --max-memory 1G --quiet --out " + path("o"));
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(r.err.rfind("trk: error: identify: needs about", 0), 0u) << r.err;
    EXPECT_NE(r.err.find("more than the 1.0 GB of --max-memory"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_FALSE(fs::exists(path("o")));
  // 500000 trajectories of 2 samples (24 MB of values, a run of about 300 MB): each trajectory's own allocation
  // counts in the reader's bound and the estimate, and so does the one-step loss over every training pair at once.
  const fs::path many = dir_ / "many.h5";
  io::write_dataset(many, small_dataset());
  const hsize_t n = 500000;
  std::vector<double> values(n * 2 * 3);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(0.001 * static_cast<double>(i)) * 10;
  edit_h5(many, [&](hid_t f) {
    put(f, "train/states", H5T_IEEE_F64LE, {n, 2, 3}, values);
    put(f, "train/t", H5T_IEEE_F64LE, {2}, {0.0, 0.1});
  });
  const std::string quick = " --solver rk4 --iterations 1 --meet-iterations 0 --refine-iterations 0 --lm-iterations 0 "
                            "--restarts 1 --rollout-steps 1 --quiet --out " + path("o");
  expect_refused("identify --data " + many.string() + quick + " --max-memory 100M",
                 {many.string() + ": /train/states: declares [500000, 2, 3] values", "more than the 100 MB"});
  expect_refused("identify --data " + many.string() + quick + " --max-memory 200M",
                 {"identify: needs about", "evaluation", "more than the 200 MB of --max-memory"});
}

// A model.h5 is checked against its own attributes before anything of the size of its arrays or options is read or
// made: model options of 9e8 parameters with 69 stored, arrays declaring 3e8 values; report reads no history of
// more than 1e7 values.
TEST_F(Robustness, ModelFilesAreBoundedByTheirAttributesBeforeReading) {
  const fs::path data = dir_ / "d.h5";
  io::write_dataset(data, small_dataset());
  ASSERT_EQ(run("identify --data " + data.string() + " --solver rk4 --iterations 2 --meet-iterations 0 "
                "--refine-iterations 0 --lm-iterations 0 --restarts 1 --quiet --out " + path("m")).code, 0);
  const std::string model = path("m/model.h5");
  const std::string limited = "ulimit -v 2000000; exec " + std::string(TRK_BINARY) + " ";
  struct Case {
    std::function<void(hid_t)> edit;
    std::vector<std::string> needles;
  };
  const std::vector<Case> cases = {
      {[](hid_t f) {
         set_string_attr(f, "model", "mlp");
         set_string_attr(f, "model_options", R"({"activation":"tanh","num_products":3,"seed":0,"stencil":2,)"
                                              R"("widths":[30000,30000]})");
       },
       {"/params: declares 69 values, expected 900240003 values for this model"}},
      {[](hid_t f) { declare(f, "params", {300000000}); }, {"/params: declares 3e+08 values, expected 69"}},
      {[](hid_t f) { declare(f, "A", {20000, 20000}); }, {"/A: declares 4e+08 values, expected 16"}}};
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    const fs::path bad = dir_ / ("bad" + std::to_string(i) + ".h5");
    fs::copy_file(model, bad);
    edit_h5(bad, cases[i].edit);
    for (const std::string& cmd : {"identify --evaluate " + bad.string() + " --data " + data.string() + " --out " +
                                       path("e"),
                                   "report stability --scheme " + bad.string() + " --out " + path("s")}) {
      const auto r = testing::run_command(limited + cmd);
      EXPECT_EQ(r.code, 2) << cmd << "\n" << r.err;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
      for (const auto& n : cases[i].needles) EXPECT_NE(r.err.find(bad.string() + ": " + n), std::string::npos) << r.err;
    }
    fs::remove(bad);
  }
  EXPECT_FALSE(fs::exists(path("e")));
  EXPECT_FALSE(fs::exists(path("s")));
  // A history declaring 3e8 values: report writes its tables and leaves that plot out.
  edit_h5(model, [](hid_t f) { declare(f, "history/nfe_forward", {300000000}); });
  const auto r = testing::run_command(limited + "report --results " + path("m") + " --out " + path("r") +
                                      " --no-render --quiet");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(path("r/rmse_table.md")));
}

// Every list flag refuses an empty element ("3,,4", a trailing or leading comma, in brackets or not) in one line
// naming the flag, rather than dropping it (--widths 3,,4 is not widths 3,4).
TEST_F(Robustness, EmptyElementsOfListFlagsAreRefused) {
  const fs::path data = dir_ / "d.h5";
  io::write_dataset(data, small_dataset());
  const std::string D = " --data " + data.string() + " --out " + path("o");
  for (const std::string& widths : {"3,,4", "3,", ",4", "[3,,4]"})
    expect_refused("identify --model mlp --widths " + widths + D, {"--widths", "'" + widths + "'", "is empty"});
  expect_refused("identify --config c.json --h 0.1,,0.2 --out " + path("o"), {"--h", "element 2", "is empty"});
  expect_refused("fit --h 0.1,,0.2" + D, {"--h", "element 2 of '0.1,,0.2' is empty"});
  expect_refused("fit --h 0.1 --compare rk4,,euler" + D, {"--compare", "element 2 of 'rk4,,euler' is empty"});
  expect_refused("fit --h 0.1 --candidate-margins 0,,0.1" + D, {"--candidate-margins", "is empty"});
  expect_refused("generate --initial-state 1,2, --out " + path("x.h5"), {"--initial-state", "element 3", "is empty"});
  expect_refused("generate --from " + data.string() + " --split 0.5,,0.5 --out " + path("x.h5"),
                 {"--split", "element 2", "is empty"});
  // One word per list; the forms that were accepted still are.
  expect_refused("identify --model mlp --widths 3 4" + D, {"not expected: 4"});
  for (const std::string& widths : {"3,4", "[3,4]"}) {
    const std::string out = path("ok" + std::to_string(widths.size()));
    ASSERT_EQ(run("identify --model mlp --widths " + widths + " --data " + data.string() + " --solver rk4 "
                  "--iterations 1 --meet-iterations 0 --refine-iterations 0 --lm-iterations 0 --restarts 1 --quiet "
                  "--out " + out).code, 0);
    EXPECT_EQ(io::read_json_file(out + "/identify.json")["configuration"]["widths"], io::json({3, 4})) << widths;
  }
}

// Range refusals print their bounds in a short form (CLI11's NonNegativeNumber prints DBL_MAX in 310 digits).
TEST_F(Robustness, RangeMessagesPrintShortNumbers) {
  const fs::path data = dir_ / "d.h5";
  io::write_dataset(data, small_dataset());
  const std::string D = " --data " + data.string() + " --out " + path("o");
  expect_refused("identify --forecast-steps -3" + D, {"--forecast-steps: expected a number >= 0, found -3"});
  expect_refused("identify --forecast-every 0" + D, {"--forecast-every: expected a number >= 1, found 0"});
  expect_refused("identify --checkpoint-every -1" + D, {"--checkpoint-every: expected a number >= 0, found -1"});
  expect_refused("fit --h 0.1 --checkpoint-every -1" + D, {"--checkpoint-every: expected a number >= 0, found -1"});
  for (const std::string& cmd : {"identify --forecast-steps -3" + D, "identify --forecast-every 0" + D,
                                 "fit --h 0.1 --checkpoint-every -5" + D}) {
    const RunResult r = run(cmd);
    EXPECT_LT(r.err.size(), 200u) << r.err;
    long digits = 0, longest = 0;
    for (char c : r.err) longest = std::max(longest, digits = std::isdigit(static_cast<unsigned char>(c)) ? digits + 1 : 0);
    EXPECT_LT(longest, 20) << r.err;
  }
}

TEST(MemoryEstimate, ModelParametersAreCountedWithoutMakingTheModel) {
  struct Case {
    std::string model;
    int dim;
    std::vector<int> widths;
    int products, stencil;
  };
  for (const Case& c : std::vector<Case>{{"bilinear", 3, {}, 3, 2}, {"bilinear", 40, {}, 7, 2},
                                         {"mlp", 3, {64, 64}, 3, 2}, {"mlp", 5, {7, 11, 2}, 3, 2},
                                         {"local-bilinear", 40, {}, 3, 2}, {"local-bilinear", 9, {}, 1, 4},
                                         {"local-mlp", 40, {16, 16}, 3, 2}, {"local-mlp", 7, {5}, 3, 1}}) {
    ModelOptions o;
    o.widths = c.widths.empty() ? o.widths : c.widths;
    o.num_products = c.products;
    o.stencil = c.stencil;
    EXPECT_EQ(model_num_params(c.model, c.dim, o), make_model(c.model, c.dim, o)->num_params()) << c.model;
  }
  ModelOptions huge;
  huge.widths = {100000, 100000, 100000};
  EXPECT_NEAR(model_num_params("mlp", 3, huge), 2.0004e10, 1e7);
  EXPECT_THROW(make_model("mlp", 3, huge), std::invalid_argument);  // more than an int holds: refused, not made
  // The evaluation of every pair at once and each trajectory's allocation count.
  MemoryInputs in;
  in.dim = 3;
  in.dataset_values = 2e6 * 6;
  in.trajectories = 2e6;
  in.dataset_copies = 2;
  in.train_pairs = 2e6;
  in.evaluation_columns = 2e6;
  in.evaluation_stages = 4;
  const MemoryEstimate e = estimate_memory(in);
  EXPECT_NEAR(e.data, 8 * (2 * (12e6 + 16 * 2e6) + 2 * 3 * 2e6), 1);
  EXPECT_NEAR(e.evaluation, 8 * 12 * 3 * 2e6, 1);
}

TEST(MemoryEstimate, OfTheIssuesMlp) {
  const double P = 3 * 2048 + 2048 + 2048 * 2048 + 2048 + 2048 * 3 + 3;
  MemoryInputs in;
  in.num_params = P;
  in.dim = 3;
  in.dataset_values = (2001 + 501) * 4;
  in.train_pairs = 2000;
  in.tape_columns = 250;
  in.stages = 10;
  in.activations_per_column = 2 * (2048 + 2048);
  in.threads = 2;
  in.lbfgs_memory = 20;
  const MemoryEstimate e = estimate_memory(in);
  EXPECT_NEAR(e.model, 8 * P * 5, 1);
  EXPECT_NEAR(e.optimiser, 8 * P * 50, 1);
  EXPECT_NEAR(e.checkpoint, 8 * P * 45, 1);
  EXPECT_NEAR(e.total() - e.checkpoint, 2.2e9, 0.05e9);
  EXPECT_NEAR(e.total(), 3.7e9, 0.05e9);
  in.lm_parameters = 1000;  // Levenberg-Marquardt on 1000 parameters: P^2 twice and a Jacobian block per thread
  in.lm_chunk_columns = 250;
  in.lm_rollout_steps = 4;
  in.num_params = 1000;
  in.lbfgs_memory = 0;
  EXPECT_NEAR(estimate_memory(in).optimiser, 8 * (5 * 1000 + 2e6 + 2 * 250 * 4 * 3 * 1000), 1);
}

// Names read from results files end up in Markdown tables: a "|" or a line break must not add a column or end a row.
TEST_F(Robustness, NamesWithBarsOrNewlinesKeepTheMarkdownTables) {
  const fs::path src = fs::path(TRK_SOURCE_DIR) / "tests/regress/identify_l63/h0.2/rk4/identify.json";
  io::json j = io::read_json_file(src);
  j["solver"] = "rk|4\nevil";
  j["model"] = "bi|linear";
  fs::create_directories(path("res/a"));
  std::ofstream(path("res/a/identify.json")) << j.dump();
  const RunResult r = run("report --results " + path("res") + " --out " + path("rep") + " --no-render --quiet");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* table : {"rmse_table.md", "nfe.md"}) {
    SCOPED_TRACE(table);
    std::istringstream in(slurp(path("rep/") + table));
    long columns = -1;
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] != '|') {
        EXPECT_EQ(line.find("evil"), std::string::npos) << line;  // a broken row would start with it
        continue;
      }
      long bars = 0;
      for (std::size_t i = 0; i < line.size(); ++i) bars += line[i] == '|' && (i == 0 || line[i - 1] != '\\');
      if (columns < 0) columns = bars;
      EXPECT_EQ(bars, columns) << line;
    }
    EXPECT_GT(columns, 0);
  }
}

}  // namespace
}  // namespace trk
