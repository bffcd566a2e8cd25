#include "trk/train/meet_loss.h"

#include <cmath>
#include <limits>

#include "trk/solve/rk_step.h"

namespace trk {

RolloutLoss meet_in_the_middle_mse(const VectorField& f, const Mat& A, const Vec& b, double h, const ConstMatRef& Z0,
                                   const ConstMatRef& Z1, const RolloutGradients& grads) {
  const int q = static_cast<int>(b.size());
  CountedField cf(f);
  StageTape forward, backward;
  Mat Mf(Z0.rows(), Z0.cols()), Mb(Z0.rows(), Z0.cols());
  rk_step(cf, A, b, 0.5 * h, Z0, Mf, forward);
  rk_step(cf, A, b, -0.5 * h, Z1, Mb, backward);
  const double scale = 1.0 / static_cast<double>(Z0.size());
  RolloutLoss out;
  out.loss = scale * (Mf - Mb).squaredNorm();
  if (grads.A_bar) grads.A_bar->setZero(q, q);
  if (grads.b_bar) grads.b_bar->setZero(q);
  if (grads.theta_bar) grads.theta_bar->setZero(f.num_params());
  if (!std::isfinite(out.loss)) {
    out.loss = std::numeric_limits<double>::infinity();
  } else if (grads.A_bar || grads.b_bar || grads.theta_bar) {
    const Mat M_bar = (2 * scale) * (Mf - Mb);
    rk_step_reverse(cf, A, b, 0.5 * h, forward, M_bar,
                    {.theta_bar = grads.theta_bar, .A_bar = grads.A_bar, .b_bar = grads.b_bar});
    // The backward half into its own sums, added at the end (the order of the floating-point sums is part of
    // the reproducibility of a training run).
    Mat A_back = Mat::Zero(q, q);
    Vec b_back = Vec::Zero(q), theta_back = Vec::Zero(f.num_params());
    rk_step_reverse(cf, A, b, -0.5 * h, backward, -M_bar, {.theta_bar = &theta_back, .A_bar = &A_back, .b_bar = &b_back});
    if (grads.A_bar) *grads.A_bar += A_back;
    if (grads.b_bar) *grads.b_bar += b_back;
    if (grads.theta_bar) *grads.theta_bar += theta_back;
  }
  out.num_function_evaluations = cf.num_evaluations();
  out.num_vjp_evaluations = cf.num_vjp_evaluations();
  return out;
}

}  // namespace trk
