// Meet-in-the-middle loss of one explicit RK scheme (A, b) on pairs (Z0, Z1) = (z_t, z_{t+h}):
//   L = (1 / (n dim)) ||Psi_{h/2}(Z0) - Psi_{-h/2}(Z1)||_F^2,
// half a step forward from z_t against half a step backward from z_{t+h}: a problem of step h/2, used as a
// continuation before training on the full step. Gradients by the reverse pass of both half steps:
//   M_bar = 2 (M_f - M_b) / (n dim) flows back through the forward half, -M_bar through the backward half.
#pragma once
#include "trk/field/vector_field.h"
#include "trk/train/losses.h"

namespace trk {

// grads.Z0_bar is not filled. num_function_evaluations / num_vjp_evaluations count both halves.
RolloutLoss meet_in_the_middle_mse(const VectorField& f, const Mat& A, const Vec& b, double h, const ConstMatRef& Z0,
                                   const ConstMatRef& Z1, const RolloutGradients& grads = {});

}  // namespace trk
