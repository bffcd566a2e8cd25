// Absolute-stability penalty on the trainable coefficients (A, b) of an explicit q-stage scheme:
//   P(A, b) = w * mean_{lambda in L} relu(|R(lambda h)| - tau)^2,   R(z) = sum_{k=0..q} gamma_k z^k,
//   gamma_k = b^T A^{k-1} 1,  tau = 1, or with exact_bound tau = max(1, |exp(lambda h)|) (no more growth than the
//   exact flow of dz/dt = lambda z).  Reverse mode: for |R| > tau,
//   dP/dgamma_k = (2 w / |L|) sum_lambda (|R| - tau) Re(conj(R) z^k) / |R|,  z = lambda h,
// then (A_bar, b_bar) by stability_polynomial_vjp. relu(|R| - tau) vanishes near R = 0, where |R| has no derivative.
#pragma once
#include <complex>
#include <string>
#include <vector>

#include "trk/core/types.h"

namespace trk {

struct StabilityPenaltyOptions {
  double weight = 1.0;                            // w
  double step = 0.1;                              // h
  std::vector<std::complex<double>> eigenvalues;  // L: a user list, or eigenvalues of the Jacobian of f
  bool exact_bound = false;                       // tau = max(1, |exp(lambda h)|) instead of 1
  // First bad field (weight >= 0, step > 0, finite eigenvalues), or "" when valid.
  std::string validation_error() const;
};

// P(A, b); 0 for an empty list. A is q x q strictly lower triangular, b has q entries. When given, A_bar and
// b_bar are set to dP/dA (zero on and above the diagonal) and dP/db.
double stability_penalty(const Mat& A, const Vec& b, const StabilityPenaltyOptions& options, Mat* A_bar = nullptr,
                         Vec* b_bar = nullptr);

}  // namespace trk
