// Integration of dz/dt = f(z) on a batch of states (dim x n), stepped together with one step size.
//   fixed:    num_steps steps of size h with any explicit tableau;
//   adaptive: embedded pair (dopri5, dopri8) from t0 to t1 with step-size control (step_control.h),
//             the last step shortened to land on t1; all columns share the step size and the error norm.
// Returns a Solution with a status (never throws on numerical failure) and statistics.
#pragma once
#include <functional>
#include <vector>

#include "trk/core/status.h"
#include "trk/field/vector_field.h"
#include "trk/solve/rk_step.h"
#include "trk/solve/step_control.h"
#include "trk/tableau/butcher_tableau.h"

namespace trk {

struct SolveStats {
  long num_function_evaluations = 0;  // batched evaluations of f
  long num_steps = 0;                 // attempted steps
  long num_accepted = 0;
  long num_rejected = 0;
};

struct Solution {
  Mat z;                              // state at t (the last finite state when status != success)
  double t = 0.0;
  SolveStatus status = SolveStatus::kSuccess;
  SolveStats stats;
  double next_step = 0.0;             // adaptive: proposed size of the next step (to continue a solve)
  std::vector<double> accepted_steps; // adaptive: sizes of accepted steps, when recorded
  std::vector<StageTape> tapes;       // adaptive: the tape of every accepted step, when recorded (record_tapes)
};

Solution integrate_fixed(const VectorField& f, const ButcherTableau& tableau, const ConstMatRef& Z0, double h,
                         long num_steps);

struct AdaptiveOptions {
  StepControlOptions control;
  double first_step = 0.0;            // 0: Hairer's initial-step heuristic
  double max_step = 0.0;              // 0: |t1 - t0|
  long max_steps = 100000;
  bool record_steps = false;          // fill Solution::accepted_steps (for a reverse pass with frozen steps)
  // Keep each accepted step's tape (stage inputs, derivatives, and the field's activations within StageTape's
  // budget) in Solution::tapes: the reverse pass then needs no replay of the accepted steps (the same numbers bit
  // for bit: a replay recomputes the same steps from the same states). The budget is per step: activations beyond
  // it are recomputed in the reverse pass instead of stored.
  bool record_tapes = false;
  // Recorded tapes beyond this many bytes end the solve with kMaxStepsReached: a learned field whose step size
  // collapses would otherwise fill the memory (2000 Lorenz-63 states keep 1.2 MB per dopri8 step).
  std::size_t max_tape_bytes = std::size_t{4} << 30;
};

// Requires tableau.has_error_estimate(); throws std::invalid_argument otherwise (a programming error).
Solution integrate_adaptive(const VectorField& f, const ButcherTableau& tableau, const ConstMatRef& Z0, double t0,
                            double t1, const AdaptiveOptions& options = {});

// Samples the flow at t0 + k h, k = 0 .. num_samples - 1, by successive adaptive solves over [t_k, t_k + h] that
// carry the step size over; calls sample(k, Z_k) for each. Statistics are summed over the solves.
Solution sample_adaptive(const VectorField& f, const ButcherTableau& tableau, const ConstMatRef& Z0, double t0,
                         double h, long num_samples, const AdaptiveOptions& options,
                         const std::function<void(long, const Mat&)>& sample);

}  // namespace trk
