// trk: neural ODEs with trainable Runge-Kutta solvers. Dispatches to one subcommand per file.
// Exit codes: 0 success, 1 a run that completed with a failing verdict (e.g. a regression), 2 bad input.
#include <fmt/core.h>
#include <malloc.h>

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>

#include "cli/commands.h"
#include "cli/memory.h"
#include "trk/io/atomic_file.h"

namespace trk::cli {
namespace {
volatile std::sig_atomic_t received_signal = 0;
// A second signal ends the process at once, removing the temporary files of the outputs being written first.
extern "C" void on_second_signal(int sig) {
  trk::io::remove_temporaries_being_written();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}
extern "C" void on_stop_signal(int sig) {
  received_signal = sig;
  std::signal(sig, on_second_signal);
}
}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

int stop_signal() { return received_signal; }

void end_stop_handling(const std::string& written) {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (const int sig = received_signal)
    throw Interrupted(fmt::format("interrupted by {} after training; the results are complete: {} (the same command "
                                  "with --resume skips finished runs)", sig == SIGTERM ? "SIGTERM" : "SIGINT", written),
                      sig);
}
}  // namespace trk::cli

namespace {
// Errors are reported on one line.
std::string one_line(std::string msg) {
  for (char& c : msg)
    if (c == '\n') c = ' ';
  return msg;
}
}  // namespace

int main(int argc, char** argv) {
  // OpenMP threads wait passively (sleep) at barriers unless OMP_WAIT_POLICY or GOMP_SPINCOUNT says otherwise, so
  // that a spinning thread does not take the core a descheduled one of the same iteration needs on a shared machine
  // (the measurements: docs/decisions/passive-openmp-wait.md). libgomp reads the policy when it loads, so trk
  // re-executes itself once with it set (on failure it just goes on with the default).
  if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT")) {
    setenv("OMP_WAIT_POLICY", "passive", 1);
    execv("/proc/self/exe", argv);
  }
  // Training loops free and reallocate stage buffers every iteration; glibc's default would hand the top of the
  // heap back to the kernel each time (brk + TLB flush, ~40% of the run time on this VM). Keep it instead.
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  CLI::App app{"trk: neural ODEs with trainable Runge-Kutta solvers.\n"
               "Data flows one way: generate -> dataset.h5 -> fit / identify -> results -> report."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "trk 0.1");
  trk::cli::setup_generate(app);
  trk::cli::setup_fit(app);
  trk::cli::setup_identify(app);
  trk::cli::setup_report(app);
  trk::cli::add_max_memory_option(app);
  // libgomp fails (SIGSEGV) when asked for 100000 threads; no machine trk runs on needs more than 1024.
  if (CLI::Option* threads = app.get_subcommand("identify")->get_option_no_throw("--threads"))
    threads->check(CLI::Validator(
        [](std::string& v) {
          int n = -1;
          return CLI::detail::lexical_cast(v, n) && n >= 0 && n <= 1024
                     ? std::string()
                     : "expected 0 (OpenMP's default) to 1024 threads, found " + v;
        },
        "0..1024"));
  // Past a file-size limit (ulimit -f) a write fails with EFBIG instead of killing the process with SIGXFSZ, so the
  // error is reported on one line and the temporary file is removed.
  std::signal(SIGXFSZ, SIG_IGN);
  if (argc > 1 && argv[1][0] != '-') {
    std::string known;
    for (const auto* sub : app.get_subcommands({})) known += (known.empty() ? "" : ", ") + sub->get_name();
    bool found = false;
    for (const auto* sub : app.get_subcommands({})) found = found || sub->get_name() == argv[1];
    if (!found) {
      fmt::print(stderr, "trk: error: unknown command '{}' (expected one of: {})\n", argv[1], known);
      return trk::cli::kBadInput;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "trk: error: {} (see --help)\n", one_line(e.what()));
    return trk::cli::kBadInput;
  } catch (const trk::cli::Interrupted& e) {
    fmt::print(stderr, "trk: {}\n", one_line(e.what()));
    return e.exit_code;
  } catch (const trk::cli::FailingVerdict& e) {
    fmt::print(stderr, "trk: {}\n", one_line(e.what()));
    return trk::cli::kFailingVerdict;
  } catch (const std::bad_alloc&) {
    // An allocation past the memory estimate (cli/memory.h) or the machine's memory.
    fmt::print(stderr, "trk: error: out of memory (an allocation failed): use smaller options or data, or run where "
                       "more memory is available (--max-memory sets the limit the estimate is checked against)\n");
    return trk::cli::kBadInput;
  } catch (const std::exception& e) {
    fmt::print(stderr, "trk: error: {}\n", one_line(e.what()));
    return trk::cli::kBadInput;
  }
  return 0;
}
