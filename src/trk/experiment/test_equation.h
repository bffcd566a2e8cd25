// The linear test equation dz/dt = lambda z: how far training stretches the stability of a TRK_q scheme.
// One step of an explicit q-stage scheme multiplies z by R(lambda h), R(z) = 1 + sum_{k=1..q} gamma_k z^k,
// gamma_k = b^T A^(k-1) 1 (tableau/stability.h). A spectrum of extent L is the set of z = lambda h with |z| <= L on
//   real:      the negative real axis, z = -r;
//   imaginary: the imaginary axis, z = i r (|R(-ir)| = |R(ir)|);
//   sector:    damped oscillations z = r e^(i (pi - theta)), 0 <= theta <= sector_degrees (conjugates alike).
// The scheme integrates the spectrum when, for every z of it,
//   |R(z)| <= tau(z) = max(1 - margin, |exp(z)|)   for |z| > slow_extent  (stiff modes decay at least by the
//                                                   margin, or as fast as the true solution does),
//   |R(z) - exp(z)| <= slow_tolerance, |R(z)| <= 1  for |z| <= slow_extent (slow modes accurate),
// judged on a fine grid (judge_points radii; the sector also at judge_angles angles); its extent is the largest L
// up to which every grid point passes.
// Training (per q, order, axis): from the tableau `init`, Levenberg-Marquardt (on the tangent space of the order
// conditions, test_equation.cpp train_at) on the residuals over training points
// z_j (points_per_stage q radii, uniform in [0, L]; the sector at train_angles angles)
//   r_j = relu(|R(z_j)| - tau_j (1 - cushion (1 - |exp(z_j)|)))         |z_j| > slow_extent
//   r_j = relu(|R(z_j) - exp(z_j)| - slow_tolerance (1 - cushion))       |z_j| <= slow_extent
// (the cushion leaves room for the next L), the order conditions up to `order` restored after every step by
// projection (trainable_tableau.h). R is evaluated through the stages (tableau_stability_function), never through
// monomial coefficients. Continuation over L: L starts at the init scheme's extent (at least 2 slow_extent) and
// grows by `growth`; a trained scheme that integrates the judging grid up to the new L is kept and starts the
// next L, otherwise the growth is square-rooted and the last kept scheme tries again, until the growth is below
// `min_growth`.
#pragma once
#include <complex>
#include <functional>
#include <string>
#include <vector>

#include "trk/core/fields.h"
#include "trk/core/types.h"
#include "trk/tableau/butcher_tableau.h"
#include "trk/tableau/stability.h"

