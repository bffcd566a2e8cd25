#include "trk/tableau/butcher_tableau.h"
#include "trk/core/number_text.h"

#include <cmath>
#include <stdexcept>

namespace trk {

bool ButcherTableau::is_explicit() const {
  for (Eigen::Index i = 0; i < A.rows(); ++i)
    for (Eigen::Index j = i; j < A.cols(); ++j)
      if (A(i, j) != 0.0) return false;
  return true;
}

std::string ButcherTableau::validation_error(double tol) const {
  const Eigen::Index q = b.size();
  if (q == 0) return "b is empty (a tableau needs at least one stage)";
  if (A.rows() != q || A.cols() != q)
    return "A is " + std::to_string(A.rows()) + "x" + std::to_string(A.cols()) + ", expected " +
           std::to_string(q) + "x" + std::to_string(q) + " (the length of b)";
  if (c.size() != q) return "c has " + std::to_string(c.size()) + " entries, expected " + std::to_string(q);
  if (!A.allFinite() || !b.allFinite() || !c.allFinite()) return "A, b or c has a non-finite entry";
  if (!is_explicit()) return "A is not strictly lower triangular (only explicit schemes are supported)";
  for (Eigen::Index i = 0; i < q; ++i)
    if (std::abs(A.row(i).sum() - c(i)) > tol * std::max(1.0, std::abs(c(i))))
      return "row " + std::to_string(i) + " of A sums to " + std::to_string(A.row(i).sum()) +
             ", but c[" + std::to_string(i) + "] = " + std::to_string(c(i));
  if (std::abs(b.sum() - 1.0) > tol) return "sum of b is " + number_text(b.sum()) + ", expected 1";
  for (const auto* e : {&error_weights, &secondary_error_weights}) {
    if (!e->has_value()) continue;
    if ((*e)->size() != q) return "error weights have " + std::to_string((*e)->size()) + " entries, expected " +
                                  std::to_string(q);
    if (!(*e)->allFinite()) return "error weights have a non-finite entry";
    if (std::abs((*e)->sum()) > tol) return "error weights sum to " + number_text((*e)->sum()) + ", expected 0";
  }
  return "";
}

void validate_or_throw(const ButcherTableau& t, double tol) {
  if (auto err = t.validation_error(tol); !err.empty())
    throw std::invalid_argument("tableau " + (t.name.empty() ? std::string("(unnamed)") : t.name) + ": " + err);
}

ButcherTableau make_explicit_tableau(std::string name, Mat A, Vec b) {
  ButcherTableau t;
  t.name = std::move(name);
  t.c = A.rowwise().sum();
  t.A = std::move(A);
  t.b = std::move(b);
  validate_or_throw(t);
  return t;
}

}  // namespace trk
