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
  c.phase = "refine_rollout";
  c.iteration = 17;
  c.x = values(73, 0.1);
  c.last_good = values(73, 0.2);
  c.adam_m = values(73, 0.3);
  c.adam_v = values(73, 0.4).cwiseAbs();
  c.adam_t = 123456789012L;
  c.bad_in_a_row = 3;
  c.learning_rate = 3e-3 / 8;
  c.rng_draws = (1ULL << 40) + 7;
  c.loss = 1.0 / 3.0;
  c.gradient = values(73, 0.5);
  c.s_memory = {values(73, 0.6), values(73, 0.7)};
  c.y_memory = {values(73, 0.8), values(73, 0.9)};
  c.phase_accepted = 9;
  c.residuals = values(500, 1.0);
  c.mu = 1e-7;
  c.status = "completed";
  c.iterations = 20;
  c.meet_iterations = 12;
  c.refine_iterations = 33;
  c.learning_rate_halvings = 2;
  c.loss_history = {1.5, std::numeric_limits<double>::quiet_NaN(), 0.1};
  c.meet_loss_history = {2.0, 1.0};
  c.refine_loss_history = {0.01};
  c.nfe_forward_history = {4, 4, 4};
  c.nfe_backward_history = {8, 8, 8};
  c.train_seconds = 12.5;
  const json config = {{"options", {{"solver", "trk4"}}}, {"data", "d.h5"}};
  const fs::path p = dir_ / "checkpoint.h5";
  write_identify_checkpoint(p, c, config, 0xfedcba9876543210ULL);
  const IdentifyCheckpointFile r = read_identify_checkpoint(p);
  EXPECT_EQ(r.configuration, config);
  EXPECT_EQ(r.data_hash, 0xfedcba9876543210ULL);
  const IdentifyCheckpoint& s = r.state;
  EXPECT_EQ(s.phase, c.phase);
  EXPECT_EQ(s.iteration, c.iteration);
  EXPECT_EQ(s.x, c.x);
  EXPECT_EQ(s.last_good, c.last_good);
  EXPECT_EQ(s.adam_m, c.adam_m);
  EXPECT_EQ(s.adam_v, c.adam_v);
  EXPECT_EQ(s.adam_t, c.adam_t);
  EXPECT_EQ(s.bad_in_a_row, c.bad_in_a_row);
  EXPECT_EQ(s.learning_rate, c.learning_rate);
  EXPECT_EQ(s.rng_draws, c.rng_draws);
  EXPECT_EQ(s.loss, c.loss);
  EXPECT_EQ(s.gradient, c.gradient);
  ASSERT_EQ(s.s_memory.size(), 2u);
  EXPECT_EQ(s.s_memory[1], c.s_memory[1]);
  EXPECT_EQ(s.y_memory[0], c.y_memory[0]);
  EXPECT_EQ(s.phase_accepted, c.phase_accepted);
  EXPECT_EQ(s.residuals, c.residuals);
  EXPECT_EQ(s.mu, c.mu);
  EXPECT_EQ(s.status, c.status);
  EXPECT_EQ(s.iterations, c.iterations);
  EXPECT_EQ(s.meet_iterations, c.meet_iterations);
  EXPECT_EQ(s.refine_iterations, c.refine_iterations);
  EXPECT_EQ(s.learning_rate_halvings, c.learning_rate_halvings);
  ASSERT_EQ(s.loss_history.size(), 3u);
  EXPECT_TRUE(std::isnan(s.loss_history[1]));
  EXPECT_EQ(s.loss_history[2], 0.1);
  EXPECT_EQ(s.meet_loss_history, c.meet_loss_history);
  EXPECT_EQ(s.refine_loss_history, c.refine_loss_history);
  EXPECT_EQ(s.nfe_forward_history, c.nfe_forward_history);
  EXPECT_EQ(s.nfe_backward_history, c.nfe_backward_history);
  EXPECT_EQ(s.train_seconds, c.train_seconds);

  // Empty lists (the Adam phase has no L-BFGS memory) round-trip too.
  IdentifyCheckpoint empty;
  empty.x = values(5, 0.0);
  write_identify_checkpoint(p, empty, config, 0);
  const IdentifyCheckpoint e = read_identify_checkpoint(p).state;
  EXPECT_EQ(e.x, empty.x);
  EXPECT_TRUE(e.s_memory.empty());
  EXPECT_EQ(e.gradient.size(), 0);
  EXPECT_TRUE(e.loss_history.empty());
}

