#include "trk/experiment/inference.h"

#include <cmath>
#include <stdexcept>

#include "trk/tableau/named_tableaux.h"

namespace trk {

std::string inference_solver_choices() {
  std::string s;
  for (const auto& n : named_tableau_names()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

std::string InferenceOptions::validation_error() const {
  if (solver.empty()) {
    if (substeps != 1 || rtol != 0.0 || atol != 0.0)
      return "inference-substeps, inference-rtol and inference-atol set how an inference solver steps; give "
             "inference-solver too";
    return "";
  }
  if (!is_named_tableau(solver)) {
    bool trainable = false;
    try {
      trainable = parse_solver(solver).kind != SolverKind::kFixed;
    } catch (const std::invalid_argument&) {
    }
    if (trainable)
      return "inference-solver " + solver + ": a trainable scheme or sr is trained with its model, not an inference "
             "solver (without inference-solver a model is stepped by its own scheme); give one of " +
             inference_solver_choices();
    return "inference-solver: unknown solver '" + solver + "' (" + inference_solver_choices() + ")";
  }
  if (substeps < 1) return "inference-substeps must be at least 1, got " + std::to_string(substeps);
  for (const auto& [value, name] : {std::pair{rtol, "inference-rtol"}, std::pair{atol, "inference-atol"}})
    if (!(value >= 0.0) || !std::isfinite(value))
      return std::string(name) + " must be a finite tolerance > 0";
  const bool adaptive = named_tableau(solver).has_error_estimate();
  if (adaptive && substeps != 1)
    return "inference-substeps: " + solver + " is adaptive (it chooses its own steps over h); give 1 or a fixed-step "
           "solver";
  if (!adaptive && (rtol != 0.0 || atol != 0.0))
    return "inference-rtol and inference-atol are tolerances of adaptive solvers, and " + solver + " is fixed-step";
  return "";
}

FlowMap with_inference_solver(FlowMap model, const InferenceOptions& o) {
  if (auto e = o.validation_error(); !e.empty()) throw std::invalid_argument(e);
  if (o.solver.empty()) return model;
  FlowMap psi = std::move(model);
  const bool model_adaptive = !psi.solver.fixed_step();
  psi.solver = parse_solver(o.solver);
  psi.tableau = psi.solver.named();
  psi.substeps = o.substeps;
  if (psi.solver.kind == SolverKind::kAdaptive) {
    if (!model_adaptive) {
      psi.adaptive = AdaptiveOptions{};
      psi.adaptive.control.rtol = kInferenceRtol;
      psi.adaptive.control.atol = kInferenceAtol;
    }
    if (o.rtol > 0) psi.adaptive.control.rtol = o.rtol;
    if (o.atol > 0) psi.adaptive.control.atol = o.atol;
  }
  return psi;
}

}  // namespace trk
