// Inference with another integrator: the learned field f_theta of a trained flow map (flow_map.h) stepped over
// each sampling step h by a solver of one's choice instead of the scheme it was trained with:
//   fixed-step S (a named tableau without an error estimate: euler, rk4, ...): N steps of h/N of S,
//     stages(S) x N evaluations of f_theta per step h;
//   adaptive S (a named pair: dopri5, dopri8, dop853): one solve over [0, h] at rtol, atol; unset (0), the model's
//     training tolerances when it was solved adaptively (adaptive solvers, sr), else 1e-7 and 1e-9. The step
//     control is the model's when it was solved adaptively, else the pair's own (auto).
// A TRK_q model's field is integrated the same way (without its trained scheme); a trainable scheme (trkQ) or
// sr is no inference solver. No solver: the model's own flow map, unchanged.
#pragma once
#include <string>

#include "trk/core/fields.h"
#include "trk/experiment/flow_map.h"

namespace trk {

inline constexpr double kInferenceRtol = 1e-7, kInferenceAtol = 1e-9;  // adaptive S for a fixed-step model

struct InferenceOptions {
  std::string solver;             // "": the model's own flow map
  int substeps = 1;               // N, fixed-step solvers
  double rtol = 0.0, atol = 0.0;  // adaptive solvers; 0: not given, the defaults above
  // Checks what needs no model: a named tableau; N >= 1, N > 1 with a fixed-step solver only; tolerances >= 0 and
  // finite, set with an adaptive solver only; no N or tolerance without a solver.
  std::string validation_error() const;
};

template <class V>
void visit_fields(InferenceOptions& o, V&& v) {
  v(Field{"inference_solver",
          "with --evaluate: integrate the model's field by this solver instead of its own flow map: a fixed-step or "
          "adaptive named tableau (euler, rk4, ..., dopri8)"},
    o.solver);
  v(Field{"inference_substeps", "fixed-step inference solver: N steps of h/N per sampling step h"}, o.substeps);
  v(Field{"inference_rtol",
          "adaptive inference solver: relative tolerance > 0 (not given: the model's training tolerance if it was "
          "adaptive, else 1e-7)"},
    o.rtol);
  v(Field{"inference_atol",
          "adaptive inference solver: absolute tolerance > 0 (not given: the model's training tolerance if it was "
          "adaptive, else 1e-9)"},
    o.atol);
}

std::string inference_solver_choices();  // the named tableaux: "euler, midpoint, ..., rk4, ..., dopri8, dop853"

// The flow map whose field is the model's, stepped as above; `model` itself when no solver is given. Throws
// std::invalid_argument with validation_error's message.
FlowMap with_inference_solver(FlowMap model, const InferenceOptions& o);

}  // namespace trk
