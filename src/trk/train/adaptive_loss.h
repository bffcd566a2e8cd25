// Flow map over [0, h] by one adaptive solve of the whole batch (embedded pair, step size and error norm shared
// by the batch, as torchdiffeq solves a batch), and the MSE against targets:
//   Z_1 = Phi_h(Z_0),  L = (1 / (n dim)) ||Z_1 - Y||_F^2.
// The meet-in-the-middle variant (a continuation: a problem of step h/2) solves half a step forward from z_t and
// half a step backward from z_{t+h}:
//   L = (1 / (n dim)) ||Phi_{h/2}(Z_0) - Phi_{-h/2}(Y)||_F^2.
// Gradients flow through the accepted steps with their sizes held fixed (the controller's decisions are not
// differentiated): the solves keep the tape of each accepted step (AdaptiveOptions::record_tapes), which
// rk_step_reverse pulls back.
// NFE: forward = evaluations of the adaptive solves; backward = vector-Jacobian products.
#pragma once
#include "trk/core/status.h"
#include "trk/field/vector_field.h"
#include "trk/solve/integrate.h"
#include "trk/tableau/butcher_tableau.h"

namespace trk {

struct AdaptiveFlowLoss {
  double loss = 0.0;                 // infinity when a solve failed
  SolveStatus status = SolveStatus::kSuccess;
  SolveStats stats;                  // of the forward solve (the meet loss: both solves)
  long num_forward_evaluations = 0;
  long num_backward_evaluations = 0;
};

AdaptiveFlowLoss adaptive_flow_mse(const VectorField& f, const ButcherTableau& tableau, double h,
                                   const ConstMatRef& Z0, const ConstMatRef& Y, const AdaptiveOptions& options,
                                   Vec* theta_bar = nullptr);

AdaptiveFlowLoss adaptive_meet_mse(const VectorField& f, const ButcherTableau& tableau, double h,
                                   const ConstMatRef& Z0, const ConstMatRef& Y, const AdaptiveOptions& options,
                                   Vec* theta_bar = nullptr);

}  // namespace trk
