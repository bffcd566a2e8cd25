#include "trk/train/stability_penalty.h"
#include "trk/core/number_text.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "trk/tableau/stability.h"

namespace trk {

std::string StabilityPenaltyOptions::validation_error() const {
  if (!std::isfinite(weight) || weight < 0) return "weight must be finite and >= 0, got " + number_text(weight);
  if (!std::isfinite(step) || step <= 0) return "step must be finite and > 0, got " + number_text(step);
  for (const auto& lambda : eigenvalues)
    if (!std::isfinite(lambda.real()) || !std::isfinite(lambda.imag())) return "eigenvalues has a non-finite entry";
  return "";
}

double stability_penalty(const Mat& A, const Vec& b, const StabilityPenaltyOptions& options, Mat* A_bar,
                         Vec* b_bar) {
  if (auto err = options.validation_error(); !err.empty()) throw std::invalid_argument("StabilityPenaltyOptions: " + err);
  const Eigen::Index q = b.size();
  const Vec gamma = stability_polynomial(A, b);
  Vec gamma_bar = Vec::Zero(q + 1);
  const double scale = options.eigenvalues.empty() ? 0.0 : options.weight / options.eigenvalues.size();
  double penalty = 0;
  for (const auto& lambda : options.eigenvalues) {
    const Complex z = lambda * options.step, R = stability_function(gamma, z);
    const double tau = options.exact_bound ? std::max(1.0, std::exp(z.real())) : 1.0;
    const double excess = std::abs(R) - tau;
    if (excess <= 0) continue;
    penalty += scale * excess * excess;
    Complex z_k = 1;
    for (Eigen::Index k = 1; k <= q; ++k) {
      z_k *= z;
      gamma_bar(k) += 2 * scale * excess * (std::conj(R) * z_k).real() / std::abs(R);
    }
  }
  if (A_bar || b_bar) stability_polynomial_vjp(A, b, gamma_bar, A_bar, b_bar);
  return penalty;
}

}  // namespace trk
