// The "integrates" criterion of docs/method.md (Known ODE): a scheme integrates a system at step h when, from the
// given initial states, every run of `duration` time units stays finite with max |z_i| < bound, and the
// climatology of the runs (time mean and standard deviation of each component, pooled over runs, the first
// `transient` time units left out) is within `tolerance` x the reference standard deviation of that component:
//   max_i max(|mean_i - mean_ref_i|, |std_i - std_ref_i|) / std_ref_i <= tolerance.
// The reference climatology comes from the same initial states integrated by DOP853 (rtol = atol = 1e-9).
#pragma once
#include "trk/core/types.h"
#include "trk/field/vector_field.h"
#include "trk/tableau/butcher_tableau.h"

namespace trk {

struct IntegratesOptions {
  double duration = 1000.0;
  double transient = 10.0;
  double bound = 1000.0;
  double tolerance = 0.10;
  std::string validation_error() const;
};

struct Climatology {
  Vec mean, std;  // per component
};

struct IntegratesSummary {
  bool integrates = false;
  int runs = 0;
  int bounded_runs = 0;
  Climatology climatology;            // of the bounded runs (empty when none)
  double worst_deviation = 0.0;       // the left side above (infinity when no run stays bounded)
};

// Reference climatology of f from the initial states Z0 (dim x runs).
Climatology reference_climatology(const VectorField& f, const ConstMatRef& Z0, const IntegratesOptions& o);

IntegratesSummary judge_integrates(const VectorField& f, const ButcherTableau& scheme, double h,
                                   const ConstMatRef& Z0, const Climatology& reference, const IntegratesOptions& o);

}  // namespace trk
