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

// Long runs stop cleanly on SIGINT and SIGTERM: the handler only records the signal (a second one kills as
// usual); fit and identify poll stop_signal() every iteration, write a checkpoint and throw Interrupted, on which
// main prints the message and exits with 128 + signal (130 for SIGINT, 143 for SIGTERM).
// A signal that arrives after training (evaluation, judging, writing the outputs) is recorded as well: the run
// finishes its outputs (each written atomically) and then exits 128 + signal, not 0. end_stop_handling(written),
// called once the outputs are complete, restores the default actions (a later signal ends the process as usual,
// so no signal is ever lost) and throws Interrupted saying that `written` is complete if a signal had arrived.
void install_stop_handlers();
int stop_signal();  // 0 while no signal has arrived
void end_stop_handling(const std::string& written);
struct Interrupted : std::runtime_error {
  Interrupted(const std::string& what, int signal) : std::runtime_error(what), exit_code(128 + signal) {}
  int exit_code;
};

}  // namespace trk::cli
