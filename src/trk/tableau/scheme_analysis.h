// What `trk report stability` and `trk report order` compute for one scheme, as plain data (written and read back
// by io/stability_io.h):
//   stability: R(z) = 1 + sum_k gamma_k z^k, the real- and imaginary-axis intervals, the boundary curves
//     {z : |R(z)| = 1} and |R| on a grid over a box around the region (at least [-3, 1] x [-3, 3], 10% margin);
//   order: the residual Phi(t) - 1/gamma(t) of every rooted tree up to max_order and the order of the scheme.
#pragma once
#include <vector>

#include "trk/tableau/butcher_tableau.h"
#include "trk/tableau/order_conditions.h"
#include "trk/tableau/stability.h"

namespace trk {

struct StabilityAnalysis {
  ButcherTableau tableau;
  double real_axis_interval = 0.0, imag_axis_interval = 0.0;  // +inf when unbounded
  Vec polynomial;                                             // gamma_0 = 1, ..., gamma_q
  std::vector<std::vector<Complex>> boundary;                 // curves of |R| = 1
  ComplexGrid grid;
  Mat modulus;                                                // num_im x num_re, M(i, j) = |R(re(j) + i im(i))|
};

// Schemes of up to this many stages: the boundary solves 1024 eigenvalue problems of order q (100 stages: about
// 17 s; 200: more than 10 minutes).
inline constexpr int kMaxStabilityStages = 100;

// num_grid points per axis, 2 to 10001, and at most kMaxStabilityStages stages (std::invalid_argument otherwise).
StabilityAnalysis analyse_stability(const ButcherTableau& t, int num_grid = 401);

struct OrderAnalysis {
  ButcherTableau tableau;
  int order = 0;
  int max_order = 8;
  double tolerance = kOrderConditionTol;  // on gamma(t) |Phi(t) - 1/gamma(t)|
  OrderConditionsSummary conditions;
};

// max_order 1 to 12 (std::invalid_argument otherwise).
OrderAnalysis analyse_order(const ButcherTableau& t, int max_order = 8);

}  // namespace trk
