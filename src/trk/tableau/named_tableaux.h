// Named explicit tableaux as data, with their literature coefficients and a citation.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "trk/tableau/butcher_tableau.h"

namespace trk {

// euler, midpoint, heun, kutta3, rk4, rk38, dopri5 (Dormand-Prince 5(4)), dopri8 (Prince-Dormand RK8(7)13M,
// torchdiffeq's and the paper's "Dopri8"), dop853 (Hairer's DOP853, 8(5,3): the reference integrator).
std::vector<std::string> named_tableau_names();
bool is_named_tableau(std::string_view name);
// Throws std::invalid_argument listing the known names when `name` is unknown.
ButcherTableau named_tableau(std::string_view name);

}  // namespace trk
