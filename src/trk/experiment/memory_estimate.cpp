#include "trk/experiment/memory_estimate.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "trk/field/models.h"
#include "trk/tableau/trainable_tableau.h"

namespace trk {

namespace {
constexpr double kBytes = 8;                 // one float64
constexpr double kValuesPerTrajectory = 16;  // a trajectory's own block, header and entry, in float64 values
}  // namespace

MemoryEstimate estimate_memory(const MemoryInputs& in) {
  const double P = in.num_params, T = std::max(1, in.threads), m = in.lbfgs_memory;
  MemoryEstimate e;
  e.model = kBytes * P * (1 + 2 * T);
  const double lbfgs = m > 0 ? (2 * m + 5) * P : 0;
  const double lm = in.lm_parameters > 0 ? 2 * in.lm_parameters * in.lm_parameters +
                                               T * in.lm_chunk_columns * in.lm_rollout_steps * in.dim * in.lm_parameters
                                         : 0;
  e.optimiser = kBytes * (5 * P + std::max(lbfgs, lm));
  e.data = kBytes * (std::max(1, in.dataset_copies) * (in.dataset_values + kValuesPerTrajectory * in.trajectories) +
                     (in.rollout_steps + 1.0) * in.dim * in.train_pairs);
  e.evaluation = kBytes * (2.0 * in.evaluation_stages + 4) * in.dim * in.evaluation_columns;
  e.activations = kBytes * T *
                  (in.stages * std::max(1, in.rollout_steps) * in.tape_columns * (in.dim + in.activations_per_column) +
                   in.workspace_per_thread);
  e.checkpoint = in.checkpoints ? kBytes * (2 * m + 5) * P : 0;
  e.stacks = (T - 1) * in.thread_stack_bytes;
  return e;
}

namespace {
double values_of(const Split& s) {
  double v = 0;
  for (const auto& t : s.states) v += static_cast<double>(t.size());
  return v + static_cast<double>(s.t.size());
}
double values_of(const Dataset& d) { return values_of(d.train) + values_of(d.test) + values_of(d.validation); }
double trajectories_of(const Dataset& d) {
  return static_cast<double>(d.train.states.size() + d.test.states.size() + d.validation.states.size());
}
}  // namespace

double estimate_forecast_memory(const Split& test, int steps, int start_every) {
  if (steps < 1) return 0;
  double candidates = 0;
  for (const auto& t : test.states) candidates += std::max<double>(0, static_cast<double>(t.cols()) - steps);
  const double starts = std::ceil(candidates / std::max(1, start_every));
  return kBytes * 3 * (steps + 1.0) * test.dim() * starts;
}

MemoryInputs identify_memory_inputs(const IdentifyOptions& o, const Dataset& d) {
  const SolverSpec solver = parse_solver(o.solver);
  MemoryInputs in;
  in.dim = d.dim();
  in.dataset_values = values_of(d);
  in.trajectories = trajectories_of(d);
  in.dataset_copies = 2;  // identify trains on a copy (with the validation split held out when there is none)
  for (const auto& t : d.train.states) in.train_pairs += std::max<Eigen::Index>(0, t.cols() - 1);
  // The one-step losses of the training, validation and test pairs are each evaluated in one application.
  in.evaluation_columns = in.train_pairs;
  for (const Split* s : {&d.validation, &d.test}) {
    double states = 0;
    for (const auto& t : s->states) states += static_cast<double>(t.cols());
    in.evaluation_columns = std::max(in.evaluation_columns, states);
  }
  in.evaluation_stages = std::max(1, solver.stages);
  if (solver.kind == SolverKind::kSparseRegression) return in;
  in.num_params = model_num_params(o.model, d.dim(), o.model_options);
  const bool fixed = solver.fixed_step();
  if (solver.kind == SolverKind::kTrainable) in.num_params += TrainableTableau::num_params(solver.stages);
  const double batch = o.batch_size > 0 ? std::min<double>(o.batch_size, in.train_pairs) : in.train_pairs;
  in.tape_columns = std::min<double>(o.chunk_size, batch);
  in.rollout_steps = std::max({o.rollout_steps, fixed && o.refine_rollout_iterations > 0 ? o.refine_rollout_steps : 1,
                               fixed && o.lm_iterations > 0 ? o.lm_rollout_steps : 1});
  in.stages = solver.kind == SolverKind::kAdaptive ? solver.stages * 16 : solver.stages;  // ~16 accepted steps per h
  if (o.model == "mlp" || o.model == "local-mlp") {
    const std::vector<int>& widths = o.model_options.widths;
    double sum = 0, widest = 0;
    for (int w : widths) sum += w, widest = std::max<double>(widest, w);
    if (o.model == "mlp") in.activations_per_column = 2 * sum;
    const double outer = o.model == "mlp" ? 3.0 * d.dim() : 2.0 * (2 * o.model_options.stencil + 1) + 1;
    in.workspace_per_thread = 128 * (sum + 2 * std::max(widest, outer) + outer);
  }
  in.threads = o.threads > 0 ? o.threads : omp_get_max_threads();
  in.lbfgs_memory = o.refine_iterations > 0 || (fixed && o.refine_rollout_iterations > 0) ? o.refine_memory : 0;
  if (fixed && o.lm_iterations > 0 && in.num_params <= o.lm_max_parameters) in.lm_parameters = in.num_params;
  in.lm_chunk_columns = o.chunk_size;
  in.lm_rollout_steps = o.lm_rollout_steps;
  return in;
}

MemoryInputs fit_memory_inputs(const FitOptions& o, const Dataset& d, const std::vector<double>& steps) {
  MemoryInputs in;
  in.dim = d.dim();
  in.dataset_values = values_of(d);
  in.trajectories = trajectories_of(d);
  in.num_params = TrainableTableau::num_params(o.stages);
  double samples = 0;  // a mini-batch has at most one rollout per training sample
  for (const auto& t : d.train.states) samples += static_cast<double>(t.cols());
  in.tape_columns = std::min<double>(o.batch_size, samples);
  in.rollout_steps = o.rollout_steps;
  in.stages = o.stages;
  in.threads = 1;
  return in;
}

MemoryEstimate estimate_generate_memory(const GenerateOptions& o, int dim) {
  const double samples = (o.train_steps + 1.0) + static_cast<double>(o.test_trajectories) * (o.test_steps + 1.0);
  MemoryEstimate e;
  e.data = 2 * kBytes * samples * (dim + 1);
  return e;
}

}  // namespace trk
