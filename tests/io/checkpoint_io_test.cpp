// Checkpoint files: every field of the training state comes back bit for bit; other files are refused with the
// file and the field named.
#include "trk/io/checkpoint_io.h"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>

#include "trk/io/hdf5_util.h"

namespace trk::io {
namespace {

namespace fs = std::filesystem;

Vec values(int n, double seed) {
  Vec v(n);
  for (int i = 0; i < n; ++i) v(i) = std::sin(seed + 1.7 * i) * std::pow(10.0, i % 7 - 3);
  return v;
}

class CheckpointIo : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("trk_checkpoint_io_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(CheckpointIo, IdentifyStateRoundTripsExactly) {
  IdentifyCheckpoint c;
  c.phase = IdentifyPhase::kRefineRollout;
  c.iteration = 17;
  c.x = values(73, 0.1);
  c.adam = {.m = values(73, 0.3), .v = values(73, 0.4).cwiseAbs(), .t = 123456789012L, .last_good = values(73, 0.2),
            .learning_rate = 3e-3 / 8, .bad_in_a_row = 3, .halvings = 2, .restored = true};
  c.rng_draws = (1ULL << 40) + 7;
  c.lbfgs = {.loss = 1.0 / 3.0, .gradient = values(73, 0.5), .s = {values(73, 0.6), values(73, 0.7)},
             .y = {values(73, 0.8), values(73, 0.9)}};
  c.lbfgs_accepted = 9;
  c.lm = {.residuals = values(500, 1.0), .loss = 0.25, .mu = 1e-7};
  TrainingRecord& r = c.record;
  r.status = RunStatus::kNonFiniteLoss;
  r.iterations = 20;
  r.meet_iterations = 12;
  r.refine_iterations = 33;
  r.learning_rate_halvings = 2;
  r.loss_history = {1.5, std::numeric_limits<double>::quiet_NaN(), 0.1};
  r.meet_loss_history = {2.0, 1.0};
  r.refine_loss_history = {0.01};
  r.nfe_forward_history = {4, 4, 4};
  r.nfe_backward_history = {8, 8, 8};
  r.train_seconds = 12.5;
  const json config = {{"options", {{"solver", "trk4"}}}, {"data", "d.h5"}};
  const fs::path p = dir_ / "checkpoint.h5";
  write_identify_checkpoint(p, c, config, 0xfedcba9876543210ULL);
  const IdentifyCheckpointFile f = read_identify_checkpoint(p);
  EXPECT_EQ(f.configuration, config);
  EXPECT_EQ(f.data_hash, 0xfedcba9876543210ULL);
  const IdentifyCheckpoint& s = f.state;
  EXPECT_EQ(s.phase, c.phase);
  EXPECT_EQ(s.iteration, c.iteration);
  EXPECT_EQ(s.x, c.x);
  EXPECT_EQ(s.adam.m, c.adam.m);
  EXPECT_EQ(s.adam.v, c.adam.v);
  EXPECT_EQ(s.adam.t, c.adam.t);
  EXPECT_EQ(s.adam.last_good, c.adam.last_good);
  EXPECT_EQ(s.adam.learning_rate, c.adam.learning_rate);
  EXPECT_EQ(s.adam.bad_in_a_row, c.adam.bad_in_a_row);
  EXPECT_EQ(s.adam.halvings, c.adam.halvings);
  EXPECT_EQ(s.adam.restored, c.adam.restored);
  EXPECT_EQ(s.rng_draws, c.rng_draws);
  EXPECT_EQ(s.lbfgs.loss, c.lbfgs.loss);
  EXPECT_EQ(s.lbfgs.gradient, c.lbfgs.gradient);
  ASSERT_EQ(s.lbfgs.s.size(), 2u);
  EXPECT_EQ(s.lbfgs.s[1], c.lbfgs.s[1]);
  EXPECT_EQ(s.lbfgs.y[0], c.lbfgs.y[0]);
  EXPECT_EQ(s.lbfgs_accepted, c.lbfgs_accepted);
  EXPECT_EQ(s.lm.residuals, c.lm.residuals);
  EXPECT_EQ(s.lm.loss, c.lm.loss);
  EXPECT_EQ(s.lm.mu, c.lm.mu);
  EXPECT_EQ(s.record.status, r.status);
  EXPECT_EQ(s.record.iterations, r.iterations);
  EXPECT_EQ(s.record.meet_iterations, r.meet_iterations);
  EXPECT_EQ(s.record.refine_iterations, r.refine_iterations);
  EXPECT_EQ(s.record.learning_rate_halvings, r.learning_rate_halvings);
  ASSERT_EQ(s.record.loss_history.size(), 3u);
  EXPECT_TRUE(std::isnan(s.record.loss_history[1]));
  EXPECT_EQ(s.record.loss_history[2], 0.1);
  EXPECT_EQ(s.record.meet_loss_history, r.meet_loss_history);
  EXPECT_EQ(s.record.refine_loss_history, r.refine_loss_history);
  EXPECT_EQ(s.record.nfe_forward_history, r.nfe_forward_history);
  EXPECT_EQ(s.record.nfe_backward_history, r.nfe_backward_history);
  EXPECT_EQ(s.record.train_seconds, r.train_seconds);

  // Empty lists (the Adam phase has no L-BFGS memory) round-trip too.
  IdentifyCheckpoint empty;
  empty.x = values(5, 0.0);
  write_identify_checkpoint(p, empty, config, 0);
  const IdentifyCheckpoint e = read_identify_checkpoint(p).state;
  EXPECT_EQ(e.x, empty.x);
  EXPECT_TRUE(e.lbfgs.s.empty());
  EXPECT_EQ(e.lbfgs.gradient.size(), 0);
  EXPECT_TRUE(e.record.loss_history.empty());
}

TEST_F(CheckpointIo, FitStateRoundTripsExactly) {
  FitCheckpoint c;
  c.h_index = 2;
  c.candidate = 1;
  c.iteration = 4000;
  c.start = values(10, 0.1);
  c.params = values(10, 0.2);
  c.adam = {.m = values(10, 0.4), .v = values(10, 0.5).cwiseAbs(), .t = 4000, .last_good = values(10, 0.3),
            .learning_rate = 1.25e-3, .bad_in_a_row = 3, .halvings = 2, .restored = true};
  c.history = {3.0, 2.0, 1.0};
  c.rng_draws = 99999;
  c.has_kept = true;
  c.kept = {.scheme = values(10, 0.6), .history = {5.0, 4.0}, .status = RunStatus::kNonFiniteLoss, .halvings = 1};
  c.kept_bounded_runs = 97;
  c.kept_deviation = 0.0123;
  c.seconds = 7.25;
  c.done = {{.scheme = values(10, 0.7), .history = {1.0, 0.5}},
            {.scheme = values(10, 0.8), .history = {2.0}, .status = RunStatus::kNonFiniteLoss, .halvings = 4}};
  c.done_seconds = {1.5, 2.5};
  const fs::path p = dir_ / "checkpoint.h5";
  write_fit_checkpoint(p, c, {{"h", {0.1, 0.2}}}, 42);
  const FitCheckpointFile file = read_fit_checkpoint(p);
  EXPECT_EQ(file.data_hash, 42u);
  const FitCheckpoint& s = file.state;
  EXPECT_EQ(s.h_index, c.h_index);
  EXPECT_EQ(s.candidate, c.candidate);
  EXPECT_EQ(s.iteration, c.iteration);
  EXPECT_EQ(s.start, c.start);
  EXPECT_EQ(s.params, c.params);
  EXPECT_EQ(s.adam.last_good, c.adam.last_good);
  EXPECT_EQ(s.adam.m, c.adam.m);
  EXPECT_EQ(s.adam.v, c.adam.v);
  EXPECT_EQ(s.adam.t, c.adam.t);
  EXPECT_EQ(s.adam.learning_rate, c.adam.learning_rate);
  EXPECT_EQ(s.adam.bad_in_a_row, c.adam.bad_in_a_row);
  EXPECT_EQ(s.adam.halvings, c.adam.halvings);
  EXPECT_EQ(s.adam.restored, c.adam.restored);
  EXPECT_EQ(s.history, c.history);
  EXPECT_EQ(s.rng_draws, c.rng_draws);
  EXPECT_TRUE(s.has_kept);
  EXPECT_EQ(s.kept.scheme, c.kept.scheme);
  EXPECT_EQ(s.kept.history, c.kept.history);
  EXPECT_EQ(s.kept.status, c.kept.status);
  EXPECT_EQ(s.kept.halvings, c.kept.halvings);
  EXPECT_EQ(s.kept_bounded_runs, c.kept_bounded_runs);
  EXPECT_EQ(s.kept_deviation, c.kept_deviation);
  EXPECT_EQ(s.seconds, c.seconds);
  ASSERT_EQ(s.done.size(), 2u);
  EXPECT_EQ(s.done[1].scheme, c.done[1].scheme);
  EXPECT_EQ(s.done[0].history, c.done[0].history);
  EXPECT_EQ(s.done[1].status, RunStatus::kNonFiniteLoss);
  EXPECT_EQ(s.done[1].halvings, 4);
  EXPECT_EQ(s.done_seconds, c.done_seconds);
}

void edit_root(const fs::path& p, const std::function<void(hid_t)>& edit) {
  const hid_t file = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  edit(file);
  H5Fclose(file);
}

void set_fixed_string(hid_t obj, const char* name, const std::string& value) {
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, value.size());
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, type, value.data());
  H5Aclose(a);
  H5Sclose(space);
  H5Tclose(type);
}

