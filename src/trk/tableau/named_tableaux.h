// Named explicit tableaux as data, with their literature coefficients and a citation.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "trk/tableau/butcher_tableau.h"

namespace trk {

// euler, midpoint, heun, kutta3, rk4, rk38, dopri5 (Dormand-Prince 5(4)), dopri8 (Prince-Dormand RK8(7)13M,
// torchdiffeq's and the paper's "Dopri8"), dop853 (Hairer's DOP853, 8(5,3): the reference integrator).
// Beside these fixed names, the stabilised families rkc1_S and rkc2_S (S stages, rkc_tableau below with the
// default damping) are named tableaux: is_named_tableau and named_tableau know them, named_tableau_names does
// not list them.
std::vector<std::string> named_tableau_names();
bool is_named_tableau(std::string_view name);
// Throws std::invalid_argument listing the known names when `name` is unknown.
ButcherTableau named_tableau(std::string_view name);

// Runge-Kutta-Chebyshev schemes (Verwer, Hundsdorfer & Sommeijer 1990; Sommeijer, Shampine & Verwer 1998) of
// order 1 or 2 with s stages and damping eps >= 0, the three-term recurrence written out as an explicit tableau
// (named_tableaux.cpp gives the recurrence). Stability polynomials, w0 = 1 + eps / s^2:
//   order 1: R(z) = T_s(w0 + w1 z) / T_s(w0),  w1 = T_s(w0) / T_s'(w0); real-axis interval 2 w0 / w1,
//            2 s^2 undamped, about (2 - 4 eps / 3) s^2 damped;
//   order 2: R(z) = 1 - beta_s T_s(w0) + beta_s T_s(w0 + w1 z),  beta_s = T_s''(w0) / T_s'(w0)^2,
//            w1 = T_s'(w0) / T_s''(w0); real-axis interval about (2/3)(s^2 - 1)(1 - 2 eps / 15).
// R in the monomial basis (stability.h) rounds like (3 + 2 sqrt 2)^s on the real-axis interval: beyond s ~ 12
// the stage values are fine but intervals computed from gamma are not.
// Throws std::invalid_argument for order not 1 or 2, s outside order..kMaxRkcStages, eps < 0.
inline constexpr int kMaxRkcStages = 64;
inline constexpr double kRkc1Damping = 0.05;      // rkc1_S
inline constexpr double kRkc2Damping = 2.0 / 13;  // rkc2_S, the damping of the RKC code
ButcherTableau rkc_tableau(int order, int stages, double damping);

}  // namespace trk
