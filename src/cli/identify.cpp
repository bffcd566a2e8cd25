// trk identify: learn a neural ODE (or SINDy model) from a dataset with a given solver, or evaluate a trained
// model on other data (--evaluate), by its own flow map or its field integrated by another solver
// (--inference-solver, experiment/inference.h). A config runs a grid of (h, solver) cells, each in its own folder.
// Options: every training option is a flag and a config key, declared once (experiment/identify.h visit_fields);
// precedence: defaults < config "training" < config "solver_training.<solver>" < flags given.
#include <fmt/core.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "cli/checkpointed_run.h"
#include "cli/memory.h"
#include "cli/commands.h"
#include "cli/options_flags.h"
#include "cli/parse.h"
#include "trk/experiment/generate.h"
#include "trk/experiment/identify.h"
#include "trk/experiment/inference.h"
#include "trk/experiment/memory_estimate.h"
#include "trk/field/systems.h"
#include "trk/io/checkpoint_io.h"
#include "trk/io/dataset_io.h"
#include "trk/io/forecast_io.h"
#include "trk/io/memory_limit.h"
#include "trk/io/model_io.h"
#include "trk/io/options_io.h"

namespace trk::cli {
namespace {

struct IdentifyArgs {
  std::string data, out, config, evaluate;
  std::string solver = "trk10";
  IdentifyOptions flags;       // the values of the option flags (and the defaults)
  InferenceOptions inference;  // --evaluate: the integrator of the model's field
  std::vector<double> only_h;  // --config: run only the cells of these steps
  int forecast_steps = 0, forecast_every = 1;  // DIR/forecast.h5 over N steps when N > 0
  RunFlags run;
  const CLI::App* cmd = nullptr;
  bool given(const char* flag) const { return cmd->count(flag) > 0; }
};

// Flags of one model given for another are refused rather than ignored.
void check_model_flags(const IdentifyArgs& a, const IdentifyOptions& o) {
  const bool mlp = o.model == "mlp" || o.model == "local-mlp";
  const bool bilinear = o.model == "bilinear" || o.model == "local-bilinear";
  const bool local = o.model == "local-bilinear" || o.model == "local-mlp";
  if (!mlp && (a.given("--widths") || a.given("--activation")))
    throw std::invalid_argument("--widths and --activation are options of the mlp and local-mlp models, not of " +
                                o.model);
  if (!bilinear && a.given("--num-products"))
    throw std::invalid_argument("--products (--num-products) is an option of the bilinear and local-bilinear "
                                "models, not of " + o.model);
  if (!local && a.given("--stencil"))
    throw std::invalid_argument("--stencil is an option of the local-bilinear and local-mlp models, not of " +
                                o.model);
}

// The data of a cell are long enough for every rollout the options train on (after the validation samples are
// held out of a dataset without /validation), and the test and validation splits have a state with 4 samples after
// it to score.
void check_enough_samples(const Dataset& d, const std::string& label, const IdentifyOptions& o) {
  const SolverSpec solver = parse_solver(o.solver);
  for (const auto& [split, name] : {std::pair{&d.test, "test"}, std::pair{&d.validation, "validation"}})
    if (split->num_trajectories() > 0 && split->num_times() < 5)
      throw std::invalid_argument(fmt::format("{}: /{}/states: expected at least 5 time samples (a start and 4 steps "
                                              "to score), found {}", label, name, split->num_times()));
  if (solver.kind == SolverKind::kSparseRegression) return;
  const long n = d.train.num_times();
  const long held = d.validation.num_trajectories() > 0 ? 0 : std::max<long>(5, std::lround(o.validation_fraction * n));
  const bool fixed_step = solver.kind != SolverKind::kAdaptive;
  const std::pair<int, const char*> rollouts[] = {
      {o.rollout_steps, "--rollout-steps"},
      {fixed_step && o.refine_rollout_iterations > 0 ? o.refine_rollout_steps : 0, "--refine-rollout-steps"},
      {fixed_step && o.lm_iterations > 0 ? o.lm_rollout_steps : 0, "--lm-rollout-steps"}};
  for (const auto& [steps, flag] : rollouts) {
    const long need = 1 + std::max(steps, 1);
    if (n - held < need)
      throw std::invalid_argument(fmt::format(
          "{}: /train/states: expected at least {} time samples for {}-step rollouts ({} {}{}), found {}; give "
          "longer data or a shorter {}",
          label, need + held, steps, flag, steps,
          held > 0 ? fmt::format(", and {} held out for validation", held) : std::string(), n, flag));
  }
}

// --resume on a folder with results: they are of this run (options, data and step), or the command is refused
// rather than said to be done (an unreadable identify.json is run again and replaced).
void check_same_finished_run(const std::filesystem::path& results, const io::json& configuration,
                             const std::string& data_label, double h) {
  io::json j;
  try {
    j = io::read_json_file(results);
  } catch (const std::exception&) {
    return;
  }
  if (!j.is_object()) return;
  for (const auto& [key, now] : {std::pair<const char*, io::json>{"configuration", configuration},
                                 {"data", data_label}, {"h", h}})
    if (!j.contains(key) || j[key] != now)
      throw std::invalid_argument(fmt::format("{}: {}: a finished run of other options or data is there (--resume "
                                              "continues the same run only); give another --out, or remove {}",
                                              results.string(), key, results.parent_path().string()));
}

std::string cell(const ForecastScore& f) { return f.diverged ? std::string("> 10") : fmt::format("{:.4g}", f.rmse); }

void run_one(const Dataset& d, const std::string& data_label, const IdentifyOptions& o, const std::string& out,
             const IdentifyArgs& a) {
  if (auto e = o.validation_error(); !e.empty()) throw std::invalid_argument(e);
  check_enough_samples(d, data_label, o);
  if (a.forecast_steps > 0 && d.test.num_times() <= a.forecast_steps)  // refused before training
    throw std::invalid_argument(fmt::format("--forecast-steps {}: the test split has {} samples per trajectory, "
                                            "no start state with {} after it", a.forecast_steps, d.test.num_times(),
                                            a.forecast_steps));
  io::check_writable_directory(out);
  MemoryInputs memory = identify_memory_inputs(o, d);
  memory.thread_stack_bytes = static_cast<double>(io::thread_stack_bytes());
  MemoryEstimate estimate = estimate_memory(memory);
  estimate.forecast = estimate_forecast_memory(d.test, a.forecast_steps, a.forecast_every);
  check_memory("identify", estimate, a.run.quiet);
  const std::filesystem::path dir(out);
  const io::json configuration = io::identify_configuration(o);
  // What a checkpoint must match to be resumed: the options (threads aside: results do not depend on them) and data.
  const io::json run_configuration = {{"options", configuration},
                                      {"data", data_label},
                                      {"h", d.h},
                                      {"train", {d.train.num_trajectories(), d.train.num_times(), d.dim()}},
                                      {"test", {d.test.num_trajectories(), d.test.num_times(), d.dim()}}};
  CheckpointedRun<IdentifyCheckpoint, io::IdentifyCheckpointFile> run(
      {.command = "identify", .dir = dir, .configuration = run_configuration, .data_hash = io::content_hash(d),
       .data_label = data_label, .flags = a.run},
      io::read_identify_checkpoint, io::write_identify_checkpoint);
  const bool finished = std::filesystem::exists(dir / "identify.json");
  if (finished && a.run.resume && !run.has_checkpoint()) check_same_finished_run(dir / "identify.json", configuration,
                                                                                 data_label, d.h);
  if (run.done_already(finished)) return;
  const IdentifyHooks hooks = run.begin();
  if (hooks.resume && !a.run.quiet)
    fmt::print(stderr, "identify: resuming {} from {} iteration {}\n", out, to_string(hooks.resume->phase),
               hooks.resume->iteration + 1);
  const bool tty = !a.run.quiet && ::isatty(STDERR_FILENO);
  if (!a.run.quiet) fmt::print(stderr, "identify: {} h={} solver={} model={}\n", data_label, d.h, o.solver, o.model);
  IdentifySummary s = identify(
      d, o,
      [&](const std::string& line) {
        if (!a.run.quiet) fmt::print(stderr, "{}identify: {}{}", tty ? "\r\033[K" : "", line, tty ? "" : "\n");
      },
      hooks);
  if (tty) fmt::print(stderr, "\n");
  if (s.status == RunStatus::kInterrupted) run.interrupted();
  io::write_identify_results(dir, s, d, data_label, configuration);
  if (a.forecast_steps > 0)
    io::write_forecast_of(dir / "forecast.h5", s.flow_map, d, data_label, a.forecast_steps, a.forecast_every);
  fmt::print("{} h={} {}: rmse t0+h {}, t0+4h {} ({} test states; {} iterations, {:.1f} s) -> {}\n", d.system, d.h,
             o.solver, cell(s.evaluation.at_h), cell(s.evaluation.at_4h), s.evaluation.num_states, s.iterations,
             s.train_seconds, (dir / "identify.json").string());
  run.finish((dir / "identify.json").string() + ", " + (dir / "model.h5").string());
}

void run_evaluate(const IdentifyArgs& a) {
  if (a.data.empty()) throw std::invalid_argument("--evaluate needs --data OTHER.h5");
  // Evaluation trains nothing: a training flag would be ignored, so it is refused (threads and logging aside).
  std::vector<std::string> training = {"--solver", "--config", "--h", "--resume", "--checkpoint-every"};
  IdentifyOptions fields;
  visit_fields(fields, [&](const Field& f, auto&) {
    if (f.echoed) training.push_back(flag_name(f.key));
  });
  for (const std::string& flag : training)
    if (a.given(flag.c_str()))
      throw std::invalid_argument(flag + ": not with --evaluate (the model is evaluated as it was trained); remove "
                                  "it, or train a model without --evaluate");
  if (a.out.empty()) throw std::invalid_argument("--out is required");
  for (const auto& [flag, value] : {std::pair{"--inference-rtol", a.inference.rtol},
                                    std::pair{"--inference-atol", a.inference.atol}})
    if (a.given(flag) && !(value > 0))
      throw std::invalid_argument(fmt::format("{} {}: expected a tolerance > 0", flag, value));
  if (auto e = a.inference.validation_error(); !e.empty()) throw std::invalid_argument("--" + e);
  io::check_writable_directory(a.out);
  io::LoadedModel m =
      read_hdf5_guarded(a.evaluate, "a model.h5 of trk identify", [&] { return io::read_model_h5(a.evaluate); });
  const Dataset d = read_dataset_bounded(a.data);
  if (d.dim() != m.flow_map.field->dim())
    throw std::invalid_argument(a.data + ": dimension " + std::to_string(d.dim()) + ", the model's is " +
                                std::to_string(m.flow_map.field->dim()));
  // A scheme was trained for its step; a field integrated by an inference solver is stepped over any h.
  if (a.inference.solver.empty() && m.flow_map.solver.fixed_step() &&
      std::abs(d.h - m.flow_map.h) > 1e-9 * m.flow_map.h)
    throw std::invalid_argument(a.data + ": h = " + fmt::format("{}", d.h) + ", but the " + m.flow_map.solver.name +
                                " model was trained for one step of h = " + fmt::format("{}", m.flow_map.h));
  m.flow_map.h = d.h;
  const FlowMap psi = with_inference_solver(std::move(m.flow_map), a.inference);
  MemoryEstimate estimate;
  estimate.forecast = estimate_forecast_memory(d.test, a.forecast_steps, a.forecast_every);
  check_memory("identify", estimate, true);
  if (d.test.num_times() < 5)
    throw std::invalid_argument(fmt::format("{}: /test/states: expected at least 5 time samples (a start and 4 steps "
                                            "to score), found {}", a.data, d.test.num_times()));
  const EvaluateSummary e = evaluate_forecasts(psi, d.test);
  io::ensure_writable_directory(a.out);
  io::write_evaluation_json(std::filesystem::path(a.out) / "identify.json", m.row, e, psi, d, a.data, a.evaluate);
  if (a.forecast_steps > 0)
    io::write_forecast_of(std::filesystem::path(a.out) / "forecast.h5", psi, d, a.data, a.forecast_steps,
                          a.forecast_every);
  fmt::print("evaluated {} on {}: rmse t0+h {}, t0+4h {} ({}{}, {:.4g} evaluations per step) -> {}/identify.json\n",
             a.evaluate, a.data, cell(e.at_h), cell(e.at_4h), psi.solver.name,
             psi.substeps > 1 ? fmt::format(" x {} sub-steps", psi.substeps) : std::string(),
             e.inference_nfe_per_step, a.out);
}

// Datasets of a config that generates its own: one per step h of the grid (or of --h).
std::vector<std::pair<Dataset, std::string>> generated_datasets(const io::json& j, const std::string& where,
                                                                const std::vector<double>& only_h) {
  std::vector<double> steps = io::read_key(j, "h", where, std::vector<double>{});
  if (steps.empty()) throw std::runtime_error(where + ": h: expected a non-empty list of steps");
  for (size_t i = 0; i < steps.size(); ++i) {
    if (!(steps[i] > 0)) throw std::runtime_error(fmt::format("{}: h[{}]: expected a step > 0, found {}", where, i, steps[i]));
    for (size_t k = 0; k < i; ++k)
      if (std::abs(steps[k] - steps[i]) <= 1e-12 * steps[i])
        throw std::runtime_error(fmt::format("{}: h[{}]: {} is given twice (h[{}]); give each step once", where, i,
                                             steps[i], k));
  }
  GenerateOptions g;
  g.system = io::read_key(j, "system", where, std::string("lorenz63"));
  g.parameters = io::read_parameters(j, where);
  if (j.contains("generate")) {
    if (j["generate"].contains("h")) throw std::runtime_error(where + ": generate.h: the steps are the grid's \"h\"");
    io::read_fields(j["generate"], where + ": generate", g);
  }
  if (!only_h.empty()) {
    for (double h : only_h)
      if (std::none_of(steps.begin(), steps.end(), [&](double s) { return std::abs(s - h) <= 1e-12 * s; }))
        throw std::invalid_argument(fmt::format("--h {}: not one of the config's steps ({})", h, fmt::join(steps, ", ")));
    steps = only_h;
  }
  std::vector<std::pair<Dataset, std::string>> out;
  for (double h : steps) {
    g.h = h;
    check_memory("identify", estimate_generate_memory(g, make_system(g.system, g.parameters)->dim()), true);
    Dataset d = generate(g);
    d.generator_json = io::json({{"program", "trk identify --config"}, {"config", where}, {"noise", g.noise},
                                 {"noise_on", "train, validation"}}).dump();
    out.emplace_back(std::move(d), fmt::format("{}(h={}, generated)", g.system, h));
  }
  return out;
}

// Config: {"system": .., "parameters": {..}, "generate": {...}, "h": [..], "solvers": [..], "training": {...},
//          "solver_training": {"dopri8": {...}}, "out": DIR} (or "data": FILE instead of system, generate and h):
// cells run one after the other into DIR/h<h>/<solver>.
void run_config(IdentifyArgs& a) {
  const io::json j = io::read_json_file(a.config);
  const std::string& where = a.config;
  io::refuse_unknown_keys(j, where, {"description", "system", "parameters", "data", "generate", "h", "solvers",
                                     "training", "solver_training", "out"});
  const std::string configured_out = io::read_key(j, "out", where, std::string());
  const std::string out = a.given("--out") ? a.out : configured_out;
  if (out.empty()) throw std::invalid_argument("--out is required (or \"out\" in the config)");
  std::vector<std::string> solvers = io::read_key(j, "solvers", where, std::vector<std::string>{});
  if (a.given("--solver")) solvers = {a.solver};
  if (solvers.empty()) throw std::runtime_error(where + ": solvers: expected a non-empty list");
  for (size_t i = 0; i < solvers.size(); ++i) {
    parse_solver(solvers[i]);
    if (std::find(solvers.begin(), solvers.begin() + i, solvers[i]) != solvers.begin() + i)
      throw std::runtime_error(where + ": solvers: " + solvers[i] + " is given twice (each cell has its own folder; "
                               "give each solver once)");
  }
  IdentifyOptions base;
  if (j.contains("training")) io::read_fields(j["training"], where + ": training", base);
  const io::json per_solver = j.contains("solver_training") ? j["solver_training"] : io::json::object();
  if (!per_solver.is_object()) throw std::runtime_error(where + ": solver_training: expected an object of solver names");
  for (const auto& [k, v] : per_solver.items()) {
    try {
      parse_solver(k);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(where + ": solver_training." + k + ": " + e.what());
    }
  }
  io::check_writable_directory(out);
  std::vector<std::pair<Dataset, std::string>> datasets;
  if (j.contains("data")) {
    // The data file has its own step, system and parameters: keys that would make them are refused, not ignored.
    for (const char* key : {"h", "system", "parameters", "generate"})
      if (j.contains(key))
        throw std::runtime_error(where + ": " + key + ": not with \"data\" (the data file has its own step, system "
                                 "and parameters); remove one of them");
    if (!a.only_h.empty())
      throw std::invalid_argument("--h selects steps of a config that generates its data; " + where + " names a data file");
    const std::string path = io::read_key(j, "data", where, std::string());
    datasets.emplace_back(read_dataset_bounded(path), path);
  } else {
    datasets = generated_datasets(j, where, a.only_h);
  }
  for (const auto& [d, label] : datasets)
    for (const std::string& solver : solvers) {
      IdentifyOptions o = base;
      o.solver = solver;
      if (per_solver.contains(solver)) io::read_fields(per_solver[solver], where + ": solver_training." + solver, o);
      apply_given(o, a.flags, a.cmd);
      check_model_flags(a, o);
      run_one(d, label, o, fmt::format("{}/h{}/{}", out, d.h, solver), a);
    }
}

void run_identify(IdentifyArgs& a) {
  if (!a.evaluate.empty()) return run_evaluate(a);
  visit_fields(a.inference, [&](const Field& f, auto&) {
    if (a.given(flag_name(f.key).c_str()))
      throw std::invalid_argument(flag_name(f.key) + ": only with --evaluate MODEL (training steps the model by "
                                  "--solver); remove it, or give --evaluate");
  });
  if (!a.config.empty()) return run_config(a);
  if (a.data.empty()) throw std::invalid_argument("--data is required (or --config)");
  if (!a.only_h.empty()) throw std::invalid_argument("--h selects cells of a --config; a dataset's step is its own");
  if (a.out.empty()) throw std::invalid_argument("--out is required");
  IdentifyOptions o = a.flags;
  o.solver = a.solver;
  check_model_flags(a, o);
  if (auto e = o.validation_error(); !e.empty()) throw std::invalid_argument(e);
  const Dataset d = read_dataset_bounded(a.data);
  run_one(d, a.data, o, a.out, a);
}

}  // namespace

void setup_identify(CLI::App& app) {
  auto a = std::make_shared<IdentifyArgs>();
  auto* cmd = app.add_subcommand("identify", "Learn a neural ODE with a trainable RK scheme (or a baseline) from data");
  a->cmd = cmd;
  cmd->add_option("--data", a->data, "dataset (trk-dataset HDF5)");
  cmd->add_option("--solver", a->solver, solver_choices())->capture_default_str();
  add_flags(cmd, a->flags);
  cmd->add_option("--config", a->config, "JSON config of a grid (experiments/identify_l63.json)");
  add_number(cmd, "--h", a->only_h, "with --config: run only the cells of these steps (with --solver: one cell)");
  cmd->add_option("--evaluate", a->evaluate, "a model.h5 to evaluate on --data instead of training");
  add_flags(cmd, a->inference);
  cmd->add_option("--out", a->out, "output folder (identify.json, model.h5)");
  add_number(cmd, "--forecast-steps", a->forecast_steps,
                  "also write DIR/forecast.h5: predicted and true test trajectories over N steps, RMSE per lead time "
                  "(0: none)")
      ->capture_default_str()
      ->check(at_least(0, "NONNEGATIVE"));
  add_number(cmd, "--forecast-every", a->forecast_every, "forecast from every K-th test state (with --forecast-steps)")
      ->capture_default_str()
      ->check(at_least(1, "POSITIVE"));
  add_run_flags(cmd, a->run,
                "continue from DIR/checkpoint.h5 (same options and data); grid cells with results are skipped");
  cmd->callback([a] { run_identify(*a); });
}

}  // namespace trk::cli