// Checkpoints of versions 1 to 4 (before the optimiser states had their own structs; before the phase records;
// before the refit) are refused in one line.
TEST_F(CheckpointIo, OlderVersionsAreRefusedInOneLine) {
  const fs::path p = dir_ / "checkpoint.h5";
  for (long long version : {1LL, 2LL, 3LL, 4LL}) {
    write_fit_checkpoint(p, FitCheckpoint{}, {{"h", {0.1}}}, 7);
    edit_root(p, [&](hid_t root) {
      H5Adelete(root, "format_version");
      const hid_t space = H5Screate(H5S_SCALAR);
      const hid_t a = H5Acreate2(root, "format_version", H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
      H5Awrite(a, H5T_NATIVE_LLONG, &version);
      H5Aclose(a);
      H5Sclose(space);
    });
    try {
      read_fit_checkpoint(p);
      ADD_FAILURE() << "accepted version " << version;
    } catch (const std::runtime_error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("older trk"), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  }
}

TEST_F(CheckpointIo, RefusesOtherFilesNamingFileAndField) {
  const fs::path p = dir_ / "checkpoint.h5";
  auto expect_refused = [&](const std::function<void()>& read, const std::string& field) {
    try {
      read();
      ADD_FAILURE() << "accepted";
    } catch (const std::runtime_error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
      EXPECT_NE(msg.find(field), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  };
  FitCheckpoint f;
  write_fit_checkpoint(p, f, json::object(), 1);
  expect_refused([&] { read_identify_checkpoint(p); }, "attribute command");
  // data_hash (version 2) missing or not 16 hexadecimal digits.
  for (const char* bad : {"", "12345", "0x23456789abcdef", "-123456789abcdef", "0123456789abcdeg"}) {
    SCOPED_TRACE(bad);
    edit_root(p, [&](hid_t root) {
      H5Adelete(root, "data_hash");
      if (*bad) set_fixed_string(root, "data_hash", bad);
    });
    expect_refused([&] { read_fit_checkpoint(p); }, "attribute data_hash");
  }
  h5::write_file_atomic(p, [](h5::Group& root) { root.write_string_attribute("format", "trk-model"); });
  expect_refused([&] { read_fit_checkpoint(p); }, "attribute format");
  h5::write_file_atomic(p, [](h5::Group& root) {
    root.write_string_attribute("format", "trk-checkpoint");
    root.write_int_attribute("format_version", 6);
  });
  expect_refused([&] { read_fit_checkpoint(p); }, "newer trk");
  fs::resize_file(p, 100);
  expect_refused([&] { read_fit_checkpoint(p); }, "checkpoint.h5");
}

}  // namespace
}  // namespace trk::io
