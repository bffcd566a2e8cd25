#include "trk/tableau/stability.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <tuple>
#include <unsupported/Eigen/Polynomials>

namespace trk {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr double kNoiseFactor = 16;  // rounding noise observed in practice stays below 0.1x the sensitivity

double horner(const Vec& p, double t) {
  double r = 0;
  for (Eigen::Index k = p.size() - 1; k >= 0; --k) r = r * t + p(k);
  return r;
}

Complex horner(const Vec& p, Complex z) {
  Complex r = 0;
  for (Eigen::Index k = p.size() - 1; k >= 0; --k) r = r * z + p(k);
  return r;
}

// Largest T >= 0 with F(t) = sum_k f_k t^k <= 0 on [0, T], for cleaned f with f_0 = 0.
double first_exit(const Vec& f) {
  Eigen::Index m = 1, d = f.size() - 1;
  while (m <= d && f(m) == 0) ++m;
  if (m > d) return std::numeric_limits<double>::infinity();
  while (f(d) == 0) --d;
  const Vec g = f.segment(m, d - m + 1);  // F(t) = t^m G(t), G(0) != 0
  if (g(0) > 0) return 0;
  std::vector<double> roots;
  if (g.size() == 2) roots.push_back(-g(0) / g(1));
  if (g.size() > 2) {
    Eigen::PolynomialSolver<double, Eigen::Dynamic> solver(g);
    for (const Complex& r : solver.roots())
      if (r.real() > 0 && std::abs(r.imag()) <= 1e-6 * std::abs(r)) roots.push_back(r.real());
  }
  std::sort(roots.begin(), roots.end());
  double lo = 0;  // G(lo) <= 0
  for (std::size_t i = 0; i < roots.size(); ++i) {
    double hi = i + 1 < roots.size() ? 0.5 * (roots[i] + roots[i + 1]) : 2 * roots[i] + 1;
    if (horner(g, hi) <= 0) {
      lo = hi;
      continue;
    }
    for (int it = 0; it < 200; ++it) {
      const double mid = 0.5 * (lo + hi);
      if (mid <= lo || mid >= hi) break;
      (horner(g, mid) > 0 ? hi : lo) = mid;
    }
    return 0.5 * (lo + hi);
  }
  return std::numeric_limits<double>::infinity();
}

// g_k = |b|^T |A|^{k-1} 1. Relative changes eps in the entries of A and b move gamma_k by at most k eps g_k.
Vec polynomial_scale(const ButcherTableau& t) { return stability_polynomial(t.A.cwiseAbs(), t.b.cwiseAbs()); }

// Coefficients of F (stability.h), those below kNoiseFactor times their sensitivity set to zero:
//   real axis  f_k = (-1)^k sum_{j+l=k} gamma_j gamma_l,  imaginary axis  f_k = sum_{j+l=2k} (-1)^(k+l) gamma_j gamma_l.
Vec axis_polynomial(const ButcherTableau& t, bool imaginary) {
  const Vec gamma = stability_polynomial(t), g = polynomial_scale(t);
  const Eigen::Index q = t.num_stages(), n = imaginary ? q + 1 : 2 * q + 1;
  Vec f = Vec::Zero(n), level = Vec::Zero(n);
  for (Eigen::Index j = 0; j <= q; ++j)
    for (Eigen::Index l = 0; l <= q; ++l) {
      if (imaginary && (j + l) % 2) continue;
      const Eigen::Index k = imaginary ? (j + l) / 2 : j + l;
      f(k) += ((imaginary ? k + l : k) % 2 ? -1 : 1) * gamma(j) * gamma(l);
      level(k) += kNoiseFactor * kEps * (j * g(j) * std::abs(gamma(l)) + l * std::abs(gamma(j)) * g(l));
    }
  f(0) = 0;
  for (Eigen::Index k = 0; k < n; ++k)
    if (std::abs(f(k)) <= level(k)) f(k) = 0;
  return f;
}

}  // namespace

Vec stability_polynomial(const Mat& A, const Vec& b) {
  const Eigen::Index q = b.size();
  Vec gamma(q + 1);
  gamma(0) = 1;
  Vec v = Vec::Ones(q);
  for (Eigen::Index k = 1; k <= q; ++k) {
    gamma(k) = b.dot(v);
    v = A * v;
  }
  return gamma;
}

Vec stability_polynomial(const ButcherTableau& t) { return stability_polynomial(t.A, t.b); }

void stability_polynomial_vjp(const Mat& A, const Vec& b, const Vec& gamma_bar, Mat* A_bar, Vec* b_bar) {
  const Eigen::Index q = b.size();
  Mat V(q, q);  // V.col(k) = A^k 1
  V.col(0).setOnes();
  for (Eigen::Index k = 1; k < q; ++k) V.col(k) = A * V.col(k - 1);
  if (b_bar) *b_bar = V * gamma_bar.tail(q);
  if (!A_bar) return;
  A_bar->setZero(q, q);
  Vec v_bar = Vec::Zero(q);  // dL/d(A^j 1), accumulated from j = q - 1 down
  for (Eigen::Index j = q - 1; j >= 1; --j) {
    v_bar += gamma_bar(j + 1) * b;
    *A_bar += v_bar * V.col(j - 1).transpose();
    v_bar = A.transpose() * v_bar;
  }
  A_bar->triangularView<Eigen::Upper>().setZero();
}

Complex stability_function(const Vec& gamma, Complex z) { return horner(gamma, z); }

Complex stability_function(const ButcherTableau& t, Complex z) { return horner(stability_polynomial(t), z); }

