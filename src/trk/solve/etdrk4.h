// ETDRK4, the exponential time-differencing Runge-Kutta scheme of Cox & Matthews (2002), "Exponential time
// differencing for stiff systems", J. Comput. Phys. 176, for semilinear systems
//   dv/dt = L v + N(v),   L diagonal and real in the basis of v (e.g. Fourier modes of a periodic PDE),
// a reference integrator for stiff systems (the Kuramoto-Sivashinsky system of trk generate). One step of size h:
//   a = E2 v + Q N(v),   b = E2 v + Q N(a),   c = E2 a + Q (2 N(b) - N(v)),
//   v <- E v + f1 N(v) + 2 f2 (N(a) + N(b)) + f3 N(c),
// with E = e^{hL}, E2 = e^{hL/2} and, for z = h L_j,
//   Q = h (e^{z/2} - 1) / z,   f1 = h (-4 - z + e^z (4 - 3z + z^2)) / z^3,
//   f2 = h (2 + z + e^z (z - 2)) / z^3,   f3 = h (-4 - 3z - z^2 + e^z (4 - z)) / z^3,
// evaluated as in Kassam & Trefethen (2005), "Fourth-order time-stepping for stiff PDEs", SIAM J. Sci. Comput.
// 26(4), and their kursiv.m: the mean of each function over M points z + r_m on the upper half of the unit circle
// about z, r_m = e^{i pi (m - 1/2) / M}, real part (L real), which avoids the cancellation of the formulas near
// z = 0 (M = 32 gives them to about machine precision).
#pragma once
#include <functional>

#include "trk/core/types.h"

namespace trk {

struct Etdrk4Coefficients {
  double step = 0.0;
  Vec E, E2, Q, f1, f2, f3;  // per mode
};

// Throws std::invalid_argument unless step > 0 and contour_points >= 1.
Etdrk4Coefficients etdrk4_coefficients(const ConstVecRef& L, double step, int contour_points = 32);

// Nv = N(v).
using SemilinearTerm = std::function<void(const CVec& v, CVec& Nv)>;

// num_steps steps from v (in place). Returns false, and stops, when v is no longer finite.
bool etdrk4_steps(const Etdrk4Coefficients& c, const SemilinearTerm& N, CVec& v, long num_steps);

}  // namespace trk
