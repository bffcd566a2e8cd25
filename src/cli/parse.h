// Small parsers shared by the subcommands.
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "trk/field/systems.h"
#include "trk/io/dataset_io.h"

namespace trk::cli {

// "key=value" pairs into parameters; throws std::invalid_argument naming the bad one.
inline Parameters parse_parameters(const std::vector<std::string>& pairs) {
  Parameters p;
  for (const auto& s : pairs) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::invalid_argument("--param '" + s + "': expected name=value, e.g. rho=28");
    const std::string key = s.substr(0, eq), value = s.substr(eq + 1);
    try {
      size_t used = 0;
      const double v = std::stod(value, &used);
      if (used != value.size() || !std::isfinite(v)) throw std::invalid_argument("");
      p[key] = v;
    } catch (const std::exception&) {
      throw std::invalid_argument("--param '" + s + "': value '" + value + "' is not a finite number");
    }
  }
  return p;
}

// libhdf5 1.10.8 can loop forever, read out of bounds (H5HG_read, the global heap of variable-length strings) or
// use freed memory (H5O__msg_iterate_real) on some damaged files; tests/io/fuzz_readers_test.cpp and
// scripts/fuzz_readers.sh found all three. So a user's HDF5 file is first read by a child process: if it crashes,
// or does not finish within TRK_READ_TIMEOUT seconds (default 60), the file is refused with one error line naming
// it (`expected` says what it should have been); otherwise it is read here (with the reader's own refusals).
template <class Read>
auto read_hdf5_guarded(const std::string& path, const std::string& expected, const Read& read) {
  const char* env = std::getenv("TRK_READ_TIMEOUT");
  const int seconds = env && std::atoi(env) > 0 ? std::atoi(env) : 60;
  std::fflush(nullptr);
  const pid_t child = ::fork();
  if (child == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, STDERR_FILENO);  // libc's crash report is not ours to show
    try {
      read();
    } catch (...) {
      ::_exit(1);
    }
    ::_exit(0);
  }
  if (child > 0) {
    int status = 0;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (::waitpid(child, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > end) {
        ::kill(child, SIGKILL);
        ::waitpid(child, &status, 0);
        throw std::runtime_error(path + ": reading did not finish in " + std::to_string(seconds) +
                                 " s (libhdf5 loops on some damaged files); expected " + expected);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (WIFSIGNALED(status))
      throw std::runtime_error(path + ": libhdf5 crashed reading it (signal " + std::to_string(WTERMSIG(status)) +
                               "; a damaged HDF5 file); expected " + expected);
  }
  return read();  // also when fork failed: read without the guard
}

inline Dataset read_dataset_bounded(const std::string& path) {
  return read_hdf5_guarded(path, "a trk-dataset HDF5 file", [&] { return io::read_dataset(path); });
}

// --resume: the checkpoint's data_hash (io::content_hash of the data it was trained on) must be that of the data
// given now (`data_label` names them).
inline void check_resumed_data(const std::string& checkpoint, std::uint64_t saved, std::uint64_t now,
                               const std::string& data_label, const std::string& command) {
  if (saved != now) {
    char hex[2][17];
    std::snprintf(hex[0], sizeof hex[0], "%016llx", static_cast<unsigned long long>(now));
    std::snprintf(hex[1], sizeof hex[1], "%016llx", static_cast<unsigned long long>(saved));
    throw std::invalid_argument(checkpoint + ": data_hash: the data differ from those the checkpoint was trained on (" +
                                data_label + " has content hash " + hex[0] + ", the checkpoint " + hex[1] +
                                "); remove the checkpoint or run without --resume (" + command + ")");
  }
}

}  // namespace trk::cli
