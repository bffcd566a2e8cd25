#include "trk/field/polynomial.h"

#include <map>
#include <stdexcept>

namespace trk {

PolynomialLibrary::PolynomialLibrary(int dim, int degree) : dim_(dim), degree_(degree) {
  if (dim < 1) throw std::invalid_argument("PolynomialLibrary: dim must be >= 1, got " + std::to_string(dim));
  if (degree < 0) throw std::invalid_argument("PolynomialLibrary: degree must be >= 0, got " + std::to_string(degree));
  double count = 1.0;  // C(dim + degree, degree)
  for (int p = 1; p <= degree; ++p) count = count * (dim + p) / p;
  if (count > 1e6)
    throw std::invalid_argument("PolynomialLibrary: dim " + std::to_string(dim) + " and degree " +
                                std::to_string(degree) + " give more than 10^6 monomials");

  // Degree block p is the block p - 1 (in order) times z_j for every j >= the last variable of the parent,
  // j ascending: lexicographic order on the non-decreasing variable lists.
  std::vector<int> last_var{0};
  exponents_.push_back(std::vector<int>(dim, 0));
  parent_.push_back(-1);
  factor_.push_back(-1);
  int block_begin = 0;
  for (int p = 1; p <= degree; ++p) {
    const int block_end = num_terms();
    for (int parent = block_begin; parent < block_end; ++parent)
      for (int j = last_var[parent]; j < dim; ++j) {
        std::vector<int> e = exponents_[parent];
        ++e[j];
        exponents_.push_back(std::move(e));
        parent_.push_back(parent);
        factor_.push_back(j);
        last_var.push_back(j);
      }
    block_begin = block_end;
  }

  std::map<std::vector<int>, int> index_of;
  for (int k = 0; k < num_terms(); ++k) index_of[exponents_[k]] = k;
  for (int k = 0; k < num_terms(); ++k) {
    std::string name;
    for (int j = 0; j < dim; ++j) {
      const int e = exponents_[k][j];
      if (e == 0) continue;
      if (!name.empty()) name += '*';
      name += 'x';
      name += std::to_string(j + 1);
      if (e > 1) {
        name += '^';
        name += std::to_string(e);
      }
      std::vector<int> lower = exponents_[k];
      --lower[j];
      derivatives_.push_back({k, j, e, index_of.at(lower)});
    }
    names_.push_back(name.empty() ? "1" : name);
  }
}

int PolynomialLibrary::index(std::string_view name) const {
  for (int k = 0; k < num_terms(); ++k)
    if (names_[k] == name) return k;
  return -1;
}

void PolynomialLibrary::eval(const ConstMatRef& Z, MatRef Theta) const {
  Theta.row(0).setOnes();
  for (int k = 1; k < num_terms(); ++k)
    Theta.row(k) = Theta.row(parent_[k]).cwiseProduct(Z.row(factor_[k]));
}

Mat PolynomialLibrary::eval(const ConstMatRef& Z) const {
  Mat Theta(num_terms(), Z.cols());
  eval(Z, Theta);
  return Theta;
}

void PolynomialLibrary::vjp(const ConstMatRef& Theta, const ConstMatRef& G, MatRef Z_bar) const {
  for (const Derivative& d : derivatives_)
    Z_bar.row(d.var).array() += d.power * G.row(d.term).array() * Theta.row(d.lower).array();
}

PolynomialField::PolynomialField(int dim, int degree)
    : library_(dim, degree), Xi_(Mat::Zero(library_.num_terms(), dim)) {}

PolynomialField::PolynomialField(int dim, int degree, Mat Xi) : library_(dim, degree), Xi_(std::move(Xi)) {
  if (Xi_.rows() != library_.num_terms() || Xi_.cols() != dim)
    throw std::invalid_argument("PolynomialField: Xi must be " + std::to_string(library_.num_terms()) + " x " +
                                std::to_string(dim) + " (monomials x dim), got " + std::to_string(Xi_.rows()) +
                                " x " + std::to_string(Xi_.cols()));
}

void PolynomialField::set_params(const ConstVecRef& theta) {
  if (theta.size() != Xi_.size())
    throw std::invalid_argument("PolynomialField: expected " + std::to_string(Xi_.size()) + " parameters, got " +
                                std::to_string(theta.size()));
  Xi_ = theta.reshaped(Xi_.rows(), Xi_.cols());
}

void PolynomialField::eval(const ConstMatRef& Z, MatRef F) const {
  const Mat Theta = library_.eval(Z);
  F.noalias() = Xi_.transpose() * Theta;
}

void PolynomialField::vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Z_bar, Vec* theta_bar) const {
  const Mat Theta = library_.eval(Z);
  const Mat G = Xi_ * U;
  library_.vjp(Theta, G, Z_bar);
  if (theta_bar) *theta_bar += (Theta * U.transpose()).reshaped();
}

}  // namespace trk
