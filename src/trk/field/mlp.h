// Multilayer perceptron field, as the `mlp` of the PyTorch reference loop (bench/torch_reference.py) with any widths:
//   x_0 = z (d),  x_l = sigma(W_l x_{l-1} + b_l)  for l = 1..L (x_l has widths[l-1] entries),
//   f(z) = W_{L+1} x_L + b_{L+1}  (d; the output layer is linear),
// sigma = tanh (default) or relu, elementwise.
//
// Flat parameters theta in the order of torch's `nn.Sequential(Linear, act, ..., Linear).parameters()`, each
// weight row-major (out x in) like torch.nn.Linear: for layers l = 0..L (inputs n_l, outputs n_{l+1}, with
// n = (d, widths..., d)),
//   [weight_offset(l), + n_{l+1} n_l)   W_{l+1}, row-major
//   [bias_offset(l),   + n_{l+1})       b_{l+1}
// with weight_offset(0) = 0, bias_offset(l) = weight_offset(l) + n_{l+1} n_l,
// weight_offset(l + 1) = bias_offset(l) + n_{l+1}; num_params = sum_l (n_l + 1) n_{l+1}
// (3-64-64-3: 256 + 4160 + 195 = 4611).
//
// Evaluation runs on blocks of states with the states along rows (torch's layout), layer by layer with
// Eigen matrix products, and per-thread scratch space: eval and vjp may be called from several threads at once,
// on one object or several. vjp recomputes the forward pass of the block (it is given Z, not the activations);
// vjp_saved takes them from eval_saving, with the same result bit for bit.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trk/field/vector_field.h"

namespace trk {
namespace field_kernels {
struct MlpLayers;
}

enum class Activation { kTanh, kRelu };

std::string to_string(Activation a);  // "tanh", "relu"
std::optional<Activation> parse_activation(std::string_view s);

// In place x <- tanh(x), vectorised: tanh(x) = sign(x) (-e) / (2 + e) with e = expm1(-2 min(|x|, 20))
// (range reduction by ln 2, degree-13 polynomial for expm1). Relative error below 1e-15 against std::tanh;
// tanh(+-inf) = +-1, NaN stays NaN.
void tanh_inplace(MatRef X);

class MlpField final : public VectorField {
 public:
  // Throws std::invalid_argument unless dim >= 1, widths non-empty and every width >= 1.
  // Parameters from init(seed).
  explicit MlpField(int dim = 3, std::vector<int> widths = {64, 64}, Activation activation = Activation::kTanh,
                    std::uint64_t seed = 0);

  // PyTorch's default initialisation of each Linear, seeded: weights and biases uniform in
  // [-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn in the order of theta from trk::Rng(seed).
  void init(std::uint64_t seed);

  std::string name() const override { return "mlp"; }
  int dim() const override { return dim_; }
  const std::vector<int>& widths() const { return widths_; }
  Activation activation() const { return activation_; }
  int num_layers() const { return static_cast<int>(widths_.size()) + 1; }  // affine maps, output layer included
  int layer_inputs(int l) const { return sizes_[l]; }
  int layer_outputs(int l) const { return sizes_[l + 1]; }
  int weight_offset(int l) const { return weight_offsets_[l]; }
  int bias_offset(int l) const { return weight_offsets_[l] + sizes_[l] * sizes_[l + 1]; }
  int num_params() const override { return static_cast<int>(theta_.size()); }
  Vec params() const override { return theta_; }
  // Throws std::invalid_argument if theta.size() != num_params().
  void set_params(const ConstVecRef& theta) override;

  void eval(const ConstMatRef& Z, MatRef F) const override;
  void vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Z_bar, Vec* theta_bar) const override;
  // Keeps the hidden layers' activations, block by block (sum of widths doubles per state).
  Eigen::Index activation_size() const override;
  void eval_saving(const ConstMatRef& Z, MatRef F, FieldActivations& act) const override;
  void vjp_saved(const ConstMatRef& Z, const FieldActivations& act, const ConstMatRef& U, MatRef Z_bar,
                 Vec* theta_bar) const override;
  std::unique_ptr<VectorField> clone() const override { return std::make_unique<MlpField>(*this); }

 private:
  field_kernels::MlpLayers layers() const;
  // Activations of the hidden layers for the block [c, c + nb) of Z into X[0 .. L-1]; the block of Z into the
  // thread's workspace.
  void forward_hidden(const ConstMatRef& Z, Eigen::Index c, Eigen::Index nb, Mat* X) const;
  void eval_impl(const ConstMatRef& Z, MatRef F, FieldActivations* act) const;
  void vjp_impl(const ConstMatRef& Z, const FieldActivations* act, const ConstMatRef& U, MatRef Z_bar,
                Vec* theta_bar) const;

  int dim_;
  std::vector<int> widths_;
  Activation activation_;
  std::vector<int> sizes_;           // n_0 = d, widths..., n_{L+1} = d
  std::vector<int> weight_offsets_;  // per layer
  Vec theta_;
};

}  // namespace trk
