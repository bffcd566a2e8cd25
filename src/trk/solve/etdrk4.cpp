#include "trk/solve/etdrk4.h"
#include "trk/core/number_text.h"

#include <complex>
#include <numbers>
#include <stdexcept>
#include <string>

namespace trk {

Etdrk4Coefficients etdrk4_coefficients(const ConstVecRef& L, double step, int contour_points) {
  if (!(step > 0.0) || !std::isfinite(step))
    throw std::invalid_argument("etdrk4: the step must be positive, got " + number_text(step));
  if (contour_points < 1) throw std::invalid_argument("etdrk4: contour_points must be at least 1");
  using C = std::complex<double>;
  const Eigen::Index n = L.size();
  const int M = contour_points;
  Etdrk4Coefficients c;
  c.step = step;
  c.E = (step * L).array().exp();
  c.E2 = (0.5 * step * L).array().exp();
  c.Q.resize(n), c.f1.resize(n), c.f2.resize(n), c.f3.resize(n);
  for (Eigen::Index j = 0; j < n; ++j) {
    C q = 0.0, f1 = 0.0, f2 = 0.0, f3 = 0.0;
    for (int m = 1; m <= M; ++m) {
      const C z = step * L(j) + std::exp(C(0.0, std::numbers::pi * (m - 0.5) / M));
      const C ez = std::exp(z), z3 = z * z * z;
      q += (std::exp(z / 2.0) - 1.0) / z;
      f1 += (-4.0 - z + ez * (4.0 - 3.0 * z + z * z)) / z3;
      f2 += (2.0 + z + ez * (z - 2.0)) / z3;
      f3 += (-4.0 - 3.0 * z - z * z + ez * (4.0 - z)) / z3;
    }
    c.Q(j) = step * q.real() / M;
    c.f1(j) = step * f1.real() / M;
    c.f2(j) = step * f2.real() / M;
    c.f3(j) = step * f3.real() / M;
  }
  return c;
}

bool etdrk4_steps(const Etdrk4Coefficients& c, const SemilinearTerm& N, CVec& v, long num_steps) {
  const Eigen::Index n = v.size();
  CVec Nv(n), a(n), Na(n), b(n), Nb(n), cc(n), Nc(n);
  const auto E = c.E.array(), E2 = c.E2.array(), Q = c.Q.array();
  for (long s = 0; s < num_steps; ++s) {
    N(v, Nv);
    a = E2 * v.array() + Q * Nv.array();
    N(a, Na);
    b = E2 * v.array() + Q * Na.array();
    N(b, Nb);
    cc = E2 * a.array() + Q * (2.0 * Nb.array() - Nv.array());
    N(cc, Nc);
    v = E * v.array() + c.f1.array() * Nv.array() + 2.0 * c.f2.array() * (Na.array() + Nb.array()) +
        c.f3.array() * Nc.array();
    if (!v.allFinite()) return false;
  }
  return true;
}

}  // namespace trk
