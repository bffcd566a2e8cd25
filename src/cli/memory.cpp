#include "cli/memory.h"

#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <stdexcept>

#include "trk/io/memory_limit.h"

namespace trk::cli {

namespace {

std::string parts(const MemoryEstimate& e) {
  std::string s;
  auto add = [&](const char* name, double bytes) {
    if (bytes <= 0) return;
    s += (s.empty() ? "" : ", ") + std::string(name) + " " + io::format_bytes(bytes);
  };
  add("model", e.model);
  add("optimiser", e.optimiser);
  add("data", e.data);
  add("evaluation", e.evaluation);
  add("activations", e.activations);
  add("checkpoint", e.checkpoint);
  add("forecast", e.forecast);
  add("thread stacks", e.stacks);
  return s;
}

}  // namespace

void check_memory(const std::string& command, const MemoryEstimate& e, bool quiet) {
  const double limit = static_cast<double>(io::memory_limit());
  const std::string total = io::format_bytes(e.total());
  if (e.total() > limit)
    throw std::runtime_error(fmt::format("{}: needs about {} of memory ({}), more than the {} of {}; use smaller "
                                         "options or data, or --max-memory to allow more",
                                         command, total, parts(e), io::format_bytes(limit), io::memory_limit_source()));
  // Said when it matters (a run of 256 MB or more); the refusal above is always said.
  if (!quiet && e.total() >= 256.0 * (1 << 20))
    fmt::print(stderr, "{}: memory needed: about {} ({}); limit {} ({})\n", command, total, parts(e),
               io::format_bytes(limit), io::memory_limit_source());
}

void add_max_memory_option(CLI::App& app) {
  app.add_option_function<std::string>(
         "--max-memory",
         [](const std::string& text) {
           try {
             io::set_memory_limit(io::parse_memory_size(text));
           } catch (const std::invalid_argument& e) {
             throw std::invalid_argument(std::string("--max-memory ") + e.what());
           }
         },
         "refuse a run whose memory estimate, or a dataset declaring more data, exceeds SIZE (e.g. 4G; default: "
         "the memory available)")
      ->type_name("SIZE");
  const std::function<void(CLI::App&)> fall = [&](CLI::App& a) {
    for (CLI::App* sub : a.get_subcommands({})) {
      sub->fallthrough();
      fall(*sub);
    }
  };
  fall(app);
}

}  // namespace trk::cli
