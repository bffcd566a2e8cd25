// trk identify: learn a neural ODE (or SINDy model) from a dataset with a given solver, or evaluate a trained
// model on other data (--evaluate). A config runs a grid of (h, solver) cells, each in its own folder.
#include <fmt/core.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <optional>
#include <stdexcept>

#include "cli/commands.h"
#include "cli/parse.h"
#include "trk/experiment/generate.h"
#include "trk/experiment/identify.h"
#include "trk/io/atomic_file.h"
#include "trk/io/checkpoint_io.h"
#include "trk/io/dataset_io.h"
#include "trk/io/forecast_io.h"
#include "trk/io/json_io.h"
#include "trk/io/model_io.h"

namespace trk::cli {
namespace {

struct IdentifyArgs {
  std::string data, out, config, evaluate;
  IdentifyOptions options;
  std::string schedule = "constant";
  std::vector<double> only_h;  // --config: run only the cells of these steps
  bool quiet = false;
  int checkpoint_every = 1000;  // iterations between checkpoints (0: only when stopped by a signal)
  bool resume = false;
  int forecast_steps = 0, forecast_every = 1;  // issue 15: DIR/forecast.h5 over N steps when N > 0
};

io::json options_json(const IdentifyOptions& o) {
  return {{"solver", o.solver},
          {"model", o.model},
          {"model_options",
           {{"num_products", o.model_options.num_products},
            {"widths", o.model_options.widths},
            {"activation", o.model_options.activation},
            {"seed", o.model_options.seed}}},
          {"iterations", o.iterations},
          {"learning_rate", o.adam.learning_rate},
          {"schedule", to_string(o.adam.schedule)},
          {"final_lr_fraction", o.adam.final_lr_fraction},
          {"clip_norm", o.adam.clip_norm},
          {"batch_size", o.batch_size},
          {"rollout_steps", o.rollout_steps},
          {"tableau_init", o.tableau_init},
          {"rtol", o.rtol},
          {"atol", o.atol},
          {"sindy",
           {{"degree", o.sindy.degree},
            {"threshold", o.sindy.threshold},
            {"iterations", o.sindy.iterations},
            {"derivative", o.sindy.derivative}}},
          {"seed", o.seed},
          {"chunk_size", o.chunk_size},
          {"warmup", o.adam.warmup},
          {"meet_iterations", o.meet_iterations},
          {"refine_iterations", o.refine_iterations},
          {"refine_rollout_iterations", o.refine_rollout_iterations},
          {"refine_rollout_steps", o.refine_rollout_steps},
          {"lm_iterations", o.lm_iterations},
          {"lm_rollout_steps", o.lm_rollout_steps},
          {"lm_horizon_decay", o.lm_horizon_decay},
          {"lm_max_parameters", o.lm_max_parameters},
          {"on_divergence", o.on_divergence}};
}

// The training data of a cell is at least one rollout long and the test split has a state with 4 samples after it.
void check_enough_samples(const Dataset& d, const std::string& label, const IdentifyOptions& o) {
  if (parse_solver(o.solver).kind == SolverKind::kSparseRegression) return;
  const int need = 1 + std::max({o.rollout_steps, 1});
  if (d.train.num_times() < need)
    throw std::invalid_argument(fmt::format("{}: /train/states: expected at least {} time samples for {}-step "
                                            "rollouts, found {}", label, need, o.rollout_steps, d.train.num_times()));
  if (d.test.num_times() < 5)
    throw std::invalid_argument(fmt::format("{}: /test/states: expected at least 5 time samples (a start and 4 "
                                            "steps to score), found {}", label, d.test.num_times()));
}

// Every key of a config's "training" section and the option it sets.
template <class Visit>
void visit_training_keys(IdentifyOptions& o, std::string& schedule, Visit&& visit) {
  visit("model", o.model);
  visit("num_products", o.model_options.num_products);
  visit("widths", o.model_options.widths);
  visit("activation", o.model_options.activation);
  visit("model_seed", o.model_options.seed);
  visit("iterations", o.iterations);
  visit("learning_rate", o.adam.learning_rate);
  visit("schedule", schedule);
  visit("final_lr_fraction", o.adam.final_lr_fraction);
  visit("clip_norm", o.adam.clip_norm);
  visit("batch_size", o.batch_size);
  visit("rollout_steps", o.rollout_steps);
  visit("tableau_init", o.tableau_init);
  visit("rtol", o.rtol);
  visit("atol", o.atol);
  visit("sindy_degree", o.sindy.degree);
  visit("sindy_threshold", o.sindy.threshold);
  visit("sindy_derivative", o.sindy.derivative);
  visit("seed", o.seed);
  visit("chunk_size", o.chunk_size);
  visit("warmup", o.adam.warmup);
  visit("meet_iterations", o.meet_iterations);
  visit("refine_iterations", o.refine_iterations);
  visit("refine_rollout_iterations", o.refine_rollout_iterations);
  visit("refine_rollout_steps", o.refine_rollout_steps);
  visit("lm_iterations", o.lm_iterations);
  visit("lm_rollout_steps", o.lm_rollout_steps);
  visit("lm_horizon_decay", o.lm_horizon_decay);
  visit("lm_max_parameters", o.lm_max_parameters);
  visit("on_divergence", o.on_divergence);
}

// Training options from a JSON object (config "training" section, or `section` = "solver_training.<solver>");
// unknown keys and wrong types refused, naming the file and the key.
void apply_training(const io::json& t, const std::string& where, IdentifyOptions& o, std::string& schedule,
                    const std::string& section = "training") {
  if (!t.is_object()) throw std::runtime_error(where + ": " + section + ": expected an object");
  std::vector<std::string> keys;
  {
    IdentifyOptions unused;
    std::string unused_schedule;
    visit_training_keys(unused, unused_schedule, [&](const char* key, auto&) { keys.emplace_back(key); });
  }
  for (const auto& [k, v] : t.items())
    if (std::find(keys.begin(), keys.end(), k) == keys.end())
      throw std::runtime_error(where + ": " + section + "." + k + ": unknown key");
  visit_training_keys(o, schedule, [&](const char* key, auto& into) {
    if (!t.contains(key)) return;
    try {
      into = t.at(key).template get<std::decay_t<decltype(into)>>();
    } catch (const io::json::exception&) {
      throw std::runtime_error(where + ": " + section + "." + key + ": wrong type");
    }
  });
}

void run_one(const Dataset& d, const std::string& data_label, IdentifyOptions o, const std::string& out,
             const IdentifyArgs& a) {
  const bool quiet = a.quiet;
  if (auto e = o.validation_error(); !e.empty()) throw std::invalid_argument(e);
  if (a.forecast_steps > 0 && d.test.num_times() <= a.forecast_steps)  // issue 15: refused before training
    throw std::invalid_argument(fmt::format("--forecast-steps {}: the test split has {} samples per trajectory, "
                                            "no start state with {} after it", a.forecast_steps, d.test.num_times(),
                                            a.forecast_steps));
  check_enough_samples(d, data_label, o);
  io::check_writable_directory(out);
  const std::filesystem::path dir(out), checkpoint = dir / "checkpoint.h5";
  // What a checkpoint must match to be resumed: the options (threads aside: results do not depend on them) and data.
  const io::json configuration = {{"options", options_json(o)},
                                  {"data", data_label},
                                  {"h", d.h},
                                  {"train", {d.train.num_trajectories(), d.train.num_times(), d.dim()}},
                                  {"test", {d.test.num_trajectories(), d.test.num_times(), d.dim()}}};
  const std::uint64_t data_hash = io::content_hash(d);
  std::optional<io::IdentifyCheckpointFile> saved;
  IdentifyHooks hooks;
  if (a.resume) {
    if (std::filesystem::exists(checkpoint)) {
      saved = read_hdf5_guarded(checkpoint.string(), "a checkpoint of trk identify",
                                [&] { return io::read_identify_checkpoint(checkpoint); });
      check_resumed_data(checkpoint.string(), saved->data_hash, data_hash, data_label, "identify");
      if (saved->configuration != configuration)
        throw std::invalid_argument(checkpoint.string() + ": configuration: the checkpoint is of another run (options "
                                    "or data differ); remove it or run without --resume");
      hooks.resume = &saved->state;
      if (!quiet)
        fmt::print(stderr, "identify: resuming {} from {} iteration {}\n", out, saved->state.phase,
                   saved->state.iteration + 1);
    } else if (std::filesystem::exists(dir / "identify.json")) {
      if (!quiet) fmt::print(stderr, "identify: {} is done already (identify.json, no checkpoint)\n", out);
      return;
    }
  }
  if (std::filesystem::is_directory(dir)) io::remove_stale_temporaries(dir);  // left by a killed run
  hooks.checkpoint_every = a.checkpoint_every;
  hooks.stop_requested = [] { return stop_signal() != 0; };
  hooks.save = [&](const IdentifyCheckpoint& c) {
    io::ensure_writable_directory(dir);
    io::write_identify_checkpoint(checkpoint, c, configuration, data_hash);
  };
  install_stop_handlers();
  const bool tty = !quiet && ::isatty(STDERR_FILENO);
  if (!quiet) fmt::print(stderr, "identify: {} h={} solver={} model={}\n", data_label, d.h, o.solver, o.model);
  IdentifySummary s = identify(
      d, o,
      [&](const std::string& line) {
        if (!quiet) fmt::print(stderr, "{}identify: {}{}", tty ? "\r\033[K" : "", line, tty ? "" : "\n");
      },
      hooks);
  if (tty) fmt::print(stderr, "\n");
  if (s.status == "interrupted") {
    const int sig = stop_signal();
    throw Interrupted(fmt::format("interrupted by {}: checkpoint written to {}; continue with the same command and "
                                  "--resume", sig == SIGTERM ? "SIGTERM" : "SIGINT", checkpoint.string()),
                      sig);
  }
  const io::json row = io::identify_to_json(s, d, data_label);
  io::ensure_writable_directory(dir);
  io::write_model_h5(dir / "model.h5", s, row, options_json(o));
  io::json full = row;
  full["configuration"] = options_json(o);
  io::write_json_atomic(dir / "identify.json", full);
  std::error_code ignored;
  std::filesystem::remove(checkpoint, ignored);  // the results are complete
  if (a.forecast_steps > 0)  // issue 15: forecasts over a horizon
    io::write_forecast_of(dir / "forecast.h5", s.flow_map, d, data_label, a.forecast_steps, a.forecast_every);
  auto cell = [](const ForecastScore& f) { return f.diverged ? std::string("> 10") : fmt::format("{:.4g}", f.rmse); };
  fmt::print("{} h={} {}: rmse t0+h {}, t0+4h {} ({} test states; {} iterations, {:.1f} s) -> {}\n", d.system, d.h,
             o.solver, cell(s.evaluation.at_h), cell(s.evaluation.at_4h), s.evaluation.num_states, s.iterations,
             s.train_seconds, (dir / "identify.json").string());
  end_stop_handling((dir / "identify.json").string() + ", " + (dir / "model.h5").string());
}

void run_evaluate(const IdentifyArgs& a) {
  if (a.data.empty()) throw std::invalid_argument("--evaluate needs --data OTHER.h5");
  if (a.out.empty()) throw std::invalid_argument("--out is required");
  io::check_writable_directory(a.out);
  io::LoadedModel m =
      read_hdf5_guarded(a.evaluate, "a model.h5 of trk identify", [&] { return io::read_model_h5(a.evaluate); });
  const Dataset d = read_dataset_bounded(a.data);
  if (d.dim() != m.flow_map.field->dim())
    throw std::invalid_argument(a.data + ": dimension " + std::to_string(d.dim()) + ", the model's is " +
                                std::to_string(m.flow_map.field->dim()));
  const bool fixed_step = m.flow_map.solver.kind == SolverKind::kFixed || m.flow_map.solver.kind == SolverKind::kTrainable;
  if (fixed_step && std::abs(d.h - m.flow_map.h) > 1e-9 * m.flow_map.h)
    throw std::invalid_argument(a.data + ": h = " + fmt::format("{}", d.h) + ", but the " + m.flow_map.solver.name +
                                " model was trained for one step of h = " + fmt::format("{}", m.flow_map.h));
  m.flow_map.h = d.h;
  const EvaluateSummary e = evaluate_forecasts(m.flow_map, d.test);
  const io::json row = io::evaluation_to_json(m.row, e, d, a.data, a.evaluate);
  io::ensure_writable_directory(a.out);
  io::write_json_atomic(std::filesystem::path(a.out) / "identify.json", row);
  if (a.forecast_steps > 0)  // issue 15: forecasts over a horizon
    io::write_forecast_of(std::filesystem::path(a.out) / "forecast.h5", m.flow_map, d, a.data, a.forecast_steps,
                          a.forecast_every);
  fmt::print("evaluated {} on {}: rmse t0+h {}, t0+4h {} -> {}/identify.json\n", a.evaluate, a.data,
             e.at_h.diverged ? "> 10" : fmt::format("{:.4g}", e.at_h.rmse),
             e.at_4h.diverged ? "> 10" : fmt::format("{:.4g}", e.at_4h.rmse), a.out);
}

// Config: {"system": .., "generate": {...}, "h": [..], "solvers": [..], "training": {...},
//          "solver_training": {"dopri8": {...}}, "out": DIR}: cells run one after the other into DIR/h<h>/<solver>.
void run_config(IdentifyArgs& a, const std::function<bool(const char*)>& given) {
  const io::json j = io::read_json_file(a.config);
  const std::string& where = a.config;
  auto fail = [&](const std::string& field, const std::string& what) {
    throw std::runtime_error(where + ": " + field + ": " + what);
  };
  // A value of the config, converted to the type of `into` (kept when absent); a wrong type names the field.
  auto get = [&](const io::json& obj, const char* key, auto& into, const std::string& field) {
    if (!obj.contains(key)) return;
    try {
      into = obj.at(key).get<std::decay_t<decltype(into)>>();
    } catch (const io::json::exception&) {
      fail(field, "wrong type");
    }
  };
  static const std::vector<std::string> top = {"description", "system", "parameters", "data", "generate", "h",
                                               "solvers", "training", "solver_training", "out"};
  if (!j.is_object()) throw std::runtime_error(where + ": expected a JSON object");
  for (const auto& [k, v] : j.items())
    if (std::find(top.begin(), top.end(), k) == top.end()) fail(k, "unknown key");
  std::string out;
  get(j, "out", out, "out");
  if (given("--out")) out = a.out;
  if (out.empty()) throw std::invalid_argument("--out is required (or \"out\" in the config)");
  std::vector<double> steps;
  get(j, "h", steps, "h");
  std::vector<std::string> solvers;
  get(j, "solvers", solvers, "solvers");
  if (given("--solver")) solvers = {a.options.solver};
  if (solvers.empty()) fail("solvers", "expected a non-empty list");
  IdentifyOptions base = a.options;
  std::string schedule = a.schedule;
  if (j.contains("training")) apply_training(j["training"], where, base, schedule);
  if (given("--iterations")) base.iterations = a.options.iterations;
  if (given("--meet-iterations")) base.meet_iterations = a.options.meet_iterations;
  if (given("--refine-iterations")) base.refine_iterations = a.options.refine_iterations;
  if (given("--lm-iterations")) base.lm_iterations = a.options.lm_iterations;
  base.adam.schedule = parse_lr_schedule(schedule);
  io::check_writable_directory(out);
  for (const std::string& solver : solvers) parse_solver(solver);
  if (j.contains("solver_training")) {
    if (!j["solver_training"].is_object()) fail("solver_training", "expected an object of solver names");
    for (const auto& [k, v] : j["solver_training"].items()) {
      try {
        parse_solver(k);
      } catch (const std::invalid_argument& e) {
        fail("solver_training." + k, e.what());
      }
    }
  }
  std::vector<std::pair<Dataset, std::string>> datasets;
  if (j.contains("data")) {
    if (!a.only_h.empty()) throw std::invalid_argument("--h selects steps of a config that generates its data; " + where + " names a data file");
    std::string path;
    get(j, "data", path, "data");
    datasets.emplace_back(read_dataset_bounded(path), path);
  } else {
    if (steps.empty()) fail("h", "expected a non-empty list of steps");
    GenerateOptions g;
    g.system = "lorenz63";
    get(j, "system", g.system, "system");
    if (j.contains("parameters")) {
      if (!j["parameters"].is_object()) fail("parameters", "expected an object of numbers");
      for (const auto& [k, v] : j["parameters"].items()) {
        if (!v.is_number()) fail("parameters." + k, "expected a number");
        g.parameters[k] = v.get<double>();
      }
    }
    if (j.contains("generate")) {
      const auto& gj = j["generate"];
      if (!gj.is_object()) fail("generate", "expected an object");
      for (const auto& [k, v] : gj.items())
        if (k != "train_steps" && k != "test_steps" && k != "test_trajectories" && k != "seed" && k != "noise")
          fail("generate." + k, "unknown key (train_steps, test_steps, test_trajectories, seed, noise)");
      get(gj, "train_steps", g.train_steps, "generate.train_steps");
      get(gj, "test_steps", g.test_steps, "generate.test_steps");
      get(gj, "test_trajectories", g.test_trajectories, "generate.test_trajectories");
      get(gj, "seed", g.seed, "generate.seed");
      get(gj, "noise", g.noise, "generate.noise");
    }
    if (!a.only_h.empty()) {
      for (double h : a.only_h)
        if (std::none_of(steps.begin(), steps.end(), [&](double s) { return std::abs(s - h) <= 1e-12 * s; }))
          throw std::invalid_argument(fmt::format("--h {}: not one of the config's steps ({})", h, fmt::join(steps, ", ")));
      steps = a.only_h;
    }
    for (double h : steps) {
      g.h = h;
      datasets.emplace_back(generate(g), fmt::format("{}(h={}, generated)", g.system, h));
    }
  }
  for (const auto& [d, label] : datasets)
    for (const std::string& solver : solvers) {
      IdentifyOptions o = base;
      o.solver = solver;
      if (j.contains("solver_training") && j["solver_training"].contains(solver)) {
        std::string s2 = to_string(o.adam.schedule);
        apply_training(j["solver_training"][solver], where, o, s2, "solver_training." + solver);
        o.adam.schedule = parse_lr_schedule(s2);
      }
      run_one(d, label, o, fmt::format("{}/h{}/{}", out, d.h, solver), a);
    }
}

void run_identify(IdentifyArgs& a, const std::function<bool(const char*)>& given) {
  if (!a.evaluate.empty()) return run_evaluate(a);
  if (!a.config.empty()) return run_config(a, given);
  if (a.data.empty()) throw std::invalid_argument("--data is required (or --config)");
  if (!a.only_h.empty()) throw std::invalid_argument("--h selects cells of a --config; a dataset's step is its own");
  if (a.out.empty()) throw std::invalid_argument("--out is required");
  a.options.adam.schedule = parse_lr_schedule(a.schedule);
  if (auto e = a.options.validation_error(); !e.empty()) throw std::invalid_argument(e);
  const Dataset d = read_dataset_bounded(a.data);
  run_one(d, a.data, a.options, a.out, a);
}

}  // namespace

void setup_identify(CLI::App& app) {
  auto a = std::make_shared<IdentifyArgs>();
  auto* cmd = app.add_subcommand("identify", "Learn a neural ODE with a trainable RK scheme (or a baseline) from data");
  cmd->add_option("--data", a->data, "dataset (trk-dataset HDF5)");
  cmd->add_option("--solver", a->options.solver, "trk10 (any trkQ) | rk4 | euler | dopri8 | sr")->capture_default_str();
  cmd->add_option("--model", a->options.model, "bilinear | mlp")->capture_default_str();
  cmd->add_option("--widths", a->options.model_options.widths, "mlp hidden widths, e.g. 64,64")->delimiter(',');
  cmd->add_option("--activation", a->options.model_options.activation, "mlp activation: tanh | relu");
  cmd->add_option("--iterations", a->options.iterations, "Adam iterations")->capture_default_str();
  cmd->add_option("--learning-rate", a->options.adam.learning_rate, "Adam learning rate")->capture_default_str();
  cmd->add_option("--schedule", a->schedule, "constant | cosine | exponential")->capture_default_str();
  cmd->add_option("--meet-iterations", a->options.meet_iterations,
                  "Adam iterations of the meet-in-the-middle continuation before the main phase (trkQ, dopri8)")
      ->capture_default_str();
  cmd->add_option("--refine-iterations", a->options.refine_iterations, "L-BFGS iterations after Adam (not sr)")
      ->capture_default_str();
  cmd->add_option("--lm-iterations", a->options.lm_iterations,
                  "Levenberg-Marquardt iterations on the 4-step residuals at the end (fixed-step)")
      ->capture_default_str();
  cmd->add_option("--batch-size", a->options.batch_size, "pairs per iteration (0: full batch)")->capture_default_str();
  cmd->add_option("--rollout-steps", a->options.rollout_steps, "K of the K-step rollout loss (1: one-step MSE)")
      ->capture_default_str();
  cmd->add_option("--tableau-init", a->options.tableau_init, "trk: euler_substeps | zeros | classical | a named tableau")
      ->capture_default_str();
  cmd->add_option("--rtol", a->options.rtol, "dopri8 relative tolerance")->capture_default_str();
  cmd->add_option("--atol", a->options.atol, "dopri8 absolute tolerance")->capture_default_str();
  cmd->add_option("--seed", a->options.seed, "seed of initialisation and mini-batches")->capture_default_str();
  cmd->add_option("--threads", a->options.threads, "OpenMP threads (default: OMP_NUM_THREADS or all cores)");
  cmd->add_option("--config", a->config, "JSON config of a grid (experiments/identify_l63.json)");
  cmd->add_option("--h", a->only_h, "with --config: run only the cells of these steps (with --solver: one cell)")
      ->delimiter(',');
  cmd->add_option("--evaluate", a->evaluate, "a model.h5 to evaluate on --data instead of training");
  cmd->add_option("--out", a->out, "output folder (identify.json, model.h5)");
  cmd->add_flag("--quiet", a->quiet, "no progress output");
  cmd->add_option("--on-divergence", a->options.on_divergence,
                  "on a non-finite loss: stop (keep the last good model) | lower_lr (restore it, halve the learning "
                  "rate, up to 10 times)")
      ->capture_default_str();
  cmd->add_option("--checkpoint-every", a->checkpoint_every,
                  "iterations between checkpoints in DIR/checkpoint.h5 (0: only on SIGINT/SIGTERM)")
      ->capture_default_str();
  cmd->add_flag("--resume", a->resume,
                "continue from DIR/checkpoint.h5 (same options and data); grid cells with results are skipped");
  // issue 15: forecasts
  cmd->add_option("--forecast-steps", a->forecast_steps,
                  "also write DIR/forecast.h5: predicted and true test trajectories over N steps, RMSE per lead time "
                  "(0: none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--forecast-every", a->forecast_every, "forecast from every K-th test state (with --forecast-steps)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->callback([a, cmd] {
    if (a->checkpoint_every < 0) throw std::invalid_argument("--checkpoint-every must be >= 0");
    a->options.model_options.seed = static_cast<std::uint64_t>(a->options.seed);
    run_identify(*a, [cmd](const char* flag) { return cmd->count(flag) > 0; });
  });
}

}  // namespace trk::cli
