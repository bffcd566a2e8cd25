// Runs a shell command line (the trk binary, a script) in a test and captures its exit code, stdout and stderr.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace trk::testing {

struct RunResult {
  int code = -1;
  std::string out, err;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `command` runs through /bin/sh from the source tree (scripts and configs are named relative to it).
inline RunResult run_command(const std::string& command) {
  static int counter = 0;
  const auto dir = std::filesystem::temp_directory_path() / ("trk_run_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto o = dir / ("out" + std::to_string(counter)), e = dir / ("err" + std::to_string(counter++));
  const std::string cmd = "cd '" + std::string(TRK_SOURCE_DIR) + "' && " + command + " >'" + o.string() + "' 2>'" +
                          e.string() + "'";
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(o), slurp(e)};
}

inline RunResult run_trk(const std::string& args) { return run_command(std::string(TRK_BINARY) + " " + args); }

}  // namespace trk::testing
