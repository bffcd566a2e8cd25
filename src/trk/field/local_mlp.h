// Local (translation-invariant) MLP field on a periodic 1-D grid of d sites: one MLP g: R^s -> R of the stencil
// x_i = (z_{i-k}, ..., z_{i+k}) (indices mod d, s = 2k + 1), shared by all sites:
//   f_i(z) = g(x_i),  g(x) = W_{L+1} x_L + b_{L+1},  x_l = sigma(W_l x_{l-1} + b_l) (l = 1..L),  x_0 = x,
// with the mlp model's hidden widths and activation (tanh or relu; the output layer is linear). The parameters
// do not depend on d; the cost is linear in it.
//
// Flat parameters theta: those of MlpField (mlp.h, torch's nn.Sequential order) for the sizes
// n = (s, widths..., 1): per layer l, W_{l+1} (n_{l+1} x n_l, row-major) then b_{l+1};
// num_params = sum_l (n_l + 1) n_{l+1} (k = 2, widths 64,64: 384 + 4160 + 65 = 4609; widths 16,16: 385).
//
// Evaluation runs on blocks of site rows (stencil_kernels.h: one row per site of each state) through the layer
// sweeps of mlp_kernels.h, so every layer is one matrix product over the sites and states of the block; vjp
// recomputes the activations of the block. Per-thread scratch space: eval and vjp may be called from several
// threads at once.
#pragma once
#include <cstdint>
#include <vector>

#include "trk/field/mlp.h"
#include "trk/field/vector_field.h"

namespace trk {

class LocalMlpField final : public VectorField {
 public:
  // Throws std::invalid_argument unless dim >= 1, stencil >= 0, 2 stencil + 1 <= dim, widths non-empty and every
  // width >= 1. Parameters from init(seed).
  LocalMlpField(int dim, int stencil = 2, std::vector<int> widths = {64, 64},
                Activation activation = Activation::kTanh, std::uint64_t seed = 0);

  // PyTorch's default initialisation of each Linear, seeded: weights and biases uniform in
  // [-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn in the order of theta from trk::Rng(seed).
  void init(std::uint64_t seed);

  std::string name() const override { return "local-mlp"; }
  int dim() const override { return dim_; }
  int stencil() const { return stencil_; }
  const std::vector<int>& widths() const { return widths_; }
  Activation activation() const { return activation_; }
  int num_params() const override { return static_cast<int>(theta_.size()); }
  Vec params() const override { return theta_; }
  // Throws std::invalid_argument if theta.size() != num_params().
  void set_params(const ConstVecRef& theta) override;

  void eval(const ConstMatRef& Z, MatRef F) const override;
  void vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Z_bar, Vec* theta_bar) const override;
  std::unique_ptr<VectorField> clone() const override { return std::make_unique<LocalMlpField>(*this); }

 private:
  int dim_, stencil_;
  std::vector<int> widths_;
  Activation activation_;
  std::vector<int> sizes_;           // n_0 = s, widths..., n_{L+1} = 1
  std::vector<int> weight_offsets_;  // per layer
  Vec theta_;
};

}  // namespace trk
