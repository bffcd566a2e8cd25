// Trainable explicit scheme TRK_q: parameters x = [a_ij for i > j, row by row (a_10, a_20, a_21, a_30, ...),
// then b_0 .. b_{q-1}], q(q-1)/2 + q entries (the column layout of order_condition_system); c = row sums of A.
// Order constraint: sum b = 1 held exactly by the Euclidean projection b <- b - ((1^T b - 1) / q) 1; higher
// orders p by the minimum-norm Gauss-Newton projection x <- x - J^T (J J^T)^+ r(x) onto {r_t(x) = 0, |t| <= p}.
#pragma once
#include <optional>
#include <string>

#include "trk/tableau/butcher_tableau.h"

namespace trk {

// classical: euler, midpoint, kutta3, rk4, dopri5, dop853, dopri8 for q = 1, 2, 3, 4, 7, 12, 13, else Euler sub-steps;
// zeros: the authors' A = 0, b = 1/q; euler_substeps: a_ij = 1/q (j < i), b_i = 1/q (q Euler steps of h/q);
// rk4_substeps (q a multiple of 4): q/4 classical RK4 steps of 4h/q (composition.h);
// or any named tableau (e.g. "rk38") with q stages.
std::string validate_trainable_init(const std::string& init, int q);  // "" or what is wrong

class TrainableTableau {
 public:
  TrainableTableau(int num_stages, const std::string& init);
  static TrainableTableau from_tableau(const ButcherTableau& t);

  int num_stages() const { return q_; }
  static int num_params(int q) { return q * (q - 1) / 2 + q; }
  const Vec& params() const { return x_; }
  void set_params(const Vec& x);

  Mat A() const;
  Vec b() const;
  ButcherTableau tableau(const std::string& name) const;
  // Packs dL/dA (strictly lower part) and dL/db into the parameter layout.
  Vec pack_gradient(const Mat& A_bar, const Vec& b_bar) const;

  // sum b = 1 (exact up to rounding).
  void project_consistency();
  // All conditions of order <= p (p >= 1). Returns the largest residual left (p = 1: |sum b - 1|).
  double project_order(int p, int max_iterations = 30);

 private:
  explicit TrainableTableau(int q) : q_(q), x_(Vec::Zero(num_params(q))) {}
  int q_;
  Vec x_;
};

}  // namespace trk
