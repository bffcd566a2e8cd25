// Local (translation-invariant) bilinear field on a periodic 1-D grid of d sites: the bilinear network of
// bilinear.h reduced to one output per site and shared by all sites. With stencil half-width k (s = 2k + 1 sites),
// m products and x_i = (z_{i-k}, ..., z_{i+k}) (indices mod d),
//   f_i(z) = w . x_i + b + sum_{p=1..m} c_p (l_p . x_i + a_p) (r_p . x_i + e_p).
// The parameters do not depend on d (num_params = (s + 1)(2m + 1) + m; k = 2, m = 3: 45) and the cost is linear in
// d. Lorenz-96 is one such field (k = 2, m = 1).
//
// Flat parameters theta in the order of a torch module with Linear(s, 1) maps lin, left_1..left_m,
// right_1..right_m and out = Linear(m, 1, bias=False), each weight then its bias:
//   [0, s + 1)                               w, b                  (lin)
//   (s + 1)(1 + p) + [0, s + 1)              l_p, a_p              (left_p,  p = 0..m-1)
//   (s + 1)(1 + m + p) + [0, s + 1)          r_p, e_p              (right_p)
//   [(s + 1)(2m + 1), + m)                   c                     (out)
// so the first (s + 1)(2m + 1) values are the (s + 1) x (2m + 1) matrix [w l_1 .. l_m r_1 .. r_m; b a_1 .. e_m]
// read column-major.
//
// Evaluation runs on blocks of site rows (stencil_kernels.h: one row per site of each state): Y = X S + 1 s^T
// (the 2m + 1 affine maps of the stencils), then f = Y_0 + sum_p c_p Y_{1+p} Y_{1+m+p}, vectorised over the rows.
// Reverse: with u = dL/df of a row, G = [u | u c_p Y_{1+m+p} | u c_p Y_{1+p}] = dL/dY, so S_bar += X^T G,
// s_bar += column sums of G, c_bar_p += sum of u Y_{1+p} Y_{1+m+p}, and X_bar = G S^T is scattered back onto the
// sites. vjp recomputes Y. Per-thread scratch space: eval and vjp may be called from several threads at once.
#pragma once
#include <cstdint>

#include "trk/field/vector_field.h"

namespace trk {

class LocalBilinearField final : public VectorField {
 public:
  // Throws std::invalid_argument unless dim >= 1, stencil >= 0, 2 stencil + 1 <= dim and num_products >= 1.
  // Parameters from init(seed).
  LocalBilinearField(int dim, int stencil = 2, int num_products = 3, std::uint64_t seed = 0);

  // PyTorch's default initialisation of each Linear, seeded: weights and biases uniform in
  // [-1/sqrt(fan_in), 1/sqrt(fan_in)) (fan_in s, and m for out), drawn in the order of theta from trk::Rng(seed).
  void init(std::uint64_t seed);

  std::string name() const override { return "local-bilinear"; }
  int dim() const override { return dim_; }
  int stencil() const { return stencil_; }
  int num_products() const { return num_products_; }
  int num_params() const override { return static_cast<int>(theta_.size()); }
  Vec params() const override { return theta_; }
  // Throws std::invalid_argument if theta.size() != num_params().
  void set_params(const ConstVecRef& theta) override;

  void eval(const ConstMatRef& Z, MatRef F) const override;
  void vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Z_bar, Vec* theta_bar) const override;
  std::unique_ptr<VectorField> clone() const override { return std::make_unique<LocalBilinearField>(*this); }

 private:
  void assemble();

  int dim_, stencil_, num_products_;
  Vec theta_;
  // The 2m + 1 affine maps of a stencil: S = [w l_1 .. l_m r_1 .. r_m] (s x (2m + 1)) and s = (b, a, e), and the
  // products' weights c; rebuilt from theta_ by assemble().
  Mat S_;
  Vec s_, c_;
};

}  // namespace trk
