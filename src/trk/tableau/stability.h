// Linear stability of an explicit q-stage tableau on the test equation dz/dt = lambda z, z = lambda h:
//   R(z) = 1 + z b^T (I - zA)^{-1} 1 = sum_{k=0..q} gamma_k z^k,  gamma_0 = 1,  gamma_k = b^T A^{k-1} 1,
// stability region S = {z in C : |R(z)| <= 1}.
#pragma once
#include <complex>
#include <vector>

#include "trk/core/types.h"
#include "trk/tableau/butcher_tableau.h"

namespace trk {

using Complex = std::complex<double>;

// (gamma_0, .., gamma_q). A is strictly lower triangular (q x q), b has q entries.
Vec stability_polynomial(const Mat& A, const Vec& b);
Vec stability_polynomial(const ButcherTableau& t);
// Reverse of stability_polynomial: from gamma_bar = dL/dgamma (q + 1 entries, entry 0 unused) sets
// A_bar = dL/dA (zero on and above the diagonal) and b_bar = dL/db.
void stability_polynomial_vjp(const Mat& A, const Vec& b, const Vec& gamma_bar, Mat* A_bar, Vec* b_bar);

// R(z) by Horner's rule on the coefficients gamma.
Complex stability_function(const Vec& gamma, Complex z);
Complex stability_function(const ButcherTableau& t, Complex z);

// Uniform grid of the complex plane: re(j) = re_min + j (re_max - re_min) / (num_re - 1), likewise im(i).
struct ComplexGrid {
  double re_min = -6, re_max = 2;
  double im_min = -4, im_max = 4;
  int num_re = 401, num_im = 401;
  double re(int j) const { return num_re > 1 ? re_min + j * (re_max - re_min) / (num_re - 1) : re_min; }
  double im(int i) const { return num_im > 1 ? im_min + i * (im_max - im_min) / (num_im - 1) : im_min; }
};
// M(i, j) = |R(re(j) + i im(i))|, a num_im x num_re matrix: rows run up the imaginary axis, columns along
// the real axis (meshgrid(re, im) orientation, as contour plots and gnuplot's `matrix` expect).
Mat stability_modulus_on_grid(const ButcherTableau& t, const ComplexGrid& grid);

// Largest x with |R(-s)| <= 1 for all s in [0, x]; infinity if |R| <= 1 on the whole negative real axis.
double real_axis_interval(const ButcherTableau& t);
// Largest y with |R(i s)| <= 1 for all s in [0, y] (|R(is)| = |R(-is)|, so the interval is symmetric).
double imag_axis_interval(const ButcherTableau& t);
// Both are the first point where a polynomial F(t), F(0) = 0, turns positive:
//   real axis  F(s) = R(-s)^2 - 1,   imaginary axis  F(u) = |R(i sqrt(u))|^2 - 1 (even in y, u = y^2).
// Order conditions make low coefficients of F cancel exactly; computed, they leave rounding noise. A
// coefficient f_k = sum_{j+l} +-gamma_j gamma_l is taken as zero when |f_k| <= 16 eps sum (j g_j |gamma_l| +
// l |gamma_j| g_l), g_j = |b|^T |A|^{j-1} 1 (16 times its first-order change under relative perturbations eps
// of A and b). The sign of the first remaining coefficient decides the behaviour at 0 (positive: interval 0);
// the end is the first positive root of the cleaned F where it changes sign upwards (companion-matrix roots,
// then bisection to rounding).

// The boundary {z : |R(z)| = 1} traced by root locus: for theta_n = 2 pi n / num_angles the d roots of
// R(z) = e^{i theta_n} (d = degree of R without trailing rounding-level coefficients; companion matrix, then
// Newton) are exact boundary points, joined across consecutive angles to the root nearest each branch's
// predicted position z + i e^{i theta} dtheta / R'(z). Branches permute over a full turn and close up, so every
// polyline is a closed curve whose last point repeats its first; d * num_angles points in all, spaced evenly in
// arg R, not in z. Components far out can be tiny (dopri8: around z = 129.9, where R falls steeply through 0)
// and then look like a single point in double precision.
std::vector<std::vector<Complex>> stability_region_boundary(const ButcherTableau& t, int num_angles = 1024);

}  // namespace trk
