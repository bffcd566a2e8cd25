#include "trk/train/adaptive_loss.h"

#include <limits>

#include "trk/solve/rk_step.h"

namespace trk {

AdaptiveFlowLoss adaptive_flow_mse(const VectorField& f, const ButcherTableau& tableau, double h,
                                   const ConstMatRef& Z0, const ConstMatRef& Y, const AdaptiveOptions& options,
                                   Vec* theta_bar) {
  AdaptiveOptions o = options;
  o.record_steps = true;
  const Solution s = integrate_adaptive(f, tableau, Z0, 0.0, h, o);
  AdaptiveFlowLoss out;
  out.status = s.status;
  out.stats = s.stats;
  out.num_forward_evaluations = s.stats.num_function_evaluations;
  if (theta_bar) theta_bar->setZero(f.num_params());
  if (s.status != SolveStatus::kSuccess) {
    out.loss = std::numeric_limits<double>::infinity();
    return out;
  }
  const double scale = 1.0 / static_cast<double>(Z0.size());
  out.loss = scale * (s.z - Y).squaredNorm();
  if (!theta_bar) return out;
  CountedField cf(f);
  const size_t n = s.accepted_steps.size();
  std::vector<StageTape> tapes(n);
  Mat Z = Z0, Zn(Z0.rows(), Z0.cols());
  for (size_t k = 0; k < n; ++k) {
    rk_step(cf, tableau, s.accepted_steps[k], Z, Zn, tapes[k]);
    Z.swap(Zn);
  }
  Mat Z_bar = (2 * scale) * (Z - Y), Z_prev_bar;
  for (size_t k = n; k-- > 0;) {
    rk_step_reverse(cf, tableau.A, tableau.b, s.accepted_steps[k], tapes[k], Z_bar,
                    {.Z_bar = &Z_prev_bar, .theta_bar = theta_bar});
    Z_bar.swap(Z_prev_bar);
  }
  out.num_backward_evaluations = cf.num_evaluations() + cf.num_vjp_evaluations();
  return out;
}

}  // namespace trk
