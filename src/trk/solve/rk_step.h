// One explicit Runge-Kutta step on a batch of states, and its reverse pass (discrete adjoint), side by side.
//   forward:  Y_i = Z + h sum_{j<i} a_ij K_j,   K_i = f(Y_i),   Z_next = Z + h sum_i b_i K_i
//   reverse:  given Z_next_bar, for i = q-1 .. 0:
//               K_bar_i = h b_i Z_next_bar + h sum_{l>i} a_li Y_bar_l,   Y_bar_i = (df/dz(Y_i))^T K_bar_i
//             Z_bar = Z_next_bar + sum_i Y_bar_i,   b_bar_i = h <Z_next_bar, K_i>,   a_bar_li = h <Y_bar_l, K_i>,
//             theta_bar += sum_i (df/dtheta(Y_i))^T K_bar_i,   h_bar = <Z_next_bar, sum_i b_i K_i> + sum_l <Y_bar_l, sum_j a_lj K_j>
#pragma once
#include <cstddef>
#include <vector>

#include "trk/field/vector_field.h"
#include "trk/tableau/butcher_tableau.h"

namespace trk {

// Stage inputs Y_i and stage derivatives K_i of one step (what the reverse pass needs), and the field's
// activations at each stage (FieldActivations) when keep_activations is set and they take at most
// kActivationBudget doubles for the step (4 MiB: an MLP 3-64-64-3 step of up to 16 stages on identify's chunks of
// 250 states keeps them; an MLP adaptive solve of a whole batch, whose replay keeps every step's tape, recomputes).
// Kept or not, the reverse pass gives the same numbers bit for bit.
struct StageTape {
  static constexpr Eigen::Index kActivationBudget = Eigen::Index{1} << 19;
  std::vector<Mat> Y, K;
  std::vector<FieldActivations> activations;
  bool keep_activations = true;
  void resize(int num_stages, int dim, Eigen::Index n);
  std::size_t bytes() const;  // memory held by the stage matrices and the saved activations
};

// First-stage reuse: when K1 = f(Z) is already known (FSAL, or a rejected step retried), pass it in tape.K[0]
// and set k1_known; the step then costs q - 1 evaluations.
void rk_step(CountedField& f, const Mat& A, const Vec& b, double h, const ConstMatRef& Z, MatRef Z_next,
             StageTape& tape, bool k1_known = false);

inline void rk_step(CountedField& f, const ButcherTableau& t, double h, const ConstMatRef& Z, MatRef Z_next,
                    StageTape& tape, bool k1_known = false) {
  rk_step(f, t.A, t.b, h, Z, Z_next, tape, k1_known);
}

// Gradients of one step, accumulated (+=) into the outputs that are given (nullptr: not wanted).
struct StepGradients {
  Mat* Z_bar = nullptr;       // dim x n, overwritten
  Vec* theta_bar = nullptr;   // num_params, accumulated
  Mat* A_bar = nullptr;       // q x q, accumulated (strictly lower part)
  Vec* b_bar = nullptr;       // q, accumulated
  double* h_bar = nullptr;    // accumulated
};

void rk_step_reverse(CountedField& f, const Mat& A, const Vec& b, double h, const StageTape& tape,
                     const ConstMatRef& Z_next_bar, const StepGradients& out);

}  // namespace trk
