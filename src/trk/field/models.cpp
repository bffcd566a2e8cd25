#include "trk/field/models.h"

#include <stdexcept>

#include "trk/core/number_text.h"
#include "trk/field/bilinear.h"
#include "trk/field/local_bilinear.h"
#include "trk/field/local_mlp.h"
#include "trk/field/mlp.h"

namespace trk {

std::string ModelOptions::validation_error() const {
  if (num_products < 1) return "num-products must be at least 1, got " + std::to_string(num_products);
  if (widths.empty()) return "widths must list at least one hidden layer width";
  for (size_t i = 0; i < widths.size(); ++i)
    if (widths[i] < 1)
      return "widths must all be at least 1, got " + std::to_string(widths[i]) + " at position " +
             std::to_string(i + 1);
  if (!parse_activation(activation))
    return "activation must be one of tanh, relu, got '" + activation + "'";
  if (stencil < 0) return "stencil must be at least 0, got " + std::to_string(stencil);
  return "";
}

namespace {
// The registry: a trainable model is a name and a factory (dim, options) -> field.
struct ModelEntry {
  const char* name;
  std::unique_ptr<VectorField> (*make)(int dim, const ModelOptions& o);
};
constexpr ModelEntry kModels[] = {
    {"bilinear", [](int dim, const ModelOptions& o) -> std::unique_ptr<VectorField> {
       return std::make_unique<BilinearField>(dim, o.num_products, o.seed);
     }},
    {"mlp", [](int dim, const ModelOptions& o) -> std::unique_ptr<VectorField> {
       return std::make_unique<MlpField>(dim, o.widths, *parse_activation(o.activation), o.seed);
     }},
    {"local-bilinear", [](int dim, const ModelOptions& o) -> std::unique_ptr<VectorField> {
       return std::make_unique<LocalBilinearField>(dim, o.stencil, o.num_products, o.seed);
     }},
    {"local-mlp", [](int dim, const ModelOptions& o) -> std::unique_ptr<VectorField> {
       return std::make_unique<LocalMlpField>(dim, o.stencil, o.widths, *parse_activation(o.activation), o.seed);
     }},
};
}  // namespace

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& m : kModels) names.emplace_back(m.name);
  return names;
}

namespace {
const ModelEntry& entry_of(const std::string& name) {
  for (const auto& m : kModels)
    if (name == m.name) return m;
  std::string known;
  for (const auto& n : model_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown model '" + name + "' (known: " + known + ")");
}

// sum_l (n_l + 1) n_{l+1} over the layers of sizes n = (first, widths..., last).
double layers_num_params(double first, const std::vector<int>& widths, double last) {
  double total = 0, in = first;
  for (int w : widths) {
    total += (in + 1) * w;
    in = w;
  }
  return total + (in + 1) * last;
}
}  // namespace

double model_num_params(const std::string& name, int dim, const ModelOptions& o) {
  const std::string known = entry_of(name).name;
  if (dim < 1) throw std::invalid_argument("model dimension must be at least 1, got " + std::to_string(dim));
  if (auto err = o.validation_error(); !err.empty()) throw std::invalid_argument(err);
  if ((known == "local-bilinear" || known == "local-mlp") && o.stencil > (dim - 1) / 2)
    throw std::invalid_argument(known + ": stencil must be between 0 and (dim - 1) / 2 = " +
                                std::to_string((dim - 1) / 2) + " (a stencil of 2k + 1 sites within the " +
                                std::to_string(dim) + " of the grid), got " + std::to_string(o.stencil));
  const double d = dim, m = o.num_products, s = 2.0 * o.stencil + 1;
  if (known == "bilinear") return 2 * d * d + d * (d + m) + 3 * d + 2 * m * (d + 1);
  if (known == "mlp") return layers_num_params(d, o.widths, d);
  if (known == "local-bilinear") return (s + 1) * (2 * m + 1) + m;
  return layers_num_params(s, o.widths, 1);
}

std::unique_ptr<VectorField> make_model(const std::string& name, int dim, const ModelOptions& options) {
  const ModelEntry& entry = entry_of(name);
  if (const double p = model_num_params(name, dim, options); p > kMaxModelParams)
    throw std::invalid_argument(name + ": " + number_text(p) + " parameters, more than the " +
                                number_text(kMaxModelParams) + " a model holds; give smaller widths or fewer products");
  return entry.make(dim, options);
}

}  // namespace trk
