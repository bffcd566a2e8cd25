// Losses on RK rollouts and their exact gradients by the discrete adjoint (rk_step_reverse).
// K-step rollout from Z_0 (dim x n) with a tableau (A, b) and step h, against targets Y_1 .. Y_K:
//   Z_k = Psi_h(Z_{k-1}),   L = (1 / (K n dim)) sum_{k=1..K} ||Z_k - Y_k||_F^2.
// Reverse: Z_bar_K = dL/dZ_K, Z_bar_{k-1} = Psi_h^T(Z_bar_k) + dL/dZ_{k-1}; A_bar, b_bar, theta_bar accumulate.
#pragma once
#include <vector>

#include "trk/field/vector_field.h"

namespace trk {

struct RolloutGradients {
  Mat* A_bar = nullptr;      // q x q, overwritten
  Vec* b_bar = nullptr;      // q, overwritten
  Vec* theta_bar = nullptr;  // num_params, overwritten
  Mat* Z0_bar = nullptr;     // dim x n, overwritten
};

struct RolloutLoss {
  double loss = 0.0;               // infinity when the rollout went non-finite (gradients are then zero)
  long num_dropped = 0;            // rollouts left out for exceeding the bound (rollout_mse_bounded)
  long num_function_evaluations = 0;
  long num_vjp_evaluations = 0;
};

// targets[k-1] = Y_k. Gradients are computed when any output pointer is given.
RolloutLoss rollout_mse(const VectorField& f, const Mat& A, const Vec& b, double h, const ConstMatRef& Z0,
                        const std::vector<Mat>& targets, const RolloutGradients& grads = {});

// The same loss over the rollouts that stay finite with max |z_i| < bound at every step; the others are left out
// (num_dropped) and the loss is the mean over the kept ones. Used where an unstable scheme would blow a few
// rollouts up. Z0_bar is not available here.
RolloutLoss rollout_mse_bounded(const VectorField& f, const Mat& A, const Vec& b, double h, const ConstMatRef& Z0,
                                const std::vector<Mat>& targets, double bound, const RolloutGradients& grads = {});

// Moment loss: the same rollouts, compared by the first and second moments of the batch instead of state by state.
// With W_k = S^-1 (Z_k - c), V_k = S^-1 (Y_k - c) (S = diag(scale), c = center: the data's climatology),
//   m_k = mean_i W_k,i - mean_i V_k,i,   C_k = mean_i W_k,i W_k,i^T - mean_i V_k,i V_k,i^T,
//   L = (1 / K) sum_k ||m_k||^2 + ||C_k||_F^2.
// For start states drawn from the invariant measure, the exact flow keeps these moments (L -> 0 as n grows); a
// scheme with a systematic drift of the attractor's mean or spread (a biased climatology) does not.
// Reverse: dL/dZ_k,i = (2 / (K n)) S^-1 (m_k + 2 C_k W_k,i), then the adjoint of the rollout as in rollout_mse.
RolloutLoss rollout_moment_loss(const VectorField& f, const Mat& A, const Vec& b, double h, const ConstMatRef& Z0,
                                const std::vector<Mat>& targets, const Vec& center, const Vec& scale,
                                const RolloutGradients& grads = {});

}  // namespace trk
