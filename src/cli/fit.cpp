// trk fit: train a TRK_q scheme on a known ODE over a list of steps h and say at which h it integrates.
// Data: a fine `generate` dataset (--data), or a config naming a system (then the reference data are made here
// with the generator of `trk generate`). Outputs DIR/fit.json (one row per (h, scheme)) and DIR/fit.h5.
// Options: every training option is a flag and a key of the config's "training" section, declared once
// (experiment/fit.h visit_fields); flags given win over the config.
#include <fmt/core.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <stdexcept>

#include "cli/checkpointed_run.h"
#include "cli/memory.h"
#include "cli/commands.h"
#include "cli/options_flags.h"
#include "cli/parse.h"
#include "trk/experiment/fit.h"
#include "trk/experiment/generate.h"
#include "trk/experiment/memory_estimate.h"
#include "trk/experiment/test_equation.h"
#include "trk/io/checkpoint_io.h"
#include "trk/io/dataset_io.h"
#include "trk/io/options_io.h"
#include "trk/io/results_io.h"

namespace trk::cli {
namespace {

struct FitArgs {
  std::string config, data, system, out;
  std::vector<std::string> params;
  std::vector<double> steps;
  GenerateOptions generate;  // used when the config names a system
  FitOptions flags;          // the values of the option flags (and the defaults)
  FitOptions options;        // what the run uses: defaults < config < flags given
  RunFlags run;
  const CLI::App* cmd = nullptr;
  bool given(const char* flag) const { return cmd->count(flag) > 0; }
};

// Config: {"system", "parameters", "generate": {...}, "h": [...], "training": {...}, "out"} or "data": FILE
// instead of system and generate.
void apply_config(const io::json& j, const std::string& where, FitArgs& a) {
  io::refuse_unknown_keys(j, where, {"system", "parameters", "data", "generate", "h", "training", "out", "description"});
  if (j.contains("data"))
    for (const char* key : {"system", "parameters", "generate"})
      if (j.contains(key))
        throw std::runtime_error(where + ": " + key + ": not with \"data\" (the data file has its own system and "
                                 "parameters); remove one of them");
  a.system = io::read_key(j, "system", where, a.system);
  // Every key is read (and type-checked) even when a flag overrides it.
  const std::string data = io::read_key(j, "data", where, a.data), out = io::read_key(j, "out", where, a.out);
  const std::vector<double> steps = io::read_key(j, "h", where, a.steps);
  if (!a.given("--data")) a.data = data;
  if (!a.given("--h")) a.steps = steps;
  if (!a.given("--out")) a.out = out;
  for (const auto& [k, v] : io::read_parameters(j, where)) a.generate.parameters[k] = v;
  if (j.contains("generate")) io::read_fields(j["generate"], where + ": generate", a.generate);
  if (j.contains("training")) io::read_fields(j["training"], where + ": training", a.options);
}

io::json configuration_json(const FitArgs& a, const Dataset& d) {
  return {{"system", d.system},
          {"parameters", d.parameters},
          {"data", a.data.empty() ? io::json(nullptr) : io::json(a.data)},
          {"data_h", d.h},
          {"h", a.steps},
          {"training", io::fields_to_json(a.options)},
          {"program", "trk fit 0.1"}};
}

// --resume without a checkpoint: the run is done when fit.json exists and holds this configuration (an unreadable
// or other fit.json is not a finished run of this command: it is run again and replaced).
// With --resume, a readable fit.json of another configuration is refused rather than replaced.
bool finished_already(const std::filesystem::path& fit_json, const io::json& config, bool resume) {
  if (!std::filesystem::exists(fit_json)) return false;
  io::json j;
  try {
    j = io::read_fit_json(fit_json);
  } catch (const std::exception&) {
    return false;
  }
  if (j.contains("configuration") && j["configuration"] == config) return true;
  if (resume)
    throw std::invalid_argument(fit_json.string() + ": configuration: a finished run of other options or data is "
                                "there (--resume continues the same run only); give another --out, or remove " +
                                fit_json.parent_path().string());
  return false;
}

Dataset fit_data(FitArgs& a) {
  if (!a.data.empty()) return read_dataset_bounded(a.data);
  a.generate.system = a.system;
  for (const auto& [k, v] : parse_parameters(a.params)) a.generate.parameters[k] = v;
  if (!a.run.quiet) fmt::print(stderr, "fit: generating {} reference data at h = {}\n", a.system, a.generate.h);
  return generate(a.generate);
}

void print_rows(const FitSummary& s) {
  fmt::print("{:>6}  {:>8}  {:>10}  {:>8}  {:>10}\n", "h", "scheme", "integrates", "bounded", "deviation");
  for (const auto& r : s.rows)
    fmt::print("{:>6}  {:>8}  {:>10}  {:>5}/{:<2}  {:>10.4f}{}\n", r.h, r.scheme, r.verdict.integrates ? "yes" : "no",
               r.verdict.bounded_runs, r.verdict.runs, r.verdict.worst_deviation,
               r.status == RunStatus::kCompleted ? "" : "  (training: " + to_string(r.status) + ")");
}

// A config with a "test_equation" section runs the test-equation experiment (experiment/test_equation.h): its
// options are the keys of that section (visit_fields of TestEquationOptions); of the flags only --out and --quiet
// apply. Writes DIR/fit.json.
void run_test_equation(FitArgs& a, const io::json& j) {
  io::refuse_unknown_keys(j, a.config, {"test_equation", "out", "description"});
  for (const CLI::Option* opt : a.cmd->get_options())
    if (opt->count() > 0 && opt->get_name() != "--config" && opt->get_name() != "--out" &&
        opt->get_name() != "--quiet")
      throw std::invalid_argument(fmt::format(
          "{}: {} does not apply to a test_equation config (set its keys in the config's \"test_equation\" section)",
          a.config, opt->get_name()));
  TestEquationOptions o;
  io::read_fields(j["test_equation"], a.config + ": test_equation", o);
  if (auto e = o.validation_error(); !e.empty()) throw std::invalid_argument(a.config + ": test_equation: " + e);
  const std::string out = io::read_key(j, "out", a.config, a.out);
  if (!a.given("--out")) a.out = out;
  if (a.out.empty()) throw std::invalid_argument("--out is required (or \"out\" in the config)");
  io::check_writable_directory(a.out);
  const io::json config = {{"test_equation", io::fields_to_json(o)}, {"program", "trk fit 0.1"}};
  const TestEquationSummary s = test_equation_sweep(o, [&](const std::string& line) {
    if (!a.run.quiet) fmt::print(stderr, "fit: test equation: {}\n", line);
  });
  const std::filesystem::path dir(a.out);
  io::write_test_equation_results(dir, s, config);
  fmt::print("{:>9}  {:>5}  {:>3}  {:>10}  {:>9}  {:>10}  {:>8}  {:>6}\n", "axis", "order", "q", "scheme", "extent",
             "real_axis", "limit", "ratio");
  for (const auto& r : s.rows) {
    const double interval = r.axis == TestAxis::kImaginary ? r.extent : r.real_axis_interval;
    fmt::print("{:>9}  {:>5}  {:>3}  {:>10}  {:>9.4f}  {:>10.4f}  {:>8.3f}  {:>6}\n", to_string(r.axis), r.order,
               r.stages, r.scheme, r.extent, r.real_axis_interval, r.limit,
               r.limit > 0 && r.axis != TestAxis::kSector ? fmt::format("{:.3f}", interval / r.limit) : "-");
  }
  fmt::print("wrote {}\n", (dir / "fit.json").string());
}

void run_fit(FitArgs& a) {
  a.options = a.flags;
  if (!a.config.empty()) {
    const io::json j = io::read_json_file(a.config);
    if (j.is_object() && j.contains("test_equation")) return run_test_equation(a, j);
    apply_config(j, a.config, a);
  }
  apply_given(a.options, a.flags, a.cmd);
  if (a.given("--data")) a.system.clear();
  if (a.out.empty()) throw std::invalid_argument("--out is required (or \"out\" in the config)");
  if (a.steps.empty()) throw std::invalid_argument("--h is required (a list of steps, e.g. 0.1,0.15)");
  for (size_t i = 0; i < a.steps.size(); ++i) {
    if (!(a.steps[i] > 0) || !std::isfinite(a.steps[i]))
      throw std::invalid_argument(fmt::format("--h {}: every step must be a positive finite number", a.steps[i]));
    if (std::find(a.steps.begin(), a.steps.begin() + i, a.steps[i]) != a.steps.begin() + i)
      throw std::invalid_argument(fmt::format("--h {}: the step is given twice", a.steps[i]));
  }
  if (a.data.empty() == a.system.empty())
    throw std::invalid_argument("give either --data FINE.h5 or a config naming a \"system\"");
  parse_parameters(a.params);  // refused before the work, whatever they are for
  if (!a.data.empty() && !a.params.empty())
    throw std::invalid_argument("--param: the parameters of " + a.data + " are those it was generated with; --param "
                                "is for a config naming a \"system\"");
  if (auto e = a.options.validation_error(); !e.empty()) throw std::invalid_argument(e);
  io::check_writable_directory(a.out);
  const Dataset d = fit_data(a);
  const auto f = make_system(d.system, d.parameters);  // throws for systems trk does not know
  if (!a.data.empty() && d.dim() != f->dim())
    throw std::invalid_argument(fmt::format("{}: /train/states: expected dim {} (the system {}), found {}", a.data,
                                            f->dim(), d.system, d.dim()));
  check_memory("fit", estimate_memory(fit_memory_inputs(a.options, d, a.steps)), a.run.quiet);
  const std::filesystem::path dir(a.out);
  const io::json config = configuration_json(a, d);
  CheckpointedRun<FitCheckpoint, io::FitCheckpointFile> run(
      {.command = "fit", .dir = dir, .configuration = config, .data_hash = io::content_hash(d),
       .data_label = a.data.empty() ? "the generated " + d.system + " data" : a.data, .flags = a.run},
      io::read_fit_checkpoint, io::write_fit_checkpoint);
  if (run.done_already(finished_already(dir / "fit.json", config, a.run.resume && !run.has_checkpoint())))
    return;
  const FitHooks hooks = run.begin();
  if (hooks.resume && !a.run.quiet)
    fmt::print(stderr, "fit: resuming from h #{}, candidate {}, iteration {}\n", hooks.resume->h_index + 1,
               hooks.resume->candidate + 1, hooks.resume->iteration + 1);
  const bool tty = !a.run.quiet && ::isatty(STDERR_FILENO);
  FitSummary s;
  try {
    s = fit_sweep(
        *f, d, a.steps, a.options,
        [&](const std::string& line) {
          if (a.run.quiet) return;
          const bool progress = line.find(" iter ") != std::string::npos;
          if (progress && !tty) return;
          fmt::print(stderr, "{}fit: {}{}", tty ? "\r\033[K" : "", line, progress ? "" : "\n");
        },
        hooks);
  } catch (const std::invalid_argument& e) {
    // What fit_sweep refuses is the data (steps that do not divide, splits too short): name the file.
    if (a.data.empty() || hooks.resume) throw;
    throw std::invalid_argument(a.data + ": " + e.what());
  }
  if (s.status == RunStatus::kInterrupted) run.interrupted();
  // Test hook (tests/cli/robustness_test.cpp): a signal between the two outputs, a window too short to hit from
  // outside the process.
  io::write_fit_results(dir, s, config, [] {
    if (const char* sig = std::getenv("TRK_TEST_SIGNAL_BETWEEN_OUTPUTS"))
      std::raise(std::string(sig) == "SIGTERM" ? SIGTERM : SIGINT);
  });
  print_rows(s);
  fmt::print("wrote {} and {}\n", (dir / "fit.json").string(), (dir / "fit.h5").string());
  run.finish((dir / "fit.json").string() + ", " + (dir / "fit.h5").string());
}

}  // namespace

void setup_fit(CLI::App& app) {
  auto a = std::make_shared<FitArgs>();
  auto* cmd = app.add_subcommand("fit", "Train a TRK scheme on a known ODE for each step h and judge where it integrates");
  a->cmd = cmd;
  cmd->add_option("--config", a->config,
                  "JSON config (experiments/fit_l63_trk4.json; a \"test_equation\" section: the test-equation "
                  "experiment, experiments/fit_test_equation.json); flags override it");
  cmd->add_option("--data", a->data, "fine dataset from trk generate (its step must divide every h)");
  add_number(cmd, "--h", a->steps, "steps to train and judge, e.g. 0.1,0.15,0.16");
  add_flags(cmd, a->flags);
  cmd->add_option("--param", a->params, "system parameter when the config names a system, e.g. rho=28");
  cmd->add_option("--out", a->out, "output folder (fit.json, fit.h5)");
  add_run_flags(cmd, a->run, "continue from DIR/checkpoint.h5 (same options and data)");
  cmd->callback([a] { run_fit(*a); });
}

}  // namespace trk::cli
