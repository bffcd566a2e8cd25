// The memory check of a run, before it starts: prints the estimate (experiment/memory_estimate.h) and refuses the
// run with one line when it exceeds io::memory_limit() (the machine's available memory, or --max-memory, an option
// of every subcommand declared in main.cpp).
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "trk/experiment/memory_estimate.h"

namespace trk::cli {

// Prints (runs of 256 MB or more) "<command>: memory needed: about 3.2 GB (model 160 MB, optimiser 1.6 GB, data 12 MB, activations 40 MB,
// checkpoint 1.5 GB); limit 21 GB (available memory)" on stderr unless `quiet`; throws std::runtime_error
// "<command>: needs about 3.2 GB of memory (...), more than the 2.0 GB of --max-memory; ..." when the total is larger.
void check_memory(const std::string& command, const MemoryEstimate& estimate, bool quiet);

// Declares --max-memory SIZE on `app` (and makes its subcommands accept it after their name): sets
// io::set_memory_limit when given. Called once by main.
void add_max_memory_option(CLI::App& app);

}  // namespace trk::cli
