#include "trk/experiment/solver.h"

#include <algorithm>
#include <stdexcept>

#include "trk/tableau/named_tableaux.h"

namespace trk {

ButcherTableau SolverSpec::named() const {
  if (tableau.empty()) throw std::logic_error("solver " + name + " has no named tableau");
  return named_tableau(tableau);
}

std::string solver_choices() {
  std::string fixed, adaptive;
  for (const auto& n : named_tableau_names())
    (named_tableau(n).has_error_estimate() ? adaptive : fixed) += n + ", ";
  return fixed + "trkQ (Q = 1.." + std::to_string(kMaxTrainableStages) + ", e.g. trk10), " + adaptive + "sr";
}

SolverSpec parse_solver(const std::string& name) {
  SolverSpec s;
  s.name = name;
  if (name == "sr") {
    s.kind = SolverKind::kSparseRegression;
    s.stages = 0;
    s.tableau = kSparseRegressionSimulator;
    return s;
  }
  if (is_named_tableau(name)) {
    const ButcherTableau t = named_tableau(name);
    s.kind = t.has_error_estimate() ? SolverKind::kAdaptive : SolverKind::kFixed;
    s.stages = t.num_stages();
    s.tableau = name;
    return s;
  }
  const bool digits = name.size() > 3 && name.find_first_not_of("0123456789", 3) == std::string::npos;
  if (name.rfind("trk", 0) == 0 && digits) {
    // One name per scheme: trk04 is not a second trk4.
    const size_t first_digit = std::min(name.find_first_not_of('0', 3), name.size() - 1);
    if (first_digit > 3)
      throw std::invalid_argument("solver " + name + ": write the stage count without leading zeros (trk" +
                                  name.substr(first_digit) + ")");
    s.kind = SolverKind::kTrainable;
    s.stages = name.size() > 6 ? kMaxTrainableStages + 1 : std::stoi(name.substr(3));
    if (s.stages < 1 || s.stages > kMaxTrainableStages)
      throw std::invalid_argument("solver " + name + ": a trainable scheme has 1 to " +
                                  std::to_string(kMaxTrainableStages) + " stages");
    return s;
  }
  throw std::invalid_argument("unknown solver '" + name + "' (" + solver_choices() + ")");
}

}  // namespace trk
