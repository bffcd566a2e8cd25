#include "trk/train/losses.h"

#include <cmath>
#include <limits>

#include "trk/solve/rk_step.h"

namespace trk {

namespace {

// The reverse pass of a K-step rollout: zeroes the requested gradients, then, when the loss is finite, pulls the
// cotangents dL/dZ_k = cotangent(k), k = K..1, back through the recorded steps.
template <class Cotangent>
void rollout_reverse(CountedField& cf, const Mat& A, const Vec& b, double h, const std::vector<StageTape>& tapes,
                     const ConstMatRef& Z0, bool finite, const Cotangent& cotangent, const RolloutGradients& grads) {
  const int K = static_cast<int>(tapes.size()), q = static_cast<int>(b.size());
  if (grads.A_bar) grads.A_bar->setZero(q, q);
  if (grads.b_bar) grads.b_bar->setZero(q);
  if (grads.theta_bar) grads.theta_bar->setZero(cf.field().num_params());
  const bool want = grads.A_bar || grads.b_bar || grads.theta_bar || grads.Z0_bar;
  if (want && finite) {
    Mat Z_bar = cotangent(K), Z_prev_bar;
    for (int k = K; k >= 1; --k) {
      rk_step_reverse(cf, A, b, h, tapes[k - 1], Z_bar,
                      {.Z_bar = &Z_prev_bar, .theta_bar = grads.theta_bar, .A_bar = grads.A_bar, .b_bar = grads.b_bar});
      if (k > 1) Z_prev_bar.noalias() += cotangent(k - 1);
      Z_bar.swap(Z_prev_bar);
    }
    if (grads.Z0_bar) *grads.Z0_bar = Z_bar;
  } else if (want && grads.Z0_bar) {
    grads.Z0_bar->setZero(Z0.rows(), Z0.cols());
  }
}

}  // namespace

RolloutLoss rollout_mse(const VectorField& f, const Mat& A, const Vec& b, double h, const ConstMatRef& Z0,
                        const std::vector<Mat>& targets, const RolloutGradients& grads) {
  const int K = static_cast<int>(targets.size());
  const double scale = 1.0 / (static_cast<double>(K) * Z0.size());
  CountedField cf(f);
  std::vector<StageTape> tapes(K);
  std::vector<Mat> Z(K + 1);
  Z[0] = Z0;
  RolloutLoss out;
  double loss = 0.0;
  for (int k = 1; k <= K; ++k) {
    Z[k].resize(Z0.rows(), Z0.cols());
    rk_step(cf, A, b, h, Z[k - 1], Z[k], tapes[k - 1]);
    loss += (Z[k] - targets[k - 1]).squaredNorm();
  }
  out.loss = loss * scale;
  const bool finite = std::isfinite(out.loss);
  if (!finite) out.loss = std::numeric_limits<double>::infinity();
  rollout_reverse(cf, A, b, h, tapes, Z0, finite,
                  [&](int k) { return (2 * scale) * (Z[k] - targets[k - 1]); }, grads);
  out.num_function_evaluations = cf.num_evaluations();
  out.num_vjp_evaluations = cf.num_vjp_evaluations();
  return out;
}

RolloutLoss rollout_mse_bounded(const VectorField& f, const Mat& A, const Vec& b, double h, const ConstMatRef& Z0,
                                const std::vector<Mat>& targets, double bound, const RolloutGradients& grads) {
  CountedField cf(f);
  StageTape tape;
  Mat Z = Z0, Zn(Z0.rows(), Z0.cols());
  std::vector<char> keep(Z0.cols(), 1);
  for (size_t k = 0; k < targets.size(); ++k) {
    rk_step(cf, A, b, h, Z, Zn, tape);
    Z.swap(Zn);
    for (Eigen::Index j = 0; j < Z.cols(); ++j)
      if (keep[j] && !(Z.col(j).cwiseAbs().maxCoeff() < bound)) keep[j] = 0;
  }
  std::vector<Eigen::Index> idx;
  for (Eigen::Index j = 0; j < Z0.cols(); ++j)
    if (keep[j]) idx.push_back(j);
  RolloutLoss out;
  out.num_dropped = Z0.cols() - static_cast<long>(idx.size());
  if (idx.empty()) {
    out.loss = std::numeric_limits<double>::infinity();
    return out;
  }
  std::vector<Mat> kept_targets(targets.size());
  for (size_t k = 0; k < targets.size(); ++k) kept_targets[k] = targets[k](Eigen::all, idx);
  RolloutGradients g = grads;
  g.Z0_bar = nullptr;
  const Mat Z0_kept = Z0(Eigen::all, idx);
  RolloutLoss l = rollout_mse(f, A, b, h, Z0_kept, kept_targets, g);
  l.num_dropped = out.num_dropped;
  l.num_function_evaluations += cf.num_evaluations();
  return l;
}

RolloutLoss rollout_moment_loss(const VectorField& f, const Mat& A, const Vec& b, double h, const ConstMatRef& Z0,
                                const std::vector<Mat>& targets, const Vec& center, const Vec& scale,
                                const RolloutGradients& grads) {
  const int K = static_cast<int>(targets.size());
  const double n = static_cast<double>(Z0.cols());
  const Vec inv_scale = scale.cwiseInverse();
  auto normalised = [&](const Mat& Z) -> Mat { return inv_scale.asDiagonal() * (Z.colwise() - center); };
  CountedField cf(f);
  std::vector<StageTape> tapes(K);
  std::vector<Mat> Z(K + 1), W(K + 1), m(K + 1), C(K + 1);
  Z[0] = Z0;
  double loss = 0.0;
  for (int k = 1; k <= K; ++k) {
    Z[k].resize(Z0.rows(), Z0.cols());
    rk_step(cf, A, b, h, Z[k - 1], Z[k], tapes[k - 1]);
    W[k] = normalised(Z[k]);
    const Mat V = normalised(targets[k - 1]);
    m[k] = (W[k].rowwise().sum() - V.rowwise().sum()) / n;
    C[k] = (W[k] * W[k].transpose() - V * V.transpose()) / n;
    loss += m[k].squaredNorm() + C[k].squaredNorm();
  }
  RolloutLoss out;
  out.loss = loss / K;
  const bool finite = std::isfinite(out.loss);
  if (!finite) out.loss = std::numeric_limits<double>::infinity();
  rollout_reverse(
      cf, A, b, h, tapes, Z0, finite,
      [&](int k) -> Mat {
        return (2.0 / (K * n)) * inv_scale.asDiagonal() * ((2.0 * C[k] * W[k]).colwise() + m[k].col(0));
      },
      grads);
  out.num_function_evaluations = cf.num_evaluations();
  out.num_vjp_evaluations = cf.num_vjp_evaluations();
  return out;
}

}  // namespace trk
