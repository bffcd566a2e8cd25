// Small parsers shared by the subcommands.
#pragma once
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "trk/field/systems.h"

namespace trk::cli {

// "key=value" pairs into parameters; throws std::invalid_argument naming the bad one.
inline Parameters parse_parameters(const std::vector<std::string>& pairs) {
  Parameters p;
  for (const auto& s : pairs) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::invalid_argument("--param '" + s + "': expected name=value, e.g. rho=28");
    const std::string key = s.substr(0, eq), value = s.substr(eq + 1);
    try {
      size_t used = 0;
      const double v = std::stod(value, &used);
      if (used != value.size() || !std::isfinite(v)) throw std::invalid_argument("");
      p[key] = v;
    } catch (const std::exception&) {
      throw std::invalid_argument("--param '" + s + "': value '" + value + "' is not a finite number");
    }
  }
  return p;
}

}  // namespace trk::cli
