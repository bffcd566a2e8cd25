// Trainable vector fields f_theta by name, for identification (docs/method.md):
//   bilinear        BilinearField(dim, num_products): the Fablet-Ouala-Herzet network of the authors' code
//   mlp             MlpField(dim, widths, activation): tanh or relu hidden layers, linear output
//   local-bilinear  LocalBilinearField(dim, stencil, num_products): f_i(z) = g(z_{i-k}, ..., z_{i+k}) on a
//                   periodic 1-D grid, g a linear map plus products of affine maps of the stencil, shared by sites
//   local-mlp       LocalMlpField(dim, stencil, widths, activation): the same with g an MLP
// All start from PyTorch's default initialisation, seeded.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "trk/core/fields.h"
#include "trk/field/vector_field.h"

namespace trk {

struct ModelOptions {
  int num_products = 3;               // bilinear, local-bilinear: number of products p_k
  std::vector<int> widths = {64, 64};  // mlp, local-mlp: hidden layer widths
  std::string activation = "tanh";    // mlp, local-mlp: tanh | relu
  int stencil = 2;                    // local-bilinear, local-mlp: half-width k of the stencil (2k + 1 sites)
  std::uint64_t seed = 0;             // initialisation

  // First invalid field with what is expected, or "" when valid.
  std::string validation_error() const;
};
// The seed is set by the run (identify's model_seed).
template <class V>
void visit_fields(ModelOptions& o, V&& v) {
  v(Field{.key = "num_products", .help = "bilinear, local-bilinear: number of products", .alias = "products"},
    o.num_products);
  v(Field{"widths", "mlp, local-mlp: hidden layer widths, e.g. 64,64"}, o.widths);
  v(Field{"activation", "mlp, local-mlp: tanh | relu"}, o.activation);
  v(Field{"stencil", "local-bilinear, local-mlp: stencil half-width k (f_i depends on z_{i-k}..z_{i+k})"},
    o.stencil);
}

std::vector<std::string> model_names();  // {"bilinear", "mlp", "local-bilinear", "local-mlp"}

// The number of parameters make_model(name, dim, options) would have, by arithmetic (nothing is allocated, no int
// overflows), so that a model too large to hold is refused before it is made:
//   bilinear        2 d^2 + d (d + m) + 3 d + 2 m (d + 1)      (m products)
//   mlp             sum_l (n_l + 1) n_{l+1}, n = (d, widths..., d)
//   local-bilinear  (s + 1)(2 m + 1) + m                       (s = 2 stencil + 1)
//   local-mlp       sum_l (n_l + 1) n_{l+1}, n = (s, widths..., 1)
// Throws std::invalid_argument as make_model does for an unknown name, dim < 1 or invalid options (a local model's
// stencil wider than the grid included).
double model_num_params(const std::string& name, int dim, const ModelOptions& options);

// The most parameters a model holds (VectorField::num_params is an int).
inline constexpr double kMaxModelParams = 2147483647.0;

// Throws std::invalid_argument for an unknown name (listing the known ones), dim < 1, invalid options or more than
// kMaxModelParams parameters.
std::unique_ptr<VectorField> make_model(const std::string& name, int dim, const ModelOptions& options = {});

}  // namespace trk
