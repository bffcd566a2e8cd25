// Kuramoto-Sivashinsky u_t = -u u_x - u_xx - u_xxxx on the periodic domain [0, L), Fourier pseudo-spectral on the
// n grid points x_j = j L / n (n even). With the coefficients v_q = sum_j u_j e^{-2 pi i q j / n}, q = 0 .. n/2,
// and the wavenumbers k_q = 2 pi q / L:
//   dv_q/dt = (k_q^2 - k_q^4) v_q - (i k'_q / 2) F[u^2]_q,    k'_q = k_q, except k'_{n/2} = 0
// (the Nyquist mode's derivative is dropped: its sine vanishes on the grid, so the first derivative of a real grid
// function has none), as in Kassam & Trefethen's kursiv.m, without dealiasing. In physical space, with the real
// circulant matrices A = F^-1 diag(k^2 - k^4) F (symmetric) and D = F^-1 diag(i k') F (antisymmetric):
//   f(u) = A u - D (u^2) / 2,        vjp:  u_bar += A w + u .* (D w)   for the cotangent w.
// The spatial mean (q = 0) is conserved. The semilinear form for ETDRK4 (solve/etdrk4.h): linear_symbol() is the
// diagonal k^2 - k^4, nonlinear(v) = -(i k'/2) F[(F^-1 v)^2]; to_modes / to_grid are F and F^-1 (Eigen's FFT).
// No trainable parameters. Stiff: the fastest mode decays at |k_{n/2}^2 - k_{n/2}^4| (L = 22, n = 64: 6.8e3), so
// explicit solvers need steps below ~3 / 6.8e3. Per-thread FFT plans: eval and vjp may run on several threads.
#pragma once
#include "trk/field/vector_field.h"

namespace trk {

class KuramotoSivashinsky final : public VectorField {
 public:
  // Throws std::invalid_argument unless n is even and >= 4 and length > 0 (finite).
  explicit KuramotoSivashinsky(int n = 64, double length = 22.0);
  std::string name() const override { return "ks"; }
  int dim() const override { return n_; }
  double length() const { return length_; }
  void eval(const ConstMatRef& Z, MatRef F) const override;
  void vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Z_bar, Vec* theta_bar) const override;
  std::unique_ptr<VectorField> clone() const override { return std::make_unique<KuramotoSivashinsky>(*this); }

  int num_modes() const { return n_ / 2 + 1; }
  const Vec& linear_symbol() const { return linear_; }  // k_q^2 - k_q^4
  void nonlinear(const CVec& v, CVec& Nv) const;         // -(i k'/2) F[(F^-1 v)^2]
  void to_modes(const ConstVecRef& u, CVec& v) const;    // v = F u (n/2 + 1 coefficients)
  void to_grid(const CVec& v, VecRef u) const;           // u = F^-1 v

 private:
  int n_;
  double length_;
  Vec linear_;      // k^2 - k^4
  Vec derivative_;  // k' (the Nyquist mode's 0)
};

}  // namespace trk
