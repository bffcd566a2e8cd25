// Butcher tableau (A, b, c) of a q-stage Runge-Kutta scheme, with optional embedded error weights:
//   k_i = f(z + h sum_j a_ij k_j),  z_next = z + h sum_i b_i k_i,  err = h sum_i e_i k_i  (sum e = 0).
// A second error-weight vector carries DOP853's third-order estimate (Hairer's combined error norm).
#pragma once
#include <optional>
#include <string>

#include "trk/core/types.h"

namespace trk {

struct ButcherTableau {
  std::string name;
  Mat A;                           // q x q
  Vec b;                           // q
  Vec c;                           // q, row sums of A
  std::optional<Vec> error_weights;            // e = b - b_hat, sum e = 0
  std::optional<Vec> secondary_error_weights;  // DOP853: b - b_hat3
  int order = 0;                   // claimed order of b (0: unknown)
  int embedded_order = 0;          // order of the embedded solution (0: none)
  std::string citation;

  int num_stages() const { return static_cast<int>(b.size()); }
  bool is_explicit() const;        // A strictly lower triangular
  bool has_error_estimate() const { return error_weights.has_value(); }
  // First problem found (shapes, explicit, row sums = c, sum b = 1, sum e = 0), or "" when valid.
  std::string validation_error(double tol = 1e-10) const;
};

// Builds a tableau with c = row sums of A, validates it, throws std::invalid_argument naming the problem.
ButcherTableau make_explicit_tableau(std::string name, Mat A, Vec b);
void validate_or_throw(const ButcherTableau& t, double tol = 1e-10);

}  // namespace trk
