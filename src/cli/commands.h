// The subcommands of trk, one file each: setup_* declares options on the CLI11 app, the callback runs it.
#pragma once
#include <CLI/CLI.hpp>
#include <stdexcept>

namespace trk::cli {

void setup_generate(CLI::App& app);
void setup_fit(CLI::App& app);
void setup_identify(CLI::App& app);
void setup_report(CLI::App& app);

// Exit code for bad input (unknown names, invalid values, unreadable or unwritable files).
inline constexpr int kBadInput = 2;
// A run that completed but whose verdict fails (report --check found a regression): exit code 1.
inline constexpr int kFailingVerdict = 1;
struct FailingVerdict : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace trk::cli
