#include "trk/field/systems.h"

#include <cmath>
#include <numbers>
#include <stdexcept>

#include "trk/field/kuramoto_sivashinsky.h"
#include "trk/field/linear.h"
#include "trk/field/lorenz63.h"
#include "trk/field/lorenz96.h"

namespace trk {

std::vector<std::string> system_names() { return {"lorenz63", "lorenz96", "linear", "ks"}; }

Parameters default_parameters(const std::string& system) {
  if (system == "lorenz63") return {{"sigma", 10.0}, {"rho", 28.0}, {"beta", 8.0 / 3.0}};
  if (system == "lorenz96") return {{"n", 40.0}, {"F", 8.0}};
  if (system == "linear") return {{"omega", 1.0}, {"damping", 0.1}};
  if (system == "ks") return {{"L", 22.0}, {"n", 64.0}};
  std::string known;
  for (const auto& n : system_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown system '" + system + "' (known: " + known + ")");
}

Parameters resolve_parameters(const std::string& system, const Parameters& overrides) {
  Parameters p = default_parameters(system);
  for (const auto& [key, value] : overrides) {
    if (!p.count(key)) {
      std::string known;
      for (const auto& [k, v] : p) known += (known.empty() ? "" : ", ") + k;
      throw std::invalid_argument("system " + system + " has no parameter '" + key + "' (it has: " + known + ")");
    }
    if (!std::isfinite(value)) throw std::invalid_argument("parameter " + key + " must be finite");
    p[key] = value;
  }
  if (system == "lorenz96" && (p["n"] < 4 || p["n"] != std::floor(p["n"]) || p["n"] > 100000))
    throw std::invalid_argument("parameter n of lorenz96 must be an integer >= 4");
  if (system == "ks" && (p["n"] < 4 || p["n"] != std::floor(p["n"]) || std::fmod(p["n"], 2.0) != 0 || p["n"] > 100000))
    throw std::invalid_argument("parameter n of ks must be an even integer >= 4 (grid points)");
  if (system == "ks" && !(p["L"] > 0.0)) throw std::invalid_argument("parameter L of ks must be positive");
  return p;
}

std::unique_ptr<VectorField> make_system(const std::string& system, const Parameters& parameters) {
  const Parameters p = resolve_parameters(system, parameters);
  if (system == "lorenz63") return std::make_unique<Lorenz63>(p.at("sigma"), p.at("rho"), p.at("beta"));
  if (system == "lorenz96") return std::make_unique<Lorenz96>(static_cast<int>(p.at("n")), p.at("F"));
  if (system == "ks") return std::make_unique<KuramotoSivashinsky>(static_cast<int>(p.at("n")), p.at("L"));
  Mat M(2, 2);
  M << -p.at("damping"), p.at("omega"), -p.at("omega"), -p.at("damping");
  return std::make_unique<LinearField>(M);
}

Vec default_initial_state(const std::string& system, const Parameters& parameters) {
  const Parameters p = resolve_parameters(system, parameters);
  if (system == "lorenz63") return Vec{{8.0, 0.0, 30.0}};
  if (system == "lorenz96") {
    Vec z = Vec::Constant(static_cast<int>(p.at("n")), p.at("F"));
    z(0) += 0.01;
    return z;
  }
  if (system == "ks") {
    const int n = static_cast<int>(p.at("n"));
    Vec u(n);
    for (int j = 0; j < n; ++j) {
      const double y = 2.0 * std::numbers::pi * j / n;  // 2 pi x_j / L
      u(j) = std::cos(y) * (1.0 + std::sin(y)) + 0.1 * std::sin(3.0 * y);
    }
    return u;
  }
  return Vec{{1.0, 0.0}};
}

}  // namespace trk
