// trk generate: sample a known system with the reference integrator and write a trk-dataset HDF5 file; or
// (--from ONE.h5 --split f_train,f_val,f_test) cut a file's one training trajectory into train, validation, test.
#include <fmt/core.h>
#include <unistd.h>

#include <stdexcept>

#include "cli/commands.h"
#include "cli/memory.h"
#include "cli/options_flags.h"
#include "cli/parse.h"
#include "trk/experiment/generate.h"
#include "trk/experiment/memory_estimate.h"
#include "trk/experiment/split.h"
#include "trk/field/systems.h"
#include "trk/io/atomic_file.h"
#include "trk/io/dataset_io.h"
#include "trk/io/json_io.h"

namespace trk::cli {
namespace {

struct GenerateArgs {
  GenerateOptions options;
  std::vector<std::string> params;
  std::vector<double> initial_state;
  std::string out;
  bool quiet = false;
  std::string from;                      // --from: split this file's trajectory instead of sampling a system
  std::vector<double> split = {0.7, 0.15, 0.15};
};

void run_split(const GenerateArgs& a) {
  if (a.split.size() != 3) throw std::invalid_argument("--split: expected three fractions train,validation,test");
  const SplitFractions f{a.split[0], a.split[1], a.split[2]};
  if (auto e = f.validation_error(); !e.empty()) throw std::invalid_argument("--split: " + e);
  const std::filesystem::path out(a.out);
  io::ensure_writable_directory(out.has_parent_path() ? out.parent_path() : ".");
  const Dataset one = read_hdf5_guarded(a.from, "a trk-dataset HDF5 file",
                                        [&] { return io::read_dataset(a.from, /*require_test=*/false); });
  const Dataset d = split_trajectory(one, f, a.from);
  io::write_dataset(out, d);
  fmt::print("wrote {}: {} h={} from {}: train {} / validation {} / test {} samples\n", a.out, d.system, d.h, a.from,
             d.train.num_times(), d.validation.num_times(), d.test.num_times());
}

void run_generate(const GenerateArgs& a) {
  if (!a.from.empty()) return run_split(a);
  GenerateOptions o = a.options;
  o.parameters = parse_parameters(a.params);
  if (!a.initial_state.empty()) o.initial_state = Eigen::Map<const Vec>(a.initial_state.data(), a.initial_state.size());
  if (auto err = o.validation_error(); !err.empty()) throw std::invalid_argument(err);
  // Everything about --out is checked before the work, and its folder is created only to write the file (and
  // removed again if that fails): a refused run leaves nothing behind.
  if (a.out.empty()) throw std::invalid_argument("--out: expected the path of the dataset file to write, found \"\"");
  const std::filesystem::path out(a.out), folder = out.has_parent_path() ? out.parent_path() : ".";
  io::check_replaceable(out);
  io::check_writable_directory(folder);
  check_memory("generate", estimate_generate_memory(o, static_cast<int>(make_system(o.system, resolve_parameters(
                                                                            o.system, o.parameters))->dim())),
               a.quiet);

  const bool progress = !a.quiet && ::isatty(STDERR_FILENO);
  Dataset d = generate(o, [&](long done, long total) {
    if (progress) fmt::print(stderr, "\rgenerate: {}/{} samples", done, total);
  });
  if (progress) fmt::print(stderr, "\n");
  const std::string integrator = reference_integrator(o.system);
  io::json gen = {{"integrator", integrator},
                  {"spin_up", o.resolved_spin_up()},
                  {"initial_state", io::to_json(o.initial_state.size() ? o.initial_state
                                                                     : default_initial_state(o.system, d.parameters))},
                  {"train_steps", o.train_steps},
                  {"test_steps", o.test_steps},
                  {"test_trajectories", o.test_trajectories},
                  {"test_gap", "uniform(10, 20) time units before each test trajectory, seeded"},
                  {"validation_steps", o.validation_steps},
                  {"validation_gap", "uniform(10, 20) time units after the test trajectories, seeded apart"},
                  {"noise", o.noise},
                  {"noise_on", "train, validation"},
                  {"program", "trk generate 0.1"}};
  if (integrator == "etdrk4") {
    gen["step"] = etdrk4_step_dividing(o.h, o.etdrk4_step);  // between samples (spans of the gaps: <= etdrk4_step)
    gen["etdrk4_step"] = o.etdrk4_step;
    gen["contour_points"] = 32;
    gen["space"] = "Fourier pseudo-spectral, no dealiasing";
  } else {
    gen["rtol"] = o.rtol;
    gen["atol"] = o.atol;
  }
  d.generator_json = gen.dump();
  io::NewDirectories folders;
  folders.create(folder);
  io::write_dataset(out, d);
  folders.keep();
  fmt::print("wrote {}: {} h={} train {}x{}x{} validation {}x{}x{} test {}x{}x{} (trajectories x times x dim) "
             "seed={}\n",
             a.out, d.system, d.h, d.train.num_trajectories(), d.train.num_times(), d.dim(),
             d.validation.num_trajectories(), d.validation.num_times(), d.dim(), d.test.num_trajectories(),
             d.test.num_times(), d.dim(), d.seed);
}

}  // namespace

void setup_generate(CLI::App& app) {
  auto a = std::make_shared<GenerateArgs>();
  auto* cmd =
      app.add_subcommand("generate", "Sample a known system (lorenz63, lorenz96, linear, ks) into a dataset");
  cmd->add_option("--system", a->options.system,
                  "lorenz63 | lorenz96 (n, F) | linear | ks (Kuramoto-Sivashinsky: L, n)")
      ->capture_default_str();
  // --step: -h is help; --h kept as an alias.
  add_number(cmd, "--step,--h", a->options.h, "sampling step (alias --h)")->capture_default_str();
  add_number(cmd, "--train-steps", a->options.train_steps, "one-step training pairs (samples - 1)")
      ->capture_default_str();
  add_number(cmd, "--test-steps", a->options.test_steps, "steps of each test trajectory")->capture_default_str();
  add_number(cmd, "--test-trajectories", a->options.test_trajectories, "number of test trajectories")
      ->capture_default_str();
  add_number(cmd, "--validation-steps", a->options.validation_steps,
                  "steps of the validation trajectory, after the test ones (0: none)")
      ->capture_default_str();
  add_number(cmd, "--seed", a->options.seed, "seed of the test starts and of the noise")->capture_default_str();
  add_number(cmd, "--noise", a->options.noise, "std of Gaussian noise added to the training and validation samples")
      ->capture_default_str();
  cmd->add_option("--param", a->params, "system parameter, e.g. --param rho=28 (repeatable)");
  add_number(cmd, "--spin-up", a->options.spin_up,
                  "time units before the first sample (default: lorenz63 5, lorenz96 20, linear 0, ks 200)");
  add_number(cmd, "--initial-state", a->initial_state, "start before the spin-up (default: lorenz63 8,0,30; ks cos(y)(1+sin(y))+0.1sin(3y), y = 2 pi x/L)");
  add_number(cmd, "--rtol", a->options.rtol, "reference DOP853 relative tolerance")->capture_default_str();
  add_number(cmd, "--atol", a->options.atol, "reference DOP853 absolute tolerance")->capture_default_str();
  add_number(cmd, "--etdrk4-step", a->options.etdrk4_step,
                  "ks: longest step of the reference ETDRK4 (the step used divides h)")
      ->capture_default_str();
  cmd->add_option("--out", a->out, "output HDF5 file")->required();
  cmd->add_flag("--quiet", a->quiet, "no progress output");
  cmd->add_option("--from", a->from,
                  "instead of sampling a system: a dataset with one training trajectory (no /test) to split with "
                  "--split into OUT's /train, /validation, /test");
  add_number(cmd, "--split", a->split, "with --from: fractions train,validation,test of the samples, in time order")
      ->capture_default_str();
  cmd->callback([a, cmd] {
    if (!a->from.empty())
      for (const char* o : {"--system", "--step", "--train-steps", "--test-steps", "--test-trajectories", "--seed",
                            "--validation-steps", "--noise", "--param", "--spin-up", "--initial-state", "--rtol",
                            "--atol", "--etdrk4-step"})
        if (cmd->count(o) > 0) throw std::invalid_argument(std::string(o) + ": not with --from (a split samples nothing)");
    if (a->from.empty() && cmd->count("--split") > 0) throw std::invalid_argument("--split needs --from ONE.h5");
    // Options of the other reference integrator are refused rather than ignored.
    const bool etdrk4 = reference_integrator(a->options.system) == "etdrk4";
    for (const char* o : {"--rtol", "--atol"})
      if (etdrk4 && cmd->count(o) > 0)
        throw std::invalid_argument(std::string(o) + ": an option of DOP853; " + a->options.system +
                                    " is integrated by ETDRK4 (--etdrk4-step)");
    if (!etdrk4 && cmd->count("--etdrk4-step") > 0)
      throw std::invalid_argument("--etdrk4-step: an option of ETDRK4 (ks); " + a->options.system +
                                  " is integrated by DOP853 (--rtol, --atol)");
    run_generate(*a);
  });
}

}  // namespace trk::cli
