#include "trk/experiment/memory_estimate.h"

#include <algorithm>

namespace trk {

namespace {
constexpr double kBytes = 8;  // one float64
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
  e.data = kBytes * (in.dataset_values + (in.rollout_steps + 1.0) * in.dim * in.train_pairs);
  e.activations = kBytes * T * in.stages * std::max(1, in.rollout_steps) * in.tape_columns *
                  (in.dim + in.activations_per_column);
  e.checkpoint = in.checkpoints ? kBytes * (2 * m + 5) * P : 0;
  return e;
}

MemoryEstimate estimate_generate_memory(const GenerateOptions& o, int dim) {
  const double samples = (o.train_steps + 1.0) + static_cast<double>(o.test_trajectories) * (o.test_steps + 1.0);
  MemoryEstimate e;
  e.data = 2 * kBytes * samples * (dim + 1);
  return e;
}

}  // namespace trk
