// The subcommands of trk, one file each: setup_* declares options on the CLI11 app, the callback runs it.
#pragma once
#include <CLI/CLI.hpp>

namespace trk::cli {

void setup_generate(CLI::App& app);
void setup_fit(CLI::App& app);
void setup_identify(CLI::App& app);
void setup_report(CLI::App& app);

// Exit code for bad input (unknown names, invalid values, unreadable or unwritable files).
inline constexpr int kBadInput = 2;

}  // namespace trk::cli
