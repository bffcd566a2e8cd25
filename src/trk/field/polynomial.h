// Polynomial vector field, the model that SINDy identifies (train/sindy.h):
//   dz_i/dt = sum_k Xi(k, i) theta_k(z),   batched: F = Xi^T Theta(Z),   Theta(k, c) = theta_k(Z(:, c)),
// over the library of all monomials theta_k(z) = prod_j z_j^e_kj of total degree 0..d in dim variables,
// K = C(dim + d, d) terms.
//
// Monomial order (deterministic; the order of pysindy's and scikit-learn's polynomial features): by total
// degree, then lexicographically on the non-decreasing list of variable indices. For dim 3, d 2:
//   1, x1, x2, x3, x1^2, x1*x2, x1*x3, x2^2, x2*x3, x3^2
// and for d 3 the cubic terms follow: x1^3, x1^2*x2, x1^2*x3, x1*x2^2, x1*x2*x3, x1*x3^2, x2^3, x2^2*x3, ...
// Names: "1" for the constant, otherwise factors "xj" or "xj^p" (variables numbered from 1) joined by "*".
//
// Parameters: theta = Xi (K x dim) flattened column-major, theta(k + K i) = Xi(k, i): the coefficients of
// equation 1, then of equation 2, ...
// Reverse mode, with G = Xi U (K x n):
//   theta_bar += vec(Theta U^T),
//   Z_bar(j, c) += sum_k G(k, c) dtheta_k/dz_j (Z(:, c)),   dtheta_k/dz_j = e_kj theta_m,
// where theta_m is the monomial with exponents e_k - e_j (of lower degree, so always in the library).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "trk/field/vector_field.h"

namespace trk {

class PolynomialLibrary {
 public:
  // Throws std::invalid_argument unless dim >= 1, degree >= 0 and the library has at most 10^6 terms.
  PolynomialLibrary(int dim, int degree);

  int dim() const { return dim_; }
  int degree() const { return degree_; }
  int num_terms() const { return static_cast<int>(exponents_.size()); }
  // e_k: dim exponents of monomial k.
  const std::vector<int>& exponents(int k) const { return exponents_[k]; }
  const std::string& name(int k) const { return names_[k]; }
  const std::vector<std::string>& names() const { return names_; }
  // Index of the monomial called `name` ("x1*x3"), or -1 when the library has none.
  int index(std::string_view name) const;

  // Theta (K x n) from Z (dim x n).
  void eval(const ConstMatRef& Z, MatRef Theta) const;
  Mat eval(const ConstMatRef& Z) const;
  // Z_bar(j, c) += sum_k G(k, c) dtheta_k/dz_j (Z(:, c)), given Theta = eval(Z) and G (K x n).
  void vjp(const ConstMatRef& Theta, const ConstMatRef& G, MatRef Z_bar) const;

 private:
  struct Derivative {
    int term;   // k
    int var;    // j
    int power;  // e_kj > 0
    int lower;  // m: exponents e_k - e_j
  };
  int dim_, degree_;
  std::vector<std::vector<int>> exponents_;
  std::vector<std::string> names_;
  std::vector<int> parent_, factor_;  // theta_k = theta_parent(k) * z_factor(k) for k >= 1
  std::vector<Derivative> derivatives_;
};

class PolynomialField final : public VectorField {
 public:
  // Xi = 0.
  PolynomialField(int dim, int degree);
  // Xi: K x dim; throws std::invalid_argument on another shape.
  PolynomialField(int dim, int degree, Mat Xi);

  std::string name() const override { return "polynomial"; }
  int dim() const override { return library_.dim(); }
  int num_params() const override { return static_cast<int>(Xi_.size()); }
  Vec params() const override { return Xi_.reshaped(); }
  // Throws std::invalid_argument unless theta has num_params() entries.
  void set_params(const ConstVecRef& theta) override;
  void eval(const ConstMatRef& Z, MatRef F) const override;
  void vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Z_bar, Vec* theta_bar) const override;
  std::unique_ptr<VectorField> clone() const override { return std::make_unique<PolynomialField>(*this); }

  const PolynomialLibrary& library() const { return library_; }
  const Mat& coefficients() const { return Xi_; }  // Xi, K x dim

 private:
  PolynomialLibrary library_;
  Mat Xi_;
};

}  // namespace trk
