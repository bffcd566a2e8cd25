#include "trk/train/sindy.h"
#include "trk/core/number_text.h"

#include <cmath>
#include <iomanip>
#include <sstream>
#include <stdexcept>

namespace trk {

namespace {

using Support = Eigen::Array<bool, Eigen::Dynamic, Eigen::Dynamic>;

// Least squares for the columns `terms` of Theta against y; the other coefficients are zero.
class LeastSquares {
 public:
  LeastSquares(const Mat& Theta, const Mat& Zdot, double ridge) : Theta_(Theta), Zdot_(Zdot), ridge_(ridge) {
    if (ridge_ > 0) {
      gram_ = Theta.transpose() * Theta;
      moment_ = Theta.transpose() * Zdot;
    }
  }

  // All terms, all components.
  Mat fit_all() const {
    if (ridge_ > 0) return (gram_ + ridge_ * Mat::Identity(gram_.rows(), gram_.cols())).ldlt().solve(moment_);
    return Theta_.colPivHouseholderQr().solve(Zdot_);
  }

  // Component i on the terms where keep is true.
  Vec fit(const Support& keep, int i) const {
    std::vector<int> terms;
    for (int k = 0; k < keep.rows(); ++k)
      if (keep(k, i)) terms.push_back(k);
    Vec xi = Vec::Zero(Theta_.cols());
    if (terms.empty()) return xi;
    const int m = static_cast<int>(terms.size());
    Vec sol;
    if (ridge_ > 0) {
      Mat A(m, m);
      Vec r(m);
      for (int a = 0; a < m; ++a) {
        r(a) = moment_(terms[a], i);
        for (int b = 0; b < m; ++b) A(a, b) = gram_(terms[a], terms[b]);
      }
      A.diagonal().array() += ridge_;
      sol = A.ldlt().solve(r);
    } else {
      Mat A(Theta_.rows(), m);
      for (int a = 0; a < m; ++a) A.col(a) = Theta_.col(terms[a]);
      sol = A.colPivHouseholderQr().solve(Zdot_.col(i));
    }
    for (int a = 0; a < m; ++a) xi(terms[a]) = sol(a);
    return xi;
  }