TEST_F(CheckpointIo, FitStateRoundTripsExactly) {
  FitCheckpoint c;
  c.h_index = 2;
  c.candidate = 1;
  c.iteration = 4000;
  c.scheme = values(10, 0.1);
  c.params = values(10, 0.2);
  c.best = values(10, 0.3);
  c.adam_m = values(10, 0.4);
  c.adam_v = values(10, 0.5).cwiseAbs();
  c.adam_t = 4000;
  c.history = {3.0, 2.0, 1.0};
  c.rng_draws = 99999;
  c.has_kept = true;
  c.kept = values(10, 0.6);
  c.kept_history = {5.0, 4.0};
  c.kept_bounded_runs = 97;
  c.kept_deviation = 0.0123;
  c.seconds = 7.25;
  c.done_schemes = {values(10, 0.7), values(10, 0.8)};
  c.done_histories = {{1.0, 0.5}, {2.0}};
  c.done_seconds = {1.5, 2.5};
  // fit on_divergence
  c.learning_rate = 1.25e-3;
  c.bad_in_a_row = 3;
  c.learning_rate_halvings = 2;
  c.restored = true;
  c.kept_status = "non_finite_loss";
  c.kept_halvings = 1;
  c.done_status = {"completed", "non_finite_loss"};
  c.done_halvings = {0, 4};
  const fs::path p = dir_ / "checkpoint.h5";
  write_fit_checkpoint(p, c, {{"h", {0.1, 0.2}}}, 42);
  const FitCheckpointFile file = read_fit_checkpoint(p);
  EXPECT_EQ(file.data_hash, 42u);
  const FitCheckpoint& s = file.state;
  EXPECT_EQ(s.h_index, c.h_index);
  EXPECT_EQ(s.candidate, c.candidate);
  EXPECT_EQ(s.iteration, c.iteration);
  EXPECT_EQ(s.scheme, c.scheme);
  EXPECT_EQ(s.params, c.params);
  EXPECT_EQ(s.best, c.best);
  EXPECT_EQ(s.adam_m, c.adam_m);
  EXPECT_EQ(s.adam_v, c.adam_v);
  EXPECT_EQ(s.adam_t, c.adam_t);
  EXPECT_EQ(s.history, c.history);
  EXPECT_EQ(s.rng_draws, c.rng_draws);
  EXPECT_TRUE(s.has_kept);
  EXPECT_EQ(s.kept, c.kept);
  EXPECT_EQ(s.kept_history, c.kept_history);
  EXPECT_EQ(s.kept_bounded_runs, c.kept_bounded_runs);
  EXPECT_EQ(s.kept_deviation, c.kept_deviation);
  EXPECT_EQ(s.seconds, c.seconds);
  ASSERT_EQ(s.done_schemes.size(), 2u);
  EXPECT_EQ(s.done_schemes[1], c.done_schemes[1]);
  EXPECT_EQ(s.done_histories, c.done_histories);
  EXPECT_EQ(s.done_seconds, c.done_seconds);
  // fit on_divergence
  EXPECT_EQ(s.learning_rate, c.learning_rate);
  EXPECT_EQ(s.bad_in_a_row, c.bad_in_a_row);
  EXPECT_EQ(s.learning_rate_halvings, c.learning_rate_halvings);
  EXPECT_EQ(s.restored, c.restored);
  EXPECT_EQ(s.kept_status, c.kept_status);
  EXPECT_EQ(s.kept_halvings, c.kept_halvings);
  EXPECT_EQ(s.done_status, c.done_status);
  EXPECT_EQ(s.done_halvings, c.done_halvings);
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

// A checkpoint of version 1 (before data_hash) is still read; data_hash is then empty.
TEST_F(CheckpointIo, VersionOneWithoutDataHashIsRead) {
  const fs::path p = dir_ / "checkpoint.h5";
  FitCheckpoint c;
  c.h_index = 1;
  write_fit_checkpoint(p, c, {{"h", {0.1}}}, 7);
  edit_root(p, [](hid_t root) {
    H5Adelete(root, "data_hash");
    H5Adelete(root, "format_version");
    const hid_t space = H5Screate(H5S_SCALAR);
    const hid_t a = H5Acreate2(root, "format_version", H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    const long long one = 1;
    H5Awrite(a, H5T_NATIVE_LLONG, &one);
    H5Aclose(a);
    H5Sclose(space);
  });
  const FitCheckpointFile f = read_fit_checkpoint(p);
  EXPECT_FALSE(f.data_hash.has_value());
  EXPECT_EQ(f.state.h_index, 1);
  EXPECT_EQ(f.configuration, json({{"h", {0.1}}}));
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
    root.write_int_attribute("format_version", 3);
  });
  expect_refused([&] { read_fit_checkpoint(p); }, "newer trk");
  fs::resize_file(p, 100);
  expect_refused([&] { read_fit_checkpoint(p); }, "checkpoint.h5");
}

}  // namespace
}  // namespace trk::io
