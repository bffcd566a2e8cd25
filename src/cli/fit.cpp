// trk fit: train a TRK_q scheme on a known ODE over a list of steps h and say at which h it integrates.
// Data: a fine `generate` dataset (--data), or a config naming a system (then the reference data are made here
// with the generator of `trk generate`). Outputs DIR/fit.json (one row per (h, scheme)) and DIR/fit.h5.
#include <fmt/core.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <optional>
#include <stdexcept>

#include "cli/commands.h"
#include "cli/parse.h"
#include "trk/experiment/fit.h"
#include "trk/experiment/generate.h"
#include "trk/io/atomic_file.h"
#include "trk/io/checkpoint_io.h"
#include "trk/io/dataset_io.h"
#include "trk/io/json_io.h"
#include "trk/io/results_io.h"

namespace trk::cli {
namespace {

struct FitArgs {
  std::string config, data, system, out;
  std::vector<std::string> params;
  std::vector<double> steps;
  GenerateOptions generate;  // used when the config names a system
  FitOptions options;
  std::string schedule = "cosine";
  bool no_continuation = false;
  bool quiet = false;
  int checkpoint_every = 1000;  // training iterations between checkpoints (0: only when stopped by a signal)
  bool resume = false;
};

// Reads the config file into args; flags given on the command line win (CLI11 has stored them already, and
// `given(name)` says which).
void apply_config(const io::json& j, const std::string& where, FitArgs& a, const std::function<bool(const char*)>& given) {
  auto fail = [&](const std::string& field, const std::string& what) {
    throw std::runtime_error(where + ": " + field + ": " + what);
  };
  if (!j.is_object()) fail("(top level)", "expected a JSON object");
  static const std::vector<std::string> top = {"system", "parameters", "data", "generate", "h", "stages", "compare",
                                               "training", "out", "description"};
  for (const auto& [k, v] : j.items())
    if (std::find(top.begin(), top.end(), k) == top.end()) fail(k, "unknown key");
  auto get = [&](const io::json& obj, const std::string& key, auto& into, const std::string& path, const char* flag) {
    if (!obj.contains(key) || (flag && given(flag))) return;
    try {
      into = obj.at(key).get<std::decay_t<decltype(into)>>();
    } catch (const io::json::exception&) {
      fail(path, "wrong type");
    }
  };
  get(j, "system", a.system, "system", nullptr);
  get(j, "data", a.data, "data", "--data");
  get(j, "h", a.steps, "h", "--h");
  get(j, "stages", a.options.stages, "stages", "--stages");
  get(j, "compare", a.options.compare, "compare", "--compare");
  get(j, "out", a.out, "out", "--out");
  if (j.contains("parameters")) {
    if (!j["parameters"].is_object()) fail("parameters", "expected an object of numbers");
    for (const auto& [k, v] : j["parameters"].items()) {
      if (!v.is_number()) fail("parameters." + k, "expected a number");
      a.generate.parameters[k] = v.get<double>();
    }
  }
  if (j.contains("generate")) {
    const auto& g = j["generate"];
    if (!g.is_object()) fail("generate", "expected an object");
    for (const auto& [k, v] : g.items())
      if (k != "h" && k != "train_steps" && k != "test_steps" && k != "test_trajectories" && k != "seed")
        fail("generate." + k, "unknown key (h, train_steps, test_steps, test_trajectories, seed)");
    get(g, "h", a.generate.h, "generate.h", nullptr);
    get(g, "train_steps", a.generate.train_steps, "generate.train_steps", nullptr);
    get(g, "test_steps", a.generate.test_steps, "generate.test_steps", nullptr);
    get(g, "test_trajectories", a.generate.test_trajectories, "generate.test_trajectories", nullptr);
    get(g, "seed", a.generate.seed, "generate.seed", nullptr);
  }
  if (j.contains("training")) {
    const auto& t = j["training"];
    if (!t.is_object()) fail("training", "expected an object");
    static const std::vector<std::string> keys = {
        "init", "order", "iterations", "batch_size", "rollout_steps", "learning_rate", "schedule", "clip_norm",
        "stability_weight", "stability_states", "stability_margin", "candidate_margins", "amplification_weight", "moment_weight", "tube_states", "tube_noise", "continuation",
        "candidates", "selection_runs", "refine_trials", "refine_scale", "seed", "judge_runs", "on_divergence"};
    for (const auto& [k, v] : t.items())
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) fail("training." + k, "unknown key");
    FitOptions& o = a.options;
    get(t, "init", o.init, "training.init", "--init");
    get(t, "order", o.order, "training.order", "--order");
    get(t, "iterations", o.iterations, "training.iterations", "--iterations");
    get(t, "batch_size", o.batch_size, "training.batch_size", "--batch-size");
    get(t, "rollout_steps", o.rollout_steps, "training.rollout_steps", "--rollout-steps");
    get(t, "learning_rate", o.adam.learning_rate, "training.learning_rate", "--learning-rate");
    get(t, "schedule", a.schedule, "training.schedule", "--schedule");
    get(t, "clip_norm", o.adam.clip_norm, "training.clip_norm", nullptr);
    get(t, "stability_weight", o.stability_weight, "training.stability_weight", "--stability-weight");
    get(t, "stability_states", o.stability_states, "training.stability_states", nullptr);
    get(t, "stability_margin", o.stability_margin, "training.stability_margin", "--stability-margin");
    get(t, "candidate_margins", o.candidate_margins, "training.candidate_margins", "--candidate-margins");
    get(t, "amplification_weight", o.amplification_weight, "training.amplification_weight", "--amplification-weight");
    get(t, "moment_weight", o.moment_weight, "training.moment_weight", "--moment-weight");
    get(t, "tube_states", o.tube_states, "training.tube_states", "--tube-states");
    get(t, "tube_noise", o.tube_noise, "training.tube_noise", "--tube-noise");
    get(t, "continuation", o.continuation, "training.continuation", nullptr);
    get(t, "candidates", o.candidates, "training.candidates", "--candidates");
    get(t, "selection_runs", o.selection_runs, "training.selection_runs", "--selection-runs");
    get(t, "refine_trials", o.refine_trials, "training.refine_trials", "--refine-trials");
    get(t, "refine_scale", o.refine_scale, "training.refine_scale", "--refine-scale");
    get(t, "seed", o.seed, "training.seed", "--seed");
    get(t, "judge_runs", o.judge_runs, "training.judge_runs", nullptr);
    get(t, "on_divergence", o.on_divergence, "training.on_divergence", "--on-divergence");
  }
}

io::json configuration_json(const FitArgs& a, const Dataset& d) {
  const FitOptions& o = a.options;
  return {{"system", d.system},
          {"parameters", d.parameters},
          {"data", a.data.empty() ? io::json(nullptr) : io::json(a.data)},
          {"data_h", d.h},
          {"h", a.steps},
          {"stages", o.stages},
          {"compare", o.compare},
          {"training",
           {{"init", o.init},
            {"order", o.order},
            {"iterations", o.iterations},
            {"batch_size", o.batch_size},
            {"rollout_steps", o.rollout_steps},
            {"learning_rate", o.adam.learning_rate},
            {"schedule", to_string(o.adam.schedule)},
            {"clip_norm", o.adam.clip_norm},
            {"stability_weight", o.stability_weight},
            {"stability_states", o.stability_states},
            {"stability_margin", o.stability_margin},
            {"candidate_margins", o.candidate_margins},
            {"amplification_weight", o.amplification_weight},
            {"moment_weight", o.moment_weight},
            {"tube_states", o.tube_states},
            {"tube_noise", o.tube_noise},
            {"continuation", o.continuation},
            {"candidates", o.candidates},
            {"selection_runs", o.selection_runs},
            {"refine_trials", o.refine_trials},
            {"refine_scale", o.refine_scale},
            {"seed", o.seed},
            {"judge_runs", o.judge_runs},
            {"on_divergence", o.on_divergence}}},
          {"program", "trk fit 0.1"}};
}

// --resume without a checkpoint: the run is done when fit.json exists and holds this configuration (an unreadable
// or other fit.json is not a finished run of this command: it is run again and replaced).
bool finished_already(const std::filesystem::path& fit_json, const io::json& config) {
  if (!std::filesystem::exists(fit_json)) return false;
  try {
    const io::json j = io::read_json_file(fit_json);
    return j.is_object() && j.contains("configuration") && j["configuration"] == config && j.contains("rows");
  } catch (const std::exception&) {
    return false;
  }
}

void run_fit(FitArgs& a, const std::function<bool(const char*)>& given) {
  if (!a.config.empty()) apply_config(io::read_json_file(a.config), a.config, a, given);
  if (given("--data")) a.system.clear();
  if (a.out.empty()) throw std::invalid_argument("--out is required (or \"out\" in the config)");
  if (a.steps.empty()) throw std::invalid_argument("--h is required (a list of steps, e.g. 0.1,0.15)");
  for (double h : a.steps)
    if (!(h > 0) || !std::isfinite(h))
      throw std::invalid_argument(fmt::format("--h {}: every step must be a positive finite number", h));
  if (a.data.empty() == a.system.empty())
    throw std::invalid_argument("give either --data FINE.h5 or a config naming a \"system\"");
  a.options.adam.schedule = parse_lr_schedule(a.schedule);
  if (a.no_continuation) a.options.continuation = false;
  if (auto e = a.options.validation_error(); !e.empty()) throw std::invalid_argument(e);
  io::check_writable_directory(a.out);
  const bool tty = !a.quiet && ::isatty(STDERR_FILENO);

  Dataset d;
  if (!a.data.empty()) {
    d = read_dataset_bounded(a.data);
  } else {
    a.generate.system = a.system;
    for (const auto& [k, v] : parse_parameters(a.params)) a.generate.parameters[k] = v;
    if (!a.quiet) fmt::print(stderr, "fit: generating {} reference data at h = {}\n", a.system, a.generate.h);
    d = generate(a.generate);
  }
  const auto f = make_system(d.system, d.parameters);  // throws for systems trk does not know
  if (!a.data.empty() && d.dim() != f->dim())
    throw std::invalid_argument(fmt::format("{}: /train/states: expected dim {} (the system {}), found {}", a.data,
                                            f->dim(), d.system, d.dim()));
  const std::filesystem::path dir(a.out), checkpoint = dir / "checkpoint.h5";
  const io::json config = configuration_json(a, d);
  const std::uint64_t data_hash = io::content_hash(d);
  std::optional<io::FitCheckpointFile> saved;
  FitHooks hooks;
  if (a.resume && !std::filesystem::exists(checkpoint) && finished_already(dir / "fit.json", config)) {
    if (!a.quiet)
      fmt::print(stderr, "fit: {} is done already (fit.json of this configuration, no checkpoint)\n", a.out);
    return;
  }
  if (a.resume && std::filesystem::exists(checkpoint)) {
    saved = read_hdf5_guarded(checkpoint.string(), "a checkpoint of trk fit",
                              [&] { return io::read_fit_checkpoint(checkpoint); });
    check_resumed_data(checkpoint.string(), saved->data_hash, data_hash,
                       a.data.empty() ? "the generated " + d.system + " data" : a.data, "fit");
    if (saved->configuration != config)
      throw std::invalid_argument(checkpoint.string() + ": configuration: the checkpoint is of another run (options "
                                  "or data differ); remove it or run without --resume");
    hooks.resume = &saved->state;
    if (!a.quiet)
      fmt::print(stderr, "fit: resuming from h #{}, candidate {}, iteration {}\n", saved->state.h_index + 1,
                 saved->state.candidate + 1, saved->state.iteration + 1);
  }
  if (std::filesystem::is_directory(dir)) io::remove_stale_temporaries(dir);  // left by a killed run
  hooks.checkpoint_every = a.checkpoint_every;
  hooks.stop_requested = [] { return stop_signal() != 0; };
  hooks.save = [&](const FitCheckpoint& c) {
    io::ensure_writable_directory(dir);
    io::write_fit_checkpoint(checkpoint, c, config, data_hash);
  };
  install_stop_handlers();
  FitSummary s;
  try {
    s = fit_sweep(
        *f, d, a.steps, a.options,
        [&](const std::string& line) {
          if (a.quiet) return;
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
  if (s.status == "interrupted") {
    const int sig = stop_signal();
    throw Interrupted(fmt::format("interrupted by {}: checkpoint written to {}; continue with the same command and "
                                  "--resume", sig == SIGTERM ? "SIGTERM" : "SIGINT", checkpoint.string()),
                      sig);
  }
  io::ensure_writable_directory(dir);
  io::write_fit_h5(dir / "fit.h5", s, config);
  // Test hook (tests/cli/robustness_test.cpp): a signal between the two outputs, a window too short to hit from
  // outside the process.
  if (const char* sig = std::getenv("TRK_TEST_SIGNAL_BETWEEN_OUTPUTS"))
    std::raise(std::string(sig) == "SIGTERM" ? SIGTERM : SIGINT);
  io::write_json_atomic(dir / "fit.json", {{"format", "trk-fit"},
                                           {"format_version", 1},
                                           {"configuration", config},
                                           {"rows", io::fit_rows_to_json(s)}});
  fmt::print("{:>6}  {:>8}  {:>10}  {:>8}  {:>10}\n", "h", "scheme", "integrates", "bounded", "deviation");
  for (const auto& r : s.rows)
    fmt::print("{:>6}  {:>8}  {:>10}  {:>5}/{:<2}  {:>10.4f}{}\n", r.h, r.scheme, r.verdict.integrates ? "yes" : "no",
               r.verdict.bounded_runs, r.verdict.runs, r.verdict.worst_deviation,
               r.status == "completed" ? "" : "  (training: " + r.status + ")");
  std::error_code ignored;
  std::filesystem::remove(checkpoint, ignored);  // the results are complete
  fmt::print("wrote {} and {}\n", (dir / "fit.json").string(), (dir / "fit.h5").string());
  end_stop_handling((dir / "fit.json").string() + ", " + (dir / "fit.h5").string());
}

}  // namespace

void setup_fit(CLI::App& app) {
  auto a = std::make_shared<FitArgs>();
  auto* cmd = app.add_subcommand("fit", "Train a TRK scheme on a known ODE for each step h and judge where it integrates");
  cmd->add_option("--config", a->config, "JSON config (experiments/fit_l63_trk4.json); flags override it");
  cmd->add_option("--data", a->data, "fine dataset from trk generate (its step must divide every h)");
  cmd->add_option("--h", a->steps, "steps to train and judge, e.g. 0.1,0.15,0.16")->delimiter(',');
  cmd->add_option("--stages", a->options.stages, "stages q of the trained scheme")->capture_default_str();
  cmd->add_option("--compare", a->options.compare, "classical schemes judged beside it")->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--init", a->options.init, "classical | zeros | euler_substeps | a named tableau")
      ->capture_default_str();
  cmd->add_option("--order", a->options.order, "order conditions held exactly (1: sum b = 1, the paper; up to 4)")
      ->capture_default_str();
  cmd->add_option("--iterations", a->options.iterations, "Adam iterations per h")->capture_default_str();
  cmd->add_option("--batch-size", a->options.batch_size, "rollouts per iteration")->capture_default_str();
  cmd->add_option("--rollout-steps", a->options.rollout_steps, "steps K of the rollout loss")->capture_default_str();
  cmd->add_option("--learning-rate", a->options.adam.learning_rate, "Adam learning rate")->capture_default_str();
  cmd->add_option("--schedule", a->schedule, "constant | cosine | exponential")->capture_default_str();
  cmd->add_option("--stability-weight", a->options.stability_weight, "weight of the stability penalty")
      ->capture_default_str();
  cmd->add_option("--stability-margin", a->options.stability_margin,
                  "the penalty's eigenvalues are scaled by 1 + margin")
      ->capture_default_str();
  cmd->add_option("--candidate-margins", a->options.candidate_margins,
                  "stability margins the candidates cycle through (overrides --stability-margin), e.g. 0,0.05,0.1")
      ->delimiter(',');
  cmd->add_option("--amplification-weight", a->options.amplification_weight,
                  "weight of the growth penalty: |R(mu h)| <= |exp(mu h)| at the unstable Jacobian eigenvalues mu")
      ->capture_default_str();
  cmd->add_option("--moment-weight", a->options.moment_weight,
                  "weight of the moment loss (first and second moments of the rollouts against the reference's)")
      ->capture_default_str();
  cmd->add_option("--tube-states", a->options.tube_states,
                  "perturbed training states (with reference rollouts) mixed into the mini-batches; 0: none")
      ->capture_default_str();
  cmd->add_option("--tube-noise", a->options.tube_noise, "their noise, in standard deviations of each component")
      ->capture_default_str();
  cmd->add_option("--candidates", a->options.candidates,
                  "trainings per h (different mini-batch streams); the one that integrates best from training "
                  "states is kept")
      ->capture_default_str();
  cmd->add_option("--on-divergence", a->options.on_divergence,
                  "on a non-finite loss: stop (keep the last good scheme) | lower_lr (restore it, halve the learning "
                  "rate)")
      ->capture_default_str();
  cmd->add_option("--selection-runs", a->options.selection_runs,
                  "training states the candidates are judged from (with --candidates > 1)")
      ->capture_default_str();
  cmd->add_option("--refine-trials", a->options.refine_trials,
                  "perturbed copies of the kept scheme judged from the selection states; a better one replaces it")
      ->capture_default_str();
  cmd->add_option("--refine-scale", a->options.refine_scale, "standard deviation of those perturbations")
      ->capture_default_str();
  cmd->add_flag("--no-continuation", a->no_continuation, "start every h from --init instead of the previous h");
  cmd->add_option("--seed", a->options.seed, "seed of the mini-batches")->capture_default_str();
  cmd->add_option("--param", a->params, "system parameter when the config names a system, e.g. rho=28");
  cmd->add_option("--out", a->out, "output folder (fit.json, fit.h5)");
  cmd->add_flag("--quiet", a->quiet, "no progress output");
  cmd->add_option("--checkpoint-every", a->checkpoint_every,
                  "training iterations between checkpoints in DIR/checkpoint.h5 (0: only on SIGINT/SIGTERM)")
      ->capture_default_str();
  cmd->add_flag("--resume", a->resume, "continue from DIR/checkpoint.h5 (same options and data)");
  cmd->callback([a, cmd] {
    if (a->checkpoint_every < 0) throw std::invalid_argument("--checkpoint-every must be >= 0");
    run_fit(*a, [cmd](const char* flag) { return cmd->count(flag) > 0; });
  });
}

}  // namespace trk::cli