 private:
  const Mat& Theta_;
  const Mat& Zdot_;
  double ridge_;
  Mat gram_, moment_;
};

std::string format_number(double v, int precision) {
  std::ostringstream s;
  s << std::setprecision(precision) << v;
  return s.str();
}

}  // namespace

std::string SindyOptions::validation_error() const {
  if (degree < 0) return "degree must be >= 0, got " + std::to_string(degree);
  if (!std::isfinite(threshold) || threshold < 0)
    return "threshold must be finite and >= 0, got " + number_text(threshold);
  if (iterations < 0) return "iterations must be >= 0, got " + std::to_string(iterations);
  if (derivative != "central" && derivative != "forward")
    return "derivative must be \"central\" or \"forward\", got \"" + derivative + "\"";
  if (!std::isfinite(ridge) || ridge < 0) return "ridge must be finite and >= 0, got " + number_text(ridge);
  return "";
}

PolynomialField SindySummary::field() const { return PolynomialField(dim, degree, Xi); }

std::string SindySummary::equations(int precision) const {
  std::string out;
  for (int i = 0; i < Xi.cols(); ++i) {
    std::string line = "dx" + std::to_string(i + 1) + "/dt =";
    bool first = true;
    for (int k = 0; k < Xi.rows(); ++k) {
      const double c = Xi(k, i);
      if (c == 0.0) continue;
      std::string term = format_number(first ? c : std::abs(c), precision);
      if (names[k] != "1") term += " " + names[k];
      line += first ? " " + term : (c < 0 ? " - " : " + ") + term;
      first = false;
    }
    if (first) line += " 0";
    out += line + "\n";
  }
  return out;
}

Mat finite_difference_derivative(const ConstMatRef& Z, double h, const std::string& scheme) {
  if (!(h > 0) || !std::isfinite(h))
    throw std::invalid_argument("finite_difference_derivative: h must be finite and > 0");
  const Eigen::Index n = Z.cols();
  if (n < 3)
    throw std::invalid_argument("finite_difference_derivative: a trajectory needs at least 3 samples, got " +
                                std::to_string(n));
  Mat D(Z.rows(), n);
  if (scheme == "central") {
    D.middleCols(1, n - 2) = (Z.rightCols(n - 2) - Z.leftCols(n - 2)) / (2 * h);
    D.col(0) = (-3 * Z.col(0) + 4 * Z.col(1) - Z.col(2)) / (2 * h);
    D.col(n - 1) = (3 * Z.col(n - 1) - 4 * Z.col(n - 2) + Z.col(n - 3)) / (2 * h);
  } else if (scheme == "forward") {
    D.leftCols(n - 1) = (Z.rightCols(n - 1) - Z.leftCols(n - 1)) / h;
    D.col(n - 1) = (Z.col(n - 1) - Z.col(n - 2)) / h;
  } else {
    throw std::invalid_argument("finite_difference_derivative: scheme must be \"central\" or \"forward\", got \"" +
                                scheme + "\"");
  }
  return D;
}

SindySummary sindy(const std::vector<Mat>& trajectories, double h, const SindyOptions& options) {
  if (auto err = options.validation_error(); !err.empty()) throw std::invalid_argument("SindyOptions: " + err);
  if (trajectories.empty()) throw std::invalid_argument("sindy: no trajectories");
  if (!(h > 0) || !std::isfinite(h)) throw std::invalid_argument("sindy: h must be finite and > 0");
  const int dim = static_cast<int>(trajectories.front().rows());
  long num_samples = 0;
  for (size_t r = 0; r < trajectories.size(); ++r) {
    const Mat& Z = trajectories[r];
    const std::string which = "sindy: trajectory " + std::to_string(r);
    if (Z.rows() != dim || dim < 1)
      throw std::invalid_argument(which + " has dimension " + std::to_string(Z.rows()) + ", expected " +
                                  std::to_string(dim) + " (>= 1)");
    if (Z.cols() < 3) throw std::invalid_argument(which + " has " + std::to_string(Z.cols()) + " samples, needs >= 3");
    if (!Z.allFinite()) throw std::invalid_argument(which + " has non-finite values");
    num_samples += Z.cols();
  }
  const PolynomialLibrary library(dim, options.degree);
  const int K = library.num_terms();
  if (num_samples < K)
    throw std::invalid_argument("sindy: " + std::to_string(num_samples) + " samples for " + std::to_string(K) +
                                " library terms; need at least as many samples as terms");

  // Stack samples as rows: Theta (N x K), Zdot (N x dim).
  Mat Theta(num_samples, K), Zdot(num_samples, dim);
  long row = 0;
  for (const Mat& Z : trajectories) {
    Theta.middleRows(row, Z.cols()) = library.eval(Z).transpose();
    Zdot.middleRows(row, Z.cols()) = finite_difference_derivative(Z, h, options.derivative).transpose();
    row += Z.cols();
  }

  const LeastSquares solver(Theta, Zdot, options.ridge);
  Mat Xi = solver.fit_all();
  Support previous;
  int rounds = 0;
  for (int it = 0; it < options.iterations; ++it) {
    const Support keep = Xi.array().abs() >= options.threshold;
    if (it > 0 && (keep == previous).all()) break;  // every kept term survives: the refit would give Xi again
    for (int i = 0; i < dim; ++i) Xi.col(i) = solver.fit(keep, i);
    previous = keep;
    rounds = it + 1;
  }

  SindySummary s;
  s.dim = dim;
  s.degree = options.degree;
  s.names = library.names();
  s.num_nonzero = static_cast<int>((Xi.array() != 0.0).count());
  s.num_samples = num_samples;
  s.num_iterations = rounds;
  const Mat residual = Theta * Xi - Zdot;
  s.component_residual_rms = (residual.colwise().squaredNorm().transpose() / double(num_samples)).cwiseSqrt();
  s.residual_rms = std::sqrt(residual.squaredNorm() / (double(num_samples) * dim));
  s.Xi = std::move(Xi);
  return s;
}

}  // namespace trk
