// The solver of an identification, parsed once from its name (docs/method.md). The names come from the
// registries: every named tableau (tableau/named_tableaux.h) without an error estimate is a fixed-step solver
// (euler, rk4, ...), every one with an error estimate an adaptive solver (dopri5, dopri8, dop853); "trkQ" is a
// trainable scheme of Q stages (1 to 64); "sr" is SINDy, simulated by kSparseRegressionSimulator.
#pragma once
#include <string>

#include "trk/tableau/butcher_tableau.h"

namespace trk {

enum class SolverKind { kFixed, kTrainable, kAdaptive, kSparseRegression };

inline constexpr int kMaxTrainableStages = 64;
inline constexpr const char* kSparseRegressionSimulator = "dopri8";

struct SolverSpec {
  std::string name;
  SolverKind kind = SolverKind::kTrainable;
  int stages = 10;      // of the scheme that steps the model (sr: 0)
  std::string tableau;  // kFixed, kAdaptive: the named tableau; kSparseRegression: its simulator; kTrainable: ""

  bool fixed_step() const { return kind == SolverKind::kFixed || kind == SolverKind::kTrainable; }
  bool trained_jointly() const { return kind != SolverKind::kSparseRegression; }  // f_theta trained through it
  // The named tableau that steps the model (kFixed, kAdaptive, kSparseRegression); throws for kTrainable.
  ButcherTableau named() const;
};

// Throws std::invalid_argument listing the choices (solver_choices()).
SolverSpec parse_solver(const std::string& name);
std::string solver_choices();  // "euler, midpoint, ..., trkQ (Q = 1..64, e.g. trk10), dopri5, ..., sr"

}  // namespace trk
