#include "trk/field/lorenz63.h"

namespace trk {

void Lorenz63::set_params(const ConstVecRef& theta) {
  sigma_ = theta(0);
  rho_ = theta(1);
  beta_ = theta(2);
}

void Lorenz63::eval(const ConstMatRef& Z, MatRef F) const {
  const auto x = Z.row(0).array(), y = Z.row(1).array(), z = Z.row(2).array();
  F.row(0).array() = sigma_ * (y - x);
  F.row(1).array() = x * (rho_ - z) - y;
  F.row(2).array() = x * y - beta_ * z;
}

// J = [[-sigma, sigma, 0], [rho - z, -1, -x], [y, x, -beta]];  Z_bar += J^T U.
void Lorenz63::vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Z_bar, Vec* theta_bar) const {
  const auto x = Z.row(0).array(), y = Z.row(1).array(), z = Z.row(2).array();
  const auto u0 = U.row(0).array(), u1 = U.row(1).array(), u2 = U.row(2).array();
  Z_bar.row(0).array() += -sigma_ * u0 + (rho_ - z) * u1 + y * u2;
  Z_bar.row(1).array() += sigma_ * u0 - u1 + x * u2;
  Z_bar.row(2).array() += -x * u1 - beta_ * u2;
  if (theta_bar) {
    (*theta_bar)(0) += ((y - x) * u0).sum();
    (*theta_bar)(1) += (x * u1).sum();
    (*theta_bar)(2) += (-z * u2).sum();
  }
}

Mat Lorenz63::jacobian(const ConstVecRef& s) const {
  Mat J(3, 3);
  J << -sigma_, sigma_, 0, rho_ - s(2), -1, -s(0), s(1), s(0), -beta_;
  return J;
}

}  // namespace trk
