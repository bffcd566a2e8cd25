// Sparse identification of nonlinear dynamics (SINDy: Brunton, Proctor & Kutz, PNAS 113 (2016) 3932), the SR
// baseline of the paper (docs/method.md), as the authors ran it:
//   1. derivatives Zdot of each trajectory (dim x N, sampled every h) by finite differences of its samples,
//      never across trajectory boundaries:
//        "central": (z_{s+1} - z_{s-1}) / 2h inside, (-3 z_0 + 4 z_1 - z_2) / 2h at the start and
//                   (3 z_{N-1} - 4 z_{N-2} + z_{N-3}) / 2h at the end: second order, exact on quadratics;
//        "forward": (z_{s+1} - z_s) / h, and (z_{N-1} - z_{N-2}) / h at the end: first order;
//   2. the library matrix Theta (num_samples x K), row s = theta(z_s)^T, with the K monomials of degree <= d of
//      field/polynomial.h (in its order), all trajectories stacked;
//   3. sequentially thresholded least squares: Xi = argmin ||Theta Xi - Zdot||_F (K x dim), then `iterations`
//      times: zero every |Xi(k, i)| < threshold and refit each column i on its remaining terms alone (Brunton's
//      sparsifyDynamics; it stops early once the set of terms no longer changes, which leaves Xi as it is).
//      A refit can leave a coefficient below the threshold, as in the original.
//      Least squares by column-pivoting Householder QR of Theta; with ridge > 0 by the normal equations
//      (Theta_S^T Theta_S + ridge I) xi = Theta_S^T zdot (LDLT), ridge unscaled (pysindy's alpha).
// The identified model dz/dt = Xi^T theta(z) is the PolynomialField of the summary; it is simulated with the
// integrators of solve/integrate.h. Results are deterministic.
#pragma once
#include "trk/core/fields.h"
#include <string>
#include <vector>

#include "trk/core/types.h"
#include "trk/field/polynomial.h"

namespace trk {

struct SindyOptions {
  int degree = 2;                     // d: monomials of total degree 0..d
  double threshold = 0.02;            // |Xi(k, i)| below it is set to zero
  int iterations = 10;                // rounds of thresholding and refitting; 0 = plain least squares
  std::string derivative = "central"; // "central" (second order) or "forward" (first order)
  double ridge = 0.0;                 // > 0: ridge regression by the normal equations

  // First invalid field with what is expected, or "" when valid.
  std::string validation_error() const;
};
template <class V>
void visit_fields(SindyOptions& o, V&& v) {
  v(Field{"sindy_degree", "sr: monomials of total degree 0..d"}, o.degree);
  v(Field{"sindy_threshold", "sr: coefficients below it are set to zero"}, o.threshold);
  v(Field{"sindy_iterations", "sr: rounds of thresholding and refitting"}, o.iterations);
  v(Field{"sindy_derivative", "sr: central | forward differences"}, o.derivative);
}

struct SindySummary {
  int dim = 0;
  int degree = 0;
  Mat Xi;                               // K x dim: dz_i/dt = sum_k Xi(k, i) theta_k(z)
  std::vector<std::string> names;       // K monomial names, the row order of Xi ("1", "x1", ..., "x1*x2", ...)
  int num_nonzero = 0;                  // non-zero entries of Xi
  long num_samples = 0;                 // rows of Theta: all samples of all trajectories
  int num_iterations = 0;               // thresholding rounds run (<= options.iterations)
  Vec component_residual_rms;           // dim: rms over samples of (Theta Xi - Zdot)(:, i)
  double residual_rms = 0.0;            // rms over samples and components of Theta Xi - Zdot

  PolynomialField field() const;
  // One line per component, "dx1/dt = -10 x1 + 10 x2", non-zero terms only, `precision` significant digits.
  std::string equations(int precision = 6) const;
};

// Zdot (dim x N) of one trajectory Z (dim x N, N >= 3) sampled every h > 0, by the scheme "central" or
// "forward". Throws std::invalid_argument otherwise.
Mat finite_difference_derivative(const ConstMatRef& Z, double h, const std::string& scheme = "central");

// Identifies dz/dt = Xi^T theta(z) from trajectories (each dim x N_r, N_r >= 3, the same dim, finite values,
// sampled every h; e.g. Split::states). Throws std::invalid_argument on invalid options ("SindyOptions: ...")
// or input, including fewer samples in all than library terms.
SindySummary sindy(const std::vector<Mat>& trajectories, double h, const SindyOptions& options = {});

}  // namespace trk
