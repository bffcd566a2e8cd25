// Step-size control of embedded pairs, in two conventions (the error norm is the same in both).
// Error norm: err = rms_i(e_i / sk_i) over every component of every state of the batch,
//   sk_i = atol + rtol max(|z_i|, |z_next_i|), e = h sum_j e_j K_j
//   (torchdiffeq 0.2.5's _compute_error_ratio with its default _rms_norm; Hairer's DOPRI5/DOP853 norm).
// DOP853 combines its 5th- and 3rd-order estimates: err = err5^2 / sqrt(err5^2 + 0.01 err3^2).
// Step adjusters (p = order of the propagated solution: 5 for DOPRI5, 8 for DOP853 and dopri8):
//   Hairer (Hairer, Norsett & Wanner I, Sec. II.4; codes DOPRI5 and DOP853):
//     fac = err^(1/p - 0.75 beta) / err_old^beta, clipped to [1/fac_max, 1/fac_min] after division by the safety
//     factor; h_new = h / fac, not larger than h after a rejection. A rejected step is retried with
//     h / min(1/fac_min, err^(1/p) / safety).
//   torchdiffeq 0.2.5 (rk_common.py, misc.py `_optimal_step_size`), after accepted and rejected steps alike:
//     h_new = h min(ifactor, max(safety / err^(1/p), dfactor)),  dfactor = 1 when err < 1 (an accepted step
//     never shrinks the next), h_new = ifactor h when err = 0; safety 0.9, ifactor 10, dfactor 0.2.
//   Initial step: Hairer's heuristic (HINIT, the one torchdiffeq's `_select_initial_step` implements) with RMS norms,
//     h0 = 0.01 d0 / d1, h1 = (0.01 / max(d1, d2))^(1/p), h = min(100 h0, h1)  (integrate.cpp).
#pragma once
#include "trk/core/enum_names.h"
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>

#include "trk/core/types.h"

namespace trk {

// kAuto: the convention of the code each pair comes from. DOP853 (the only built-in pair with a secondary error
// estimate, used by `generate` and the integrates criterion) gets Hairer's; dopri5 and dopri8 get torchdiffeq's, the
// solver of the paper's Dopri8 baseline, so that trk's NFE are comparable with the authors'.
enum class StepControlConvention { kAuto, kTorchdiffeq, kHairer };

template <>
struct EnumNames<StepControlConvention> {
  static constexpr std::pair<StepControlConvention, const char*> items[] = {
      {StepControlConvention::kAuto, "auto"},
      {StepControlConvention::kTorchdiffeq, "torchdiffeq"},
      {StepControlConvention::kHairer, "hairer"}};
};
inline std::optional<StepControlConvention> parse_step_control_convention(std::string_view s) {
  return parse_enum<StepControlConvention>(s);
}

struct StepControlOptions {
  double rtol = 1e-7;
  double atol = 1e-9;
  StepControlConvention convention = StepControlConvention::kAuto;
  double safety = 0.9;
  // Hairer's convention (defaults are DOP853's; DOPRI5's own: fac_min 0.2, fac_max 10, beta 0.04).
  double fac_min = 0.333;   // h_new >= fac_min h   (Hairer's fac1)
  double fac_max = 6.0;     // h_new <= fac_max h   (Hairer's fac2)
  double beta = 0.0;        // PI stabilisation (DOPRI5 uses 0.04, DOP853 0)
  // torchdiffeq's convention (its defaults).
  double ifactor = 10.0;    // h_new <= ifactor h
  double dfactor = 0.2;     // h_new >= dfactor h after a rejected step
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

// torchdiffeq 0.2.5's `_optimal_step_size`: the next step after a step of size h with error ratio err, accepted
// (err <= 1) or not. A non-finite err gives dfactor h (torchdiffeq's inf does; its NaN would stop the solve).
inline double torchdiffeq_next_step(const StepControlOptions& o, int order, double h, double err) {
  if (err == 0.0) return h * o.ifactor;
  if (!std::isfinite(err)) return h * o.dfactor;
  const double dfactor = err < 1.0 ? 1.0 : o.dfactor;
  const double factor = std::min(o.ifactor, std::max(o.safety / std::pow(err, 1.0 / order), dfactor));
  return h * factor;
}

}  // namespace trk
