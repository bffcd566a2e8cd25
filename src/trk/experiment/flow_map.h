// A learned flow map over one sampling step h (docs/method.md) and its evaluation:
//   Psi(z_t) ~ z_{t+h}: one step of size h of a fixed or trained scheme (or N sub-steps of h/N of it), or one
//   adaptive solve over [0, h].
// Evaluation: from every test state with 4 samples after it, RMSE of Psi(z) against z(t0 + h) and of Psi^4(z)
// against z(t0 + 4h), over components and start states (and the mean over start states of each state's RMSE over
// components, the talk's "mean RMSE"); a forecast that is non-finite or has RMSE > 10 is
// reported as diverged. The floor on the same states: persistence, the forecast z(t0 + k h) ~ z(t0).
// So that systems compare, RMSEs are also given divided by the climatological standard deviation
//   sigma = sqrt( (1/dim) sum_i var_t(z_i) )      (the variance of each component over all samples of a split),
// the RMSE of forecasting every state by the climatological mean.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "trk/experiment/dataset.h"
#include "trk/experiment/solver.h"
#include "trk/field/models.h"
#include "trk/field/vector_field.h"
#include "trk/solve/integrate.h"
#include "trk/tableau/butcher_tableau.h"

namespace trk {

struct FlowMap {
  SolverSpec solver;
  double h = 0.0;
  std::string model;                  // "bilinear", "mlp", "polynomial" (sr)
  ModelOptions model_options;
  std::unique_ptr<VectorField> field;
  ButcherTableau tableau;             // the fixed or trained scheme, or the adaptive pair
  AdaptiveOptions adaptive;           // adaptive solvers and sr
  int substeps = 1;                   // fixed-step: Psi is N steps of h/N of the tableau (training: 1); adaptive: 1

  // Z (dim x n) -> Psi(Z); columns whose solve fails or goes non-finite are NaN. Adds evaluations to *nfe
  // (fixed-step: stages x substeps per state).
  Mat apply(const ConstMatRef& Z, long* nfe = nullptr) const;
};

// Start states and their K-step targets from every trajectory of a split: targets[k-1] = z(t + k h).
struct Pairs {
  Mat Z0;
  std::vector<Mat> targets;
  long size() const { return Z0.cols(); }
};
Pairs make_pairs(const Split& s, int K);

struct ForecastScore {
  double rmse = 0.0;             // over components and start states
  double mean_state_rmse = 0.0;  // the mean over start states of each one's RMSE over components
  bool diverged = false;
};

struct EvaluateSummary {
  ForecastScore at_h, at_4h;
  long num_states = 0;
  double inference_nfe_per_step = 0.0;  // evaluations of f per application of Psi (one step h)
  ForecastScore persistence_at_h, persistence_at_4h;  // z(t0) as the forecast, on the same start states
};

// sigma above over every sample of every trajectory of the split; 0 when it has fewer than 2 samples.
double climatological_std(const Split& split);

// Throws std::invalid_argument when the split has no state with 4 samples after it.
EvaluateSummary evaluate_forecasts(const FlowMap& psi, const Split& test);

}  // namespace trk
