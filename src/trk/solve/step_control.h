// Step-size control of embedded pairs (Hairer, Norsett & Wanner I, Sec. II.4; codes DOPRI5 and DOP853).
// Error norm: err = rms_i(e_i / sk_i), sk_i = atol + rtol max(|z_i|, |z_next_i|), e = h sum_j e_j K_j.
// DOP853 combines its 5th- and 3rd-order estimates: err = err5^2 / sqrt(err5^2 + 0.01 err3^2).
// Step adjuster (p = order of the propagated solution, 5 for DOPRI5, 8 for DOP853):
//   fac = err^(1/p - 0.75 beta) / err_old^beta, clipped to [1/fac_max, 1/fac_min] after division by the safety
//   factor; h_new = h / fac. A rejected step is retried with h / min(1/fac_min, err^(1/p) / safety).
// Defaults are DOP853's (DOPRI5's own: fac_min 0.2, fac_max 10, beta 0.04).
#pragma once
#include <algorithm>
#include <cmath>

#include "trk/core/types.h"

namespace trk {

struct StepControlOptions {
  double rtol = 1e-7;
  double atol = 1e-9;
  double safety = 0.9;
  double fac_min = 0.333;   // h_new >= fac_min h   (Hairer's fac1)
  double fac_max = 6.0;     // h_new <= fac_max h   (Hairer's fac2)
  double beta = 0.0;        // PI stabilisation (DOPRI5 uses 0.04, DOP853 0)
};

// rms(e / sk) with sk from the states before and after the step. Non-finite when anything is.
inline double scaled_rms(const ConstMatRef& e, const ConstMatRef& Z, const ConstMatRef& Z_next, double rtol,
                         double atol) {
  const auto sk = atol + rtol * Z.array().abs().max(Z_next.array().abs());
  return std::sqrt((e.array() / sk).square().mean());
}

// Hairer's step adjuster, with the memory of the last accepted error.
class StepAdjuster {
 public:
  StepAdjuster(const StepControlOptions& o, int order) : o_(o), expo_(1.0 / order - 0.75 * o.beta) {}
  // New step after an accepted step with error `err` (<= 1).
  double accepted(double h, double err, bool last_rejected) {
    const double fac11 = std::pow(std::max(err, 1e-300), expo_);
    double fac = fac11 / std::pow(err_old_, o_.beta);
    fac = std::clamp(fac / o_.safety, 1.0 / o_.fac_max, 1.0 / o_.fac_min);
    err_old_ = std::max(err, 1e-4);
    const double h_new = h / fac;
    return last_rejected ? std::copysign(std::min(std::abs(h_new), std::abs(h)), h) : h_new;
  }
  // Smaller step after a rejected step with error `err` (> 1, possibly infinite).
  double rejected(double h, double err) const {
    if (!std::isfinite(err)) return h * o_.fac_min;
    const double fac11 = std::pow(err, expo_);
    return h / std::min(1.0 / o_.fac_min, fac11 / o_.safety);
  }

 private:
  StepControlOptions o_;
  double expo_;
  double err_old_ = 1e-4;
};

}  // namespace trk
