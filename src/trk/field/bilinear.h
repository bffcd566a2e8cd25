// Bilinear network of Fablet, Ouala & Herzet (2018), "Bilinear residual neural network for the identification
// and forecasting of geophysical dynamics", as the `Bilinear` module of the PyTorch reference loop
// (bench/torch_reference.py), in dimension d with m products (the authors': d = m = 3, 69 parameters):
//   a   = W_lin z + b_lin                                   (d)
//   p_k = (l_k . z + c_k) (r_k . z + e_k),  k = 1..m        (m)
//   h   = W_trans [a; p] + b_trans                          (d; W_trans is d x (d + m))
//   f   = W_out h + b_out                                   (d)
// No activation: with one product per quadratic monomial it represents quadratic fields (Lorenz-63) exactly.
//
// Flat parameters theta (num_params = 2 d^2 + d (d + m) + 3 d + 2 m (d + 1)) in the order of torch's
// `Bilinear.parameters()`, each weight row-major (out x in) like torch.nn.Linear, so that
// theta = cat([p.flatten() for p in Bilinear(d, m).parameters()]):
//   [lin_weight, lin_weight + d^2)          W_lin (d x d), row-major
//   [lin_bias, + d)                         b_lin
//   left + k (d + 1) + [0, d), + d          l_k (left.k.weight, 1 x d), then c_k (left.k.bias),  k = 0..m-1
//   right + k (d + 1) + [0, d), + d         r_k, e_k (right.k)
//   [trans_weight, + d (d + m))             W_trans (d x (d + m)), row-major: row i = (coefficients on a, on p)
//   [trans_bias, + d)                       b_trans
//   [out_weight, + d^2)                     W_out (d x d), row-major
//   [out_bias, + d)                         b_out
// Offsets: BilinearLayout below.
//
// Evaluation runs on blocks of states with the states along rows (torch's layout, so that the small products
// vectorise over states), with per-thread scratch space: eval and vjp may be called from several threads at
// once, on one object or several. vjp recomputes the forward pass of each block; vjp_saved takes it from
// eval_saving, with the same result bit for bit.
#pragma once
#include <cstdint>

#include "trk/field/vector_field.h"

namespace trk {

struct BilinearLayout {
  int lin_weight, lin_bias, left, right, trans_weight, trans_bias, out_weight, out_bias, size;
  static BilinearLayout of(int dim, int num_products);
};

class BilinearField final : public VectorField {
 public:
  // Throws std::invalid_argument unless dim >= 1 and num_products >= 1. Parameters from init(seed).
  explicit BilinearField(int dim = 3, int num_products = 3, std::uint64_t seed = 0);

  // PyTorch's default initialisation of each Linear, seeded: weights and biases uniform in
  // [-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn in the order of theta from trk::Rng(seed).
  void init(std::uint64_t seed);

  std::string name() const override { return "bilinear"; }
  int dim() const override { return dim_; }
  int num_products() const { return num_products_; }
  const BilinearLayout& layout() const { return layout_; }
  int num_params() const override { return layout_.size; }
  Vec params() const override { return theta_; }
  // Throws std::invalid_argument if theta.size() != num_params().
  void set_params(const ConstVecRef& theta) override;

  void eval(const ConstMatRef& Z, MatRef F) const override;
  void vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Z_bar, Vec* theta_bar) const override;
  // Keeps [a | left | right], [a | p] and h, block by block (4 d + 3 m doubles per state).
  Eigen::Index activation_size() const override { return 4 * dim_ + 3 * num_products_; }
  void eval_saving(const ConstMatRef& Z, MatRef F, FieldActivations& act) const override;
  void vjp_saved(const ConstMatRef& Z, const FieldActivations& act, const ConstMatRef& U, MatRef Z_bar,
                 Vec* theta_bar) const override;
  // With G = W_out W_trans = [G_a | G_p] (d x (d + m)), x = [a; p] and l_k, r_k the two factors of p_k:
  //   df_i/dz = W_lin^T G_a(i,:)^T + sum_k G_p(i,k) (r_k l_k + l_k r_k)   (l_k, r_k also the factors' weights),
  //   df_i/dW_out(i,j) = h_j, df_i/dW_trans(k,j) = W_out(i,k) x_j, df_i/dW_lin(j,l) = G_a(i,j) z_l,
  //   df_i/d(left k weight l) = G_p(i,k) r_k z_l, df_i/d(right k weight l) = G_p(i,k) l_k z_l (biases: z_l = 1).
  bool has_gradients() const override { return true; }
  void eval_gradients(const ConstMatRef& Z, MatRef F, MatRef Gz, MatRef Gtheta) const override;
  std::unique_ptr<VectorField> clone() const override { return std::make_unique<BilinearField>(*this); }

 private:
  void assemble();
  void vjp_impl(const ConstMatRef& Z, const FieldActivations* act, const ConstMatRef& U, MatRef Z_bar,
                Vec* theta_bar) const;

  int dim_, num_products_;
  BilinearLayout layout_;
  Vec theta_;
  // The three maps of z, states along rows: [a | left | right] = Z^T S + s^T, S = [W_lin^T | L^T | R^T]
  // (d x (d + 2m)), s = (b_lin, c, e); rebuilt from theta_ by assemble().
  Mat S_;
  Vec s_;
};

}  // namespace trk
