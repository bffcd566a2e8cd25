// The memory a run needs, estimated before it starts from its options and shapes, so that a run that cannot fit
// is refused in a second instead of failing after minutes (std::bad_alloc) or being killed by the kernel.
// Pure arithmetic on counts; the command line compares the total with io::memory_limit() (cli/memory.h).
//
// In float64 values (8 bytes each), P parameters, n training pairs, K rollout steps, q stages, T threads:
//   model        P (1 + 2 T)                     the model, and per thread a copy and a gradient
//   optimiser    5 P + max((2 m + 5) P, LM)      Adam (parameters, last good, gradient, two moments), then L-BFGS
//                                                (m pairs s, y and 5 vectors) or Levenberg-Marquardt,
//                LM = 2 P^2 + T c K dim P        J^T J and its factorisation, a Jacobian block of c columns per thread
//   data         c (V + 16 N) + (K + 1) dim n    the dataset's V values and N trajectories (each its own block, the
//                                                allocator's header and its entry: 16 values' worth), held c times
//                                                (identify: 2, the data and the copy it trains on), and the training
//                                                pairs (start, K targets)
//   evaluation   (2 q_e + 4) dim E               a flow map of q_e stages applied to E states at once (identify: the
//                                                one-step loss of every training pair): starts, targets, result and
//                                                difference, the stages' states and slopes
//   activations  T (q K b (dim + a) + w)         per thread, the stage tape of the b columns it works on at once
//                                                (identify: a chunk) with a values per column a field saves for its
//                                                backward pass (an MLP: 2 x the sum of its widths), and the w
//                                                values of the field's scratch space (an MLP or local MLP: blocks
//                                                of 128 states or sites of every hidden layer and two of the widest)
//   checkpoint   (2 m + 5) P                     the optimiser state copied into a checkpoint (HDF5 writes from it)
//   forecast     3 (N + 1) dim s                 --forecast-steps N from s start states: predicted and true states
//                                                at every lead time, and the copy HDF5 writes from
//   stacks       (T - 1) S bytes                 the stacks of the OpenMP threads beyond the first (S each: the
//                                                thread stack size, ulimit -s; address space under ulimit -v)
// How the estimate compares with measured peaks: docs/design.md (memory bound).
#pragma once
#include <string>

#include "trk/experiment/fit.h"
#include "trk/experiment/generate.h"
#include "trk/experiment/identify.h"

namespace trk {

struct MemoryInputs {
  double num_params = 0;             // P: model and scheme parameters (make_model(...)->num_params() + scheme)
  int dim = 0;
  double dataset_values = 0;         // V: float64 values of the dataset (states and t of every split)
  double trajectories = 0;           // N: trajectories of every split
  int dataset_copies = 1;            // c
  double evaluation_columns = 0;     // E
  int evaluation_stages = 0;         // q_e
  double train_pairs = 0;            // n
  double tape_columns = 0;           // b: columns a thread works on at once (identify: min(chunk_size, batch))
  int rollout_steps = 1;             // K (the largest of the phases)
  int stages = 1;                    // q (an adaptive solver: its stages times the accepted steps per h)
  double activations_per_column = 0; // a
  double workspace_per_thread = 0;   // w
  int threads = 1;                   // T
  int lbfgs_memory = 0;              // m; 0: no L-BFGS phase
  double lm_parameters = 0;          // P when Levenberg-Marquardt runs, else 0
  double lm_chunk_columns = 0;       // c
  int lm_rollout_steps = 0;
  bool checkpoints = true;           // periodic or on-signal checkpoints may be written
  double thread_stack_bytes = 8 << 20;  // S (glibc's default under ulimit -s 8192)
};

// In bytes, by part (see the top of this file).
struct MemoryEstimate {
  double model = 0, optimiser = 0, data = 0, evaluation = 0, activations = 0, checkpoint = 0, forecast = 0, stacks = 0;
  double total() const {
    return model + optimiser + data + evaluation + activations + checkpoint + forecast + stacks;
  }
};

MemoryEstimate estimate_memory(const MemoryInputs& in);

// The inputs of a run of identify (identify.h) or fit_sweep (fit.h) on `data`, from their options. Nothing of the
// size of the run is allocated (the model's parameters are counted by field/models.h model_num_params).
MemoryInputs identify_memory_inputs(const IdentifyOptions& o, const Dataset& data);
MemoryInputs fit_memory_inputs(const FitOptions& o, const Dataset& data, const std::vector<double>& steps);

// The forecast part of a run writing forecast.h5: `steps` steps from every `start_every`-th test state that has
// `steps` samples after it (experiment/forecast.h).
double estimate_forecast_memory(const Split& test, int steps, int start_every);

// trk generate: the samples (train_steps + 1 + test_trajectories (test_steps + 1) states of dim values, and t)
// held twice: the dataset, and the C-order copy of a split being written.
MemoryEstimate estimate_generate_memory(const GenerateOptions& options, int dim);

}  // namespace trk
