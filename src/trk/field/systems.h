// The known systems by name, with their default parameters and a default initial state:
//   lorenz63 (sigma 10, rho 28, beta 8/3; from (8, 0, 30)), lorenz96 (n 40, F 8; from F + 0.01 e_1),
//   linear (dz/dt = M z with M = [[-damping, omega], [-omega, -damping]]; from (1, 0)),
//   ks (Kuramoto-Sivashinsky on a periodic domain of length L = 22 with n = 64 grid points, pseudo-spectral:
//       field/kuramoto_sivashinsky.h; from u(x) = cos(y) (1 + sin(y)) + 0.1 sin(3 y), y = 2 pi x / L: Kassam &
//       Trefethen's u0 = cos(x/16) (1 + sin(x/16)) on L = 32 pi scaled to the domain, plus a term that takes it out
//       of the invariant subspace of odd states (about x = L/4) where their u0 lies).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "trk/field/vector_field.h"

namespace trk {

using Parameters = std::map<std::string, double>;

std::vector<std::string> system_names();
// Throws std::invalid_argument naming the unknown system and listing the known ones.
Parameters default_parameters(const std::string& system);
// Defaults overridden by `overrides`; an unknown or invalid parameter throws std::invalid_argument naming it.
Parameters resolve_parameters(const std::string& system, const Parameters& overrides);
std::unique_ptr<VectorField> make_system(const std::string& system, const Parameters& parameters);
Vec default_initial_state(const std::string& system, const Parameters& parameters);

}  // namespace trk
