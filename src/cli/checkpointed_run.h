// The machinery of a long run, shared by fit and identify: DIR/checkpoint.h5 resumed with --resume (only for the
// same configuration and data, else refused), saved every --checkpoint-every iterations and on SIGINT/SIGTERM
// (then the run exits 130/143 saying how to continue), outputs written atomically, and the checkpoint removed
// once they are complete. Without --resume an existing checkpoint is replaced, with a warning.
#pragma once
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "cli/options_flags.h"
#include "cli/parse.h"
#include "trk/core/run_hooks.h"
#include "trk/io/atomic_file.h"
#include "trk/io/json_io.h"

namespace trk::cli {

// The flags of a long run: --quiet, --checkpoint-every, --resume.
struct RunFlags {
  bool quiet = false;
  int checkpoint_every = 1000;  // iterations between checkpoints (0: only when stopped by a signal)
  bool resume = false;
};
inline void add_run_flags(CLI::App* cmd, RunFlags& f, const std::string& resume_help) {
  cmd->add_flag("--quiet", f.quiet, "no progress output");
  add_number(cmd, "--checkpoint-every", f.checkpoint_every,
                  "iterations between checkpoints in DIR/checkpoint.h5 (0: only on SIGINT/SIGTERM)")
      ->capture_default_str()
      ->check(at_least(0, "NONNEGATIVE"));
  cmd->add_flag("--resume", f.resume, resume_help);
}

struct RunSettings {
  std::string command;        // "identify" | "fit"
  std::filesystem::path dir;  // output folder
  io::json configuration;     // what a checkpoint must match to be resumed
  std::uint64_t data_hash = 0;
  std::string data_label;     // names the data in messages
  RunFlags flags;
};

// File is io::IdentifyCheckpointFile or io::FitCheckpointFile (state, configuration, data_hash).
template <class Checkpoint, class File>
class CheckpointedRun {
 public:
  using Read = File (*)(const std::filesystem::path&);
  using Write = void (*)(const std::filesystem::path&, const Checkpoint&, const io::json&, std::uint64_t);

  CheckpointedRun(RunSettings s, Read read, Write write)
      : s_(std::move(s)), checkpoint_(s_.dir / "checkpoint.h5"), read_(read), write_(write) {
    if (const char* k = std::getenv("TRK_TEST_AWAIT_SIGNAL_AT")) await_signal_at_ = std::atol(k);
  }

  std::filesystem::path checkpoint() const { return checkpoint_; }
  // --resume of a run whose outputs are complete and that left no checkpoint: nothing to do (says so).
  bool done_already(bool outputs_complete) const {
    if (!s_.flags.resume || has_checkpoint() || !outputs_complete) return false;
    if (!s_.flags.quiet) fmt::print(stderr, "{}: {} is done already (complete outputs, no checkpoint)\n", s_.command, s_.dir.string());
    return true;
  }
  bool has_checkpoint() const { return std::filesystem::exists(checkpoint_); }

  // Reads the checkpoint to resume (with --resume), else warns when one is replaced; removes temporaries left by
  // a killed run; installs the stop handlers. Returns the hooks for the library.
  RunHooks<Checkpoint> begin() {
    RunHooks<Checkpoint> hooks;
    if (s_.flags.resume && has_checkpoint()) {
      saved_ = read_hdf5_guarded(checkpoint_.string(), "a checkpoint of trk " + s_.command,
                                 [&] { return read_(checkpoint_); });
      check_resumed_data(checkpoint_.string(), saved_->data_hash, s_.data_hash, s_.data_label, s_.command);
      if (saved_->configuration != s_.configuration)
        throw std::invalid_argument(checkpoint_.string() + ": configuration: the checkpoint is of another run (options "
                                    "or data differ); remove it or run without --resume");
      hooks.resume = &saved_->state;
    } else if (!s_.flags.resume && has_checkpoint() && !s_.flags.quiet) {
      fmt::print(stderr, "{}: warning: {} (an earlier run's state) will be replaced; --resume continues it instead\n",
                 s_.command, checkpoint_.string());
    }
    if (std::filesystem::is_directory(s_.dir)) io::remove_stale_temporaries(s_.dir);  // left by a killed run
    hooks.checkpoint_every = s_.flags.checkpoint_every;
    hooks.stop_requested = [this, boundary = 0L]() mutable {
      if (++boundary == await_signal_at_) await_stop_signal(boundary);
      return stop_signal() != 0;
    };
    hooks.save = [this](const Checkpoint& c) {
      io::ensure_writable_directory(s_.dir);
      write_(checkpoint_, c, s_.configuration, s_.data_hash);
    };
    install_stop_handlers();
    return hooks;
  }

  // The run stopped on a signal after saving its state: exit 130/143 saying how to continue.
  [[noreturn]] void interrupted() const {
    const int sig = stop_signal();
    throw Interrupted(fmt::format("interrupted by {}: checkpoint written to {}; continue with the same command and "
                                  "--resume", sig == SIGTERM ? "SIGTERM" : "SIGINT", checkpoint_.string()),
                      sig);
  }

  // The outputs (`written`) are complete: the checkpoint goes; a signal that arrived meanwhile is reported now.
  void finish(const std::string& written) const {
    std::error_code ignored;
    std::filesystem::remove(checkpoint_, ignored);
    end_stop_handling(written);
  }

 private:
  // A test hook: with TRK_TEST_AWAIT_SIGNAL_AT=K in the environment, the K-th iteration boundary of the run (all
  // phases counted, from 1) says "<command>: waiting for a signal at iteration boundary K" on stderr and waits until
  // SIGINT or SIGTERM has arrived (at most 10 minutes), so that a test's signal lands during training whatever the
  // machine's load. The signal is then handled as any other: the state of that boundary is saved.
  void await_stop_signal(long boundary) const {
    fmt::print(stderr, "{}: waiting for a signal at iteration boundary {}\n", s_.command, boundary);
    const auto end = std::chrono::steady_clock::now() + std::chrono::minutes(10);
    while (stop_signal() == 0 && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  RunSettings s_;
  long await_signal_at_ = 0;
  std::filesystem::path checkpoint_;
  Read read_;
  Write write_;
  std::optional<File> saved_;
};

}  // namespace trk::cli
