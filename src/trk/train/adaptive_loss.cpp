#include "trk/train/adaptive_loss.h"

#include <limits>

#include "trk/solve/rk_step.h"

namespace trk {
namespace {

// Adds to *theta_bar the pullback of Z_end_bar through the accepted steps of a solve, from their recorded tapes
// (AdaptiveOptions::record_tapes). Returns the vector-Jacobian products.
long reverse_through_steps(const VectorField& f, const ButcherTableau& tableau, const Solution& s, Mat Z_bar,
                           Vec* theta_bar) {
  CountedField cf(f);
  Mat Z_prev_bar;
  for (size_t k = s.tapes.size(); k-- > 0;) {
    rk_step_reverse(cf, tableau.A, tableau.b, s.accepted_steps[k], s.tapes[k], Z_bar,
                    {.Z_bar = &Z_prev_bar, .theta_bar = theta_bar});
    Z_bar.swap(Z_prev_bar);
  }
  return cf.num_vjp_evaluations();
}

void add_stats(SolveStats& into, const SolveStats& s) {
  into.num_function_evaluations += s.num_function_evaluations;
  into.num_steps += s.num_steps;
  into.num_accepted += s.num_accepted;
  into.num_rejected += s.num_rejected;
}

}  // namespace

AdaptiveFlowLoss adaptive_flow_mse(const VectorField& f, const ButcherTableau& tableau, double h,
                                   const ConstMatRef& Z0, const ConstMatRef& Y, const AdaptiveOptions& options,
                                   Vec* theta_bar) {
  AdaptiveOptions o = options;
  o.record_steps = true;
  o.record_tapes = theta_bar != nullptr;
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
  out.num_backward_evaluations = reverse_through_steps(f, tableau, s, (2 * scale) * (s.z - Y), theta_bar);
  return out;
}

AdaptiveFlowLoss adaptive_meet_mse(const VectorField& f, const ButcherTableau& tableau, double h,
                                   const ConstMatRef& Z0, const ConstMatRef& Y, const AdaptiveOptions& options,
                                   Vec* theta_bar) {
  AdaptiveOptions o = options;
  o.record_steps = true;
  o.record_tapes = theta_bar != nullptr;
  const Solution forward = integrate_adaptive(f, tableau, Z0, 0.0, 0.5 * h, o);
  AdaptiveFlowLoss out;
  out.stats = forward.stats;
  out.status = forward.status;
  if (theta_bar) theta_bar->setZero(f.num_params());
  Solution backward;
  if (forward.status == SolveStatus::kSuccess) {
    backward = integrate_adaptive(f, tableau, Y, 0.0, -0.5 * h, o);
    add_stats(out.stats, backward.stats);
    out.status = backward.status;
  }
  out.num_forward_evaluations = out.stats.num_function_evaluations;
  if (out.status != SolveStatus::kSuccess) {
    out.loss = std::numeric_limits<double>::infinity();
    return out;
  }
  const double scale = 1.0 / static_cast<double>(Z0.size());
  const Mat M_bar = (2 * scale) * (forward.z - backward.z);
  out.loss = scale * (forward.z - backward.z).squaredNorm();
  if (!theta_bar) return out;
  out.num_backward_evaluations = reverse_through_steps(f, tableau, forward, M_bar, theta_bar) +
                                 reverse_through_steps(f, tableau, backward, -M_bar, theta_bar);
  return out;
}

}  // namespace trk
