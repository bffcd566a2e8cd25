#include "trk/field/lorenz96.h"

namespace trk {

void Lorenz96::eval(const ConstMatRef& Z, MatRef F) const {
  const int n = n_;
  for (int i = 0; i < n; ++i) {
    const int ip1 = (i + 1) % n, im1 = (i + n - 1) % n, im2 = (i + n - 2) % n;
    F.row(i).array() = (Z.row(ip1).array() - Z.row(im2).array()) * Z.row(im1).array() - Z.row(i).array() + forcing_;
  }
}

// df_i/dz_{i+1} = z_{i-1}, df_i/dz_{i-2} = -z_{i-1}, df_i/dz_{i-1} = z_{i+1} - z_{i-2}, df_i/dz_i = -1.
void Lorenz96::vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Z_bar, Vec* theta_bar) const {
  const int n = n_;
  for (int i = 0; i < n; ++i) {
    const int ip1 = (i + 1) % n, im1 = (i + n - 1) % n, im2 = (i + n - 2) % n;
    const auto u = U.row(i).array();
    Z_bar.row(ip1).array() += Z.row(im1).array() * u;
    Z_bar.row(im2).array() -= Z.row(im1).array() * u;
    Z_bar.row(im1).array() += (Z.row(ip1).array() - Z.row(im2).array()) * u;
    Z_bar.row(i).array() -= u;
  }
  if (theta_bar) (*theta_bar)(0) += U.sum();
}

}  // namespace trk