namespace trk {

enum class TestAxis { kReal, kImaginary, kSector };
std::string to_string(TestAxis a);
TestAxis parse_test_axis(const std::string& name);  // throws std::invalid_argument

struct TestEquationOptions {
  std::vector<int> stages = {2, 3, 4, 6, 8, 10};
  std::vector<int> orders = {1, 2};
  std::vector<std::string> axes = {"real", "imaginary", "sector"};
  std::string init = "classical";
  double margin = 0.05;
  double slow_extent = 0.1;
  double slow_tolerance = 1e-2;
  double sector_degrees = 15;
  double cushion = 0.02;
  int points_per_stage = 40;
  int train_angles = 4;
  int judge_points = 20000;
  int judge_angles = 16;
  int iterations = 300;       // Levenberg-Marquardt iterations per L at most
  double growth = 1.05;
  double min_growth = 1.002;
  // Beside the trained scheme, each (q, order, axis) judges these; "rkc" stands for rkc<order>_<q>.
  std::vector<std::string> compare = {"euler", "rk4", "dopri8", "rkc"};
  std::string validation_error() const;
};

template <class V>
void visit_fields(TestEquationOptions& o, V&& v) {
  v(Field{"stages", "stage counts q of the trained schemes"}, o.stages);
  v(Field{"orders", "order conditions held exactly (1 or 2)"}, o.orders);
  v(Field{"axes", "spectra: real | imaginary | sector"}, o.axes);
  v(Field{"init", "tableau training starts from (trainable_tableau.h: classical, euler_substeps, ...)"}, o.init);
  v(Field{"margin", "stiff modes must decay by at least this much per step"}, o.margin);
  v(Field{"slow_extent", "modes with |lambda h| up to this are slow: R must be close to exp"}, o.slow_extent);
  v(Field{"slow_tolerance", "largest |R(z) - exp(z)| of a slow mode"}, o.slow_tolerance);
  v(Field{"sector_degrees", "half-angle of the sector of damped oscillations about the negative real axis"},
    o.sector_degrees);
  v(Field{"cushion", "training asks for tau (1 - cushion (1 - |exp z|)), room for the next extent"}, o.cushion);
  v(Field{"points_per_stage", "training points per stage along each ray"}, o.points_per_stage);
  v(Field{"train_angles", "sector: training rays besides the real axis"}, o.train_angles);
  v(Field{"judge_points", "points of the judging grid along each ray"}, o.judge_points);
  v(Field{"judge_angles", "sector: judging rays besides the real axis"}, o.judge_angles);
  v(Field{"iterations", "Levenberg-Marquardt iterations per extent"}, o.iterations);
  v(Field{"growth", "extent factor from one L to the next"}, o.growth);
  v(Field{"min_growth", "continuation stops when the factor falls below this"}, o.min_growth);
  v(Field{"compare", "schemes judged beside the trained one (rkc: rkc<order>_<q>)"}, o.compare);
}

// The points of a spectrum of extent L: `radii` radii uniform in [0, L] on each ray (sector: the real axis and
// `angles` more rays up to sector_degrees).
std::vector<std::complex<double>> test_spectrum(TestAxis axis, double extent, int radii, int angles,
                                                double sector_degrees);

// Largest L <= max_extent such that the scheme passes at every judging point with |z| <= L (max_extent if all do).
double test_equation_extent(const ButcherTableau& t, TestAxis axis, double max_extent, const TestEquationOptions& o);

// R(z) = 1 + z b^T Y, (I - zA) Y = 1, by forward substitution (the stages of one step of dz/dt = lambda z; no
// monomial coefficients, which lose digits to cancellation for many stages). Optionally Y and W, (I - zA)^T W = b
// (dR/db_i = z Y_i, dR/da_ij = z^2 W_i Y_j).
Complex tableau_stability_function(const Mat& A, const Vec& b, Complex z, std::vector<Complex>* Y = nullptr,
                                   std::vector<Complex>* W = nullptr);

// Training residuals r_j (above) at the points z, and their Jacobian with respect to the trainable parameters
// (trainable_tableau.h layout) when `jacobian` is given.
Vec test_equation_residuals(const Mat& A, const Vec& b, const std::vector<std::complex<double>>& z,
                            const TestEquationOptions& o, Mat* jacobian = nullptr);

// Best known real-axis (order 1: 2 q^2, Chebyshev; order 2: 0.82 q^2, asymptotic) and imaginary-axis (q - 1)
// extents of an explicit q-stage scheme with |R| <= 1; 0 where none is given (sector).
double test_equation_limit(int q, int order, TestAxis axis);

struct TestEquationRow {
  int stages = 0, order = 0;
  TestAxis axis = TestAxis::kReal;
  std::string scheme;            // "trk10", "rk4", "rkc1_10", ...
  bool trained = false;
  ButcherTableau tableau;
  double extent = 0.0;           // largest L at which it integrates (the criterion above)
  double limit = 0.0;            // test_equation_limit
  double real_axis_interval = 0.0, imag_axis_interval = 0.0;  // |R| <= 1 intervals of the tableau
  int achieved_order = 0;        // order conditions satisfied (order_conditions.h)
  std::vector<double> extents;   // trained rows: the extents reached in the continuation
  double train_seconds = 0.0;
};

struct TestEquationSummary {
  std::vector<TestEquationRow> rows;  // per (q, order, axis): the trained scheme, then the compared ones
};

TestEquationSummary test_equation_sweep(const TestEquationOptions& o,
                                        const std::function<void(const std::string&)>& log = {});

}  // namespace trk
