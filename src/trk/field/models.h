// Trainable vector fields f_theta by name, for identification (method.md section 3):
//   bilinear  BilinearField(dim, num_products): the Fablet-Ouala-Herzet network of the authors' code
//   mlp       MlpField(dim, widths, activation): tanh or relu hidden layers, linear output
// Both start from PyTorch's default initialisation, seeded.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "trk/core/fields.h"
#include "trk/field/vector_field.h"

namespace trk {

struct ModelOptions {
  int num_products = 3;               // bilinear: number of products p_k
  std::vector<int> widths = {64, 64};  // mlp: hidden layer widths
  std::string activation = "tanh";    // mlp: tanh | relu
  std::uint64_t seed = 0;             // initialisation

  // First invalid field with what is expected, or "" when valid.
  std::string validation_error() const;
};
// The seed is set by the run (identify's model_seed).
template <class V>
void visit_fields(ModelOptions& o, V&& v) {
  v(Field{"num_products", "bilinear: number of products"}, o.num_products);
  v(Field{"widths", "mlp: hidden layer widths, e.g. 64,64"}, o.widths);
  v(Field{"activation", "mlp: tanh | relu"}, o.activation);
}

std::vector<std::string> model_names();  // {"bilinear", "mlp"}

// Throws std::invalid_argument for an unknown name (listing the known ones), dim < 1 or invalid options.
std::unique_ptr<VectorField> make_model(const std::string& name, int dim, const ModelOptions& options = {});

}  // namespace trk
