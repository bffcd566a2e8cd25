#include "trk/field/kuramoto_sivashinsky.h"
#include "trk/core/number_text.h"

#include <cassert>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>
#include <unsupported/Eigen/FFT>

namespace trk {
namespace {

// FFT plans and scratch space of the calling thread (Eigen's FFT object caches its plans: not shareable).
struct Workspace {
  Eigen::FFT<double> fft;
  Vec w;
  Workspace() { fft.SetFlag(Eigen::FFT<double>::HalfSpectrum); }
};
thread_local Workspace workspace;

}  // namespace

KuramotoSivashinsky::KuramotoSivashinsky(int n, double length) : n_(n), length_(length) {
  if (n < 4 || n % 2 != 0)
    throw std::invalid_argument("ks: n must be an even number of grid points >= 4, got " + std::to_string(n));
  if (!(length > 0.0) || !std::isfinite(length))
    throw std::invalid_argument("ks: L must be a positive length, got " + number_text(length));
  linear_.resize(num_modes());
  derivative_.resize(num_modes());
  for (int q = 0; q < num_modes(); ++q) {
    const double k = 2.0 * std::numbers::pi * q / length;
    linear_(q) = k * k - k * k * k * k;
    derivative_(q) = q == n / 2 ? 0.0 : k;
  }
}

void KuramotoSivashinsky::to_modes(const ConstVecRef& u, CVec& v) const {
  assert(u.size() == n_);
  v.resize(num_modes());
  workspace.fft.fwd(v.data(), u.data(), n_);
}

void KuramotoSivashinsky::to_grid(const CVec& v, VecRef u) const {
  assert(v.size() == num_modes() && u.size() == n_);
  workspace.fft.inv(u.data(), v.data(), n_);
}

void KuramotoSivashinsky::nonlinear(const CVec& v, CVec& Nv) const {
  Workspace& ws = workspace;
  ws.w.resize(n_);
  to_grid(v, ws.w);
  ws.w = ws.w.array().square();
  to_modes(ws.w, Nv);
  for (int q = 0; q < num_modes(); ++q) Nv(q) *= std::complex<double>(0.0, -0.5 * derivative_(q));
}

void KuramotoSivashinsky::eval(const ConstMatRef& Z, MatRef F) const {
  assert(Z.rows() == n_ && F.rows() == n_ && F.cols() == Z.cols());
  CVec v, s;
  Vec u2(n_), f(n_);
  for (Eigen::Index c = 0; c < Z.cols(); ++c) {
    to_modes(Z.col(c), v);
    u2 = Z.col(c).array().square();
    to_modes(u2, s);
    for (int q = 0; q < num_modes(); ++q)
      v(q) = linear_(q) * v(q) + std::complex<double>(0.0, -0.5 * derivative_(q)) * s(q);
    to_grid(v, f);
    F.col(c) = f;
  }
}

void KuramotoSivashinsky::vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Z_bar, Vec* theta_bar) const {
  assert(Z.rows() == n_ && U.rows() == n_ && Z_bar.rows() == n_);
  CVec w, a(num_modes()), d(num_modes());
  Vec Aw(n_), Dw(n_);
  for (Eigen::Index c = 0; c < Z.cols(); ++c) {
    to_modes(U.col(c), w);
    for (int q = 0; q < num_modes(); ++q) {
      a(q) = linear_(q) * w(q);
      d(q) = std::complex<double>(0.0, derivative_(q)) * w(q);
    }
    to_grid(a, Aw);
    to_grid(d, Dw);
    Z_bar.col(c).array() += Aw.array() + Z.col(c).array() * Dw.array();
  }
}

}  // namespace trk
