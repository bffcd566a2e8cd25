// JSON files read by trk (configs, tableaux, results): a key given twice is refused naming file and key;
// FIFOs, devices and folders are refused without blocking; a size limit bounds what is read.
#include "trk/io/json_io.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

namespace trk::io {
namespace {

namespace fs = std::filesystem;

class JsonIo : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("trk_json_io_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return dir_ / name;
  }
  fs::path dir_;
};

std::string error_reading(const fs::path& p, std::uintmax_t max_bytes = kMaxJsonFileBytes) {
  try {
    read_json_file(p, max_bytes);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST_F(JsonIo, DuplicateKeysAreRefusedNamingFileAndKey) {
  const struct {
    std::string text, key;
  } cases[] = {
      {R"({"h": [0.2], "solvers": ["rk4"], "h": [0.3]})", ": h: duplicate key"},
      {R"({"training": {"iterations": 10, "learning_rate": 0.1, "iterations": 4294967297}})",
       ": training.iterations: duplicate key"},
      {R"({"cells": [{"a": 1}, {"b": 2, "b": 3}]})", ": cells[1].b: duplicate key"},
      {R"({"x": [[1, 2], {"y": {"z": 1, "z": 1}}]})", ": x[1].y.z: duplicate key"},
  };
  for (const auto& c : cases) {
    const fs::path p = write("cfg.json", c.text);
    const std::string e = error_reading(p);
    EXPECT_NE(e.find(p.string() + c.key), std::string::npos) << c.text << "\n" << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
  // The same key in different objects, arrays of objects, nested documents: all fine and unchanged.
  const std::string ok = R"({"a": {"k": 1}, "b": {"k": 2}, "c": [{"k": 3}, {"k": 4}], "k": [5, {"k": 6}]})";
  EXPECT_EQ(read_json_file(write("ok.json", ok)), json::parse(ok));
}

TEST_F(JsonIo, SpecialFilesAreRefusedWithoutBlocking) {
  const fs::path fifo = dir_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_NE(error_reading(fifo).find(fifo.string() + ": expected a JSON file, found a FIFO"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));  // before: blocked for ever
  EXPECT_NE(error_reading("/dev/zero").find("/dev/zero: expected a JSON file, found a character device"),
            std::string::npos);  // before: read until std::bad_alloc
  EXPECT_NE(error_reading(dir_).find("found a folder"), std::string::npos);
  EXPECT_NE(error_reading(dir_ / "missing.json").find("cannot open"), std::string::npos);
  const fs::path big = write("big.json", "[" + std::string(1000, ' ') + "]");
  EXPECT_NE(error_reading(big, 100).find("too large"), std::string::npos);
  EXPECT_EQ(read_json_file(big, 2000), json::array());
}

}  // namespace
}  // namespace trk::io
