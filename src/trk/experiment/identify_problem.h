// The training problem of identify() (identify.h): parameters x = [theta; scheme parameters] (the scheme's only
// for trainable solvers: trainable_tableau.h's layout, of the half-step scheme in the continuation), and on the
// training pairs
//   the K-step rollout MSE (1 / (K n dim)) sum_k ||Psi^k(z_i) - z(t_i + k h)||^2 and its gradient,
//   the meet-in-the-middle MSE of step h/2 (train/meet_loss.h, train/adaptive_loss.h) and its gradient,
//   the residuals r = k^-d (Z_k - Y_k) / sqrt(K n dim), k = 1..K, plus a row 1e3 (sum b - 1), and J^T J, J^T r.
// J by forward differences, or (options.lm_jacobian = forward_mode, fields with VectorField::has_gradients) exact:
// the states' tangents with respect to all P
// parameters are carried through every stage of every step at once, as a P x dim block per state,
//   dY_i = dZ + h sum_j a_ij dK_j (+ h K_j on the row of a_ij),  dK_i = dY_i (df/dz(Y_i))^T + [df/dtheta(Y_i)^T; 0],
//   dZ_next = dZ + h sum_i b_i dK_i (+ h K_i on the row of b_i),
// (the continuation's m RK4 sub-steps stepped one by one), and J^T J gathered by a symmetric rank update.
// The pairs are cut into chunks of chunk_size columns on the threads, each thread with its own copy of the model;
// chunk results are summed in chunk order, so the numbers do not depend on the thread count. J^T J and J^T r are
// accumulated chunk by chunk: memory P^2 + threads x chunk rows x P, not the full Jacobian.
#pragma once
#include <memory>
#include <vector>

#include "trk/experiment/flow_map.h"
#include "trk/experiment/identify.h"
#include "trk/tableau/trainable_tableau.h"

namespace trk {

struct LossEval {
  double loss = 0.0;
  Vec grad;                                // in the layout of x
  long nfe_forward = 0, nfe_backward = 0;  // evaluations of f and of its vjp along one column, per iteration
};

class IdentifyProblem {
 public:
  // psi: solver, h, field (initialised) and, for fixed and adaptive solvers, tableau set.
  IdentifyProblem(FlowMap& psi, const IdentifyOptions& options);

  bool trainable() const { return trainable_; }
  bool adaptive() const { return adaptive_; }
  long num_theta() const { return n_theta_; }
  // The continuation: adaptive solvers, and trainable ones of 2 stages or more (two half steps of q/2 stages).
  bool has_continuation() const { return adaptive_ || (trainable_ && psi_.solver.stages >= 2); }
  // The substeps continuation (options.continuation; a model small enough for Levenberg-Marquardt).
  bool substeps() const { return substeps_; }
  // Iterations of the continuation (0: none).
  int continuation_iterations() const;
  // The starting parameters of the continuation (meet = true: theta and the half-step scheme, or theta alone for
  // substeps) or of the main phases.
  Vec initial_x(bool meet) const;
  // The continuation's layout to the main one: two half steps of h/2 as one TRK_q (tableau/composition.h), or
  // (substeps) theta and tableau_init.
  void compose(Vec& x);
  // sum b = 1 restored on the scheme part of x (the half-step scheme when meet).
  void retract(Vec& x, bool meet = false);
  // The gradient projected onto the tangent space of {sum b = 1}.
  Vec project_gradient(Vec g) const;
  // The flow map at x: psi's field parameters and (trainable) tableau.
  void set_flow_map(const Vec& x);

  // Loss and gradient at x on the columns `cols` of the pairs (all when empty).
  LossEval loss(const Pairs& pairs, const Vec& x, const std::vector<long>& cols = {}, bool meet = false);
  // continuation: x = theta, stepped by the fixed sub-step scheme (substeps), without the sum b row.
  Vec residuals(const Pairs& pairs, const Vec& x, bool continuation = false);
  void normal_equations(const Pairs& pairs, const Vec& x, const Vec& r, Mat& JTJ, Vec& JTr, bool continuation = false);

 private:
  struct Scheme {
    Mat A;
    Vec b;
  };
  Scheme scheme_at(const Vec& x);
  void chunk_residuals(const Pairs& P, long begin, long cols, VectorField& f, const Scheme& s, Vec& r) const;
  // The chunk's J^T J (lower triangle) and J^T r by forward mode; scheme_tangents: x holds the scheme after theta.
  // J^T J (lower triangle) and J^T r of one chunk by forward mode: `substeps` steps of (s, h) per residual step.
  void chunk_normal_equations(const Pairs& P, long begin, long cols, const VectorField& f, const Scheme& s, double h,
                              int substeps, bool scheme_tangents, const ConstVecRef& rc, Mat& JTJ, Vec& g) const;
  LossEval adaptive_loss(const Pairs& p, const Vec& x, bool meet);

  FlowMap& psi_;
  const IdentifyOptions& o_;
  bool trainable_, adaptive_, substeps_;
  long n_theta_;
  int threads_;
  double lm_horizon_decay_;  // d of the Levenberg-Marquardt residuals' weights k^-d, the solver's when unset
  TrainableTableau scheme_, half_;
  std::vector<std::unique_ptr<VectorField>> copies_;
};

}  // namespace trk