Mat stability_modulus_on_grid(const ButcherTableau& t, const ComplexGrid& grid) {
  const Vec gamma = stability_polynomial(t);
  Mat M(grid.num_im, grid.num_re);
  for (int j = 0; j < grid.num_re; ++j)
    for (int i = 0; i < grid.num_im; ++i) M(i, j) = std::abs(horner(gamma, Complex(grid.re(j), grid.im(i))));
  return M;
}

double real_axis_interval(const ButcherTableau& t) { return first_exit(axis_polynomial(t, false)); }

double imag_axis_interval(const ButcherTableau& t) { return std::sqrt(first_exit(axis_polynomial(t, true))); }

std::vector<std::vector<Complex>> stability_region_boundary(const ButcherTableau& t, int num_angles) {
  const Vec gamma = stability_polynomial(t), g = polynomial_scale(t);
  Eigen::Index d = gamma.size() - 1;  // degree, trailing coefficients at rounding level dropped
  while (d > 0 && std::abs(gamma(d)) <= kNoiseFactor * kEps * d * g(d)) --d;
  if (d == 0 || num_angles < 1) return {};
  const Vec p = gamma.head(d + 1);
  Vec dp(d);  // R'
  for (Eigen::Index k = 1; k <= d; ++k) dp(k - 1) = k * p(k);

  // The eigenvalue solver returns no roots when it fails, as on 100 Euler substeps, whose coefficients 1 / 100^k
  // span 200 decades. Then (decided at the first angle, so that a failing solve is not repeated) z = s u with
  // s = |gamma_0 / gamma_d|^(1/d) evens the coefficients out.
  int use_scaled = -1;  // unknown, no, yes
  const double scale = std::pow(1.0 / std::abs(p(d)), 1.0 / static_cast<double>(d));
  auto roots_at = [&](double theta) {
    const Complex w = std::polar(1.0, theta);
    Eigen::VectorXcd c = p.cast<Complex>();
    c(0) -= w;
    std::vector<Complex> roots;
    if (d == 1) {
      roots.push_back(-c(0) / c(1));
    } else {
      if (use_scaled != 1) {
        Eigen::PolynomialSolver<Complex, Eigen::Dynamic> solver(c);
        for (const Complex& r : solver.roots()) roots.push_back(r);
        if (use_scaled < 0) use_scaled = static_cast<Eigen::Index>(roots.size()) != d;
      }
      if (use_scaled == 1) {
        Eigen::VectorXcd u = c;
        for (Eigen::Index k = 0; k <= d; ++k) u(k) *= std::pow(scale, static_cast<double>(k));
        u /= u.cwiseAbs().maxCoeff();
        Eigen::PolynomialSolver<Complex, Eigen::Dynamic> solver(u);
        roots.clear();
        for (const Complex& r : solver.roots()) roots.push_back(scale * r);
      }
      // Still none: NaN, dropped from the curves.
      roots.resize(d, Complex(std::numeric_limits<double>::quiet_NaN(), 0.0));
    }
    for (Complex& z : roots)  // Newton polish while it lowers the residual
      for (int it = 0; it < 4; ++it) {
        const Complex step = (horner(p, z) - w) / horner(dp, z);
        if (!std::isfinite(std::abs(step)) || std::abs(horner(p, z - step) - w) >= std::abs(horner(p, z) - w)) break;
        z -= step;
      }
    return roots;
  };

  const double dtheta = 2 * std::numbers::pi / num_angles;
  const std::vector<Complex> start = roots_at(0);
  std::vector<std::vector<Complex>> branch(d);
  for (Eigen::Index k = 0; k < d; ++k) branch[k].push_back(start[k]);
  std::vector<Eigen::Index> next(d);  // after a full turn, branch k continues as branch next[k]
  for (int n = 1; n <= num_angles; ++n) {
    const std::vector<Complex> roots = n < num_angles ? roots_at(n * dtheta) : start;
    std::vector<std::tuple<double, Eigen::Index, Eigen::Index>> pairs;  // distance, branch, root
    for (Eigen::Index k = 0; k < d; ++k) {
      const Complex z = branch[k].back();
      Complex predicted = z + Complex(0, 1) * std::polar(1.0, (n - 1) * dtheta) * dtheta / horner(dp, z);
      if (!std::isfinite(std::abs(predicted))) predicted = z;
      for (Eigen::Index r = 0; r < d; ++r) {
        // A root the solver could not find (NaN) comes last: a NaN distance would break std::sort's ordering.
        const double distance = std::abs(roots[r] - predicted);
        pairs.emplace_back(std::isnan(distance) ? std::numeric_limits<double>::infinity() : distance, k, r);
      }
    }
    std::sort(pairs.begin(), pairs.end());
    std::vector<bool> branch_done(d), root_used(d);
    for (const auto& [dist, k, r] : pairs) {
      if (branch_done[k] || root_used[r]) continue;
      branch_done[k] = root_used[r] = true;
      if (n < num_angles) branch[k].push_back(roots[r]);
      else next[k] = r;
    }
  }

  std::vector<std::vector<Complex>> curves;
  std::vector<bool> used(d);
  for (Eigen::Index k = 0; k < d; ++k) {
    if (used[k]) continue;
    std::vector<Complex> curve;
    for (Eigen::Index j = k; !used[j]; j = next[j]) {
      used[j] = true;
      curve.insert(curve.end(), branch[j].begin(), branch[j].end());
    }
    std::erase_if(curve, [](const Complex& z) { return !std::isfinite(z.real()) || !std::isfinite(z.imag()); });
    if (curve.empty()) continue;
    curve.push_back(curve.front());
    curves.push_back(std::move(curve));
  }
  return curves;
}

}  // namespace trk
