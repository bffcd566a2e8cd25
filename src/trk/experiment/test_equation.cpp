#include "trk/experiment/test_equation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include "trk/tableau/named_tableaux.h"
#include "trk/tableau/order_conditions.h"
#include "trk/tableau/stability.h"
#include "trk/tableau/trainable_tableau.h"
#include <Eigen/SVD>

namespace trk {

std::string to_string(TestAxis a) {
  switch (a) {
    case TestAxis::kReal: return "real";
    case TestAxis::kImaginary: return "imaginary";
    case TestAxis::kSector: return "sector";
  }
  return "?";
}

TestAxis parse_test_axis(const std::string& name) {
  if (name == "real") return TestAxis::kReal;
  if (name == "imaginary") return TestAxis::kImaginary;
  if (name == "sector") return TestAxis::kSector;
  throw std::invalid_argument("unknown axis '" + name + "' (real, imaginary, sector)");
}

std::string TestEquationOptions::validation_error() const {
  if (stages.empty()) return "stages: give at least one stage count";
  for (int q : stages)
    if (q < 1 || q > kMaxRkcStages) return "stages must be in 1.." + std::to_string(kMaxRkcStages);
  if (orders.empty()) return "orders: give at least one order";
  for (int p : orders)
    if (p != 1 && p != 2) return "orders must be 1 or 2";
  if (axes.empty()) return "axes: give at least one of real, imaginary, sector";
  for (const auto& a : axes)
    if (a != "real" && a != "imaginary" && a != "sector") return "unknown axis '" + a + "' (real, imaginary, sector)";
  for (int q : stages)
    if (auto e = validate_trainable_init(init, q); !e.empty()) return "init: " + e;
  auto in = [](double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; };
  if (!in(margin, 0, 0.5)) return "margin must be in [0, 0.5]";
  if (!in(slow_extent, 0, 10)) return "slow extent must be in [0, 10]";
  if (!(slow_tolerance > 0) || !std::isfinite(slow_tolerance)) return "slow tolerance must be > 0";
  if (!in(sector_degrees, 0, 89)) return "sector degrees must be in [0, 89]";
  if (!in(cushion, 0, 0.5)) return "cushion must be in [0, 0.5]";
  if (points_per_stage < 2) return "points per stage must be at least 2";
  if (train_angles < 0 || judge_angles < 0) return "train and judge angles must be >= 0";
  if (judge_points < 10) return "judge points must be at least 10";
  if (iterations < 1) return "iterations must be at least 1";
  if (!(growth > 1) || !std::isfinite(growth) || growth > 4) return "growth must be in (1, 4]";
  if (!(min_growth > 1) || min_growth > growth) return "min growth must be in (1, growth]";
  for (const auto& c : compare)
    if (c != "rkc" && !is_named_tableau(c)) return "unknown comparison scheme '" + c + "'";
  return "";
}

std::vector<std::complex<double>> test_spectrum(TestAxis axis, double extent, int radii, int angles,
                                                double sector_degrees) {
  std::vector<double> thetas;  // angle from the negative real axis
  if (axis == TestAxis::kReal) thetas = {0.0};
  if (axis == TestAxis::kImaginary) thetas = {std::numbers::pi / 2};
  if (axis == TestAxis::kSector)
    for (int k = 0; k <= angles; ++k)
      thetas.push_back(sector_degrees * std::numbers::pi / 180 * k / std::max(angles, 1));
  std::vector<std::complex<double>> z;
  for (double theta : thetas) {
    const std::complex<double> dir(-std::cos(theta), std::sin(theta));
    if (axis == TestAxis::kImaginary) z.push_back(0.0);
    for (int i = 1; i < radii; ++i) z.push_back(dir * (extent * i / (radii - 1)));
  }
  return z;
}

namespace {

double tau_of(std::complex<double> z, const TestEquationOptions& o) {
  return std::max(1 - o.margin, std::abs(std::exp(z)));
}

// The judging criterion at one point (1e-12: rounding room where a bound is met with equality, R(0) = 1).
bool passes(const Mat& A, const Vec& b, Complex z, const TestEquationOptions& o) {
  const Complex r = tableau_stability_function(A, b, z);
  if (std::abs(z) <= o.slow_extent)
    return std::abs(r - std::exp(z)) <= o.slow_tolerance && std::abs(r) <= 1 + 1e-12;
  return std::abs(r) <= tau_of(z, o) + 1e-12;
}

}  // namespace

double test_equation_extent(const ButcherTableau& t, TestAxis axis, double max_extent, const TestEquationOptions& o) {
  const Mat A = t.A;
  const Vec b = t.b;
  std::vector<double> thetas;
  if (axis == TestAxis::kReal) thetas = {0.0};
  if (axis == TestAxis::kImaginary) thetas = {std::numbers::pi / 2};
  if (axis == TestAxis::kSector)
    for (int k = 0; k <= o.judge_angles; ++k)
      thetas.push_back(o.sector_degrees * std::numbers::pi / 180 * k / std::max(o.judge_angles, 1));
  double extent = max_extent;
  for (double theta : thetas) {
    const std::complex<double> dir(-std::cos(theta), std::sin(theta));
    for (int i = 0; i < o.judge_points; ++i) {
      const double r = max_extent * i / (o.judge_points - 1);
      if (r > extent) break;
      if (!passes(A, b, dir * r, o)) {
        extent = std::min(extent, max_extent * std::max(i - 1, 0) / (o.judge_points - 1));
        break;
      }
    }
  }
  return extent;
}

Complex tableau_stability_function(const Mat& A, const Vec& b, Complex z, std::vector<Complex>* Y,
                                   std::vector<Complex>* W) {
  const int q = static_cast<int>(b.size());
  std::vector<Complex> y(q), w(q);
  for (int i = 0; i < q; ++i) {  // (I - zA) Y = 1
    Complex s = 0;
    for (int j = 0; j < i; ++j) s += A(i, j) * y[j];
    y[i] = 1.0 + z * s;
  }
  Complex R = 0;
  for (int i = 0; i < q; ++i) R += b(i) * y[i];
  R = 1.0 + z * R;
  if (W) {
    for (int j = q - 1; j >= 0; --j) {  // (I - zA)^T W = b
      Complex s = 0;
      for (int i = j + 1; i < q; ++i) s += A(i, j) * w[i];
      w[j] = b(j) + z * s;
    }
    *W = std::move(w);
  }
  if (Y) *Y = std::move(y);
  return R;
}

Vec test_equation_residuals(const Mat& A, const Vec& b, const std::vector<Complex>& z,
                            const TestEquationOptions& o, Mat* jacobian) {
  const int q = static_cast<int>(b.size());
  // Rows: one stability residual per point, then one accuracy residual per slow point.
  std::vector<std::pair<int, bool>> rows;  // (point, accuracy)
  for (int j = 0; j < static_cast<int>(z.size()); ++j) rows.push_back({j, false});
  for (int j = 0; j < static_cast<int>(z.size()); ++j)
    if (std::abs(z[j]) <= o.slow_extent) rows.push_back({j, true});
  Vec r = Vec::Zero(static_cast<Eigen::Index>(rows.size()));
  if (jacobian) *jacobian = Mat::Zero(r.size(), TrainableTableau::num_params(q));
  std::vector<Complex> Y, W;
  for (size_t n = 0; n < rows.size(); ++n) {
    const auto [j, accuracy] = rows[n];
    const Complex R = tableau_stability_function(A, b, z[j], jacobian ? &Y : nullptr, jacobian ? &W : nullptr);
    const Complex e = std::exp(z[j]);
    const bool slow = std::abs(z[j]) <= o.slow_extent;
    Complex w;  // the quantity whose modulus is bounded
    double bound = 0;
    if (accuracy) {
      w = R - e;
      bound = o.slow_tolerance * (1 - o.cushion);
    } else {
      w = R;
      bound = slow ? 1.0 : tau_of(z[j], o) * (1 - o.cushion * (1 - std::abs(e)));
    }
    const double m = std::abs(w);
    if (m <= bound) continue;
    r(static_cast<Eigen::Index>(n)) = m - bound;
    if (!jacobian) continue;
    // d|w| = Re(conj(w) dR) / |w|,  dR/db_i = z Y_i,  dR/da_ik = z^2 W_i Y_k; a_ik at column i(i-1)/2 + k, b_i at
    // q(q-1)/2 + i (trainable_tableau.h).
    const Complex u = std::conj(w) / m;
    auto row = jacobian->row(static_cast<Eigen::Index>(n));
    for (int i = 0; i < q; ++i) {
      row(q * (q - 1) / 2 + i) = (u * z[j] * Y[i]).real();
      for (int k = 0; k < i; ++k) row(i * (i - 1) / 2 + k) = (u * z[j] * z[j] * W[i] * Y[k]).real();
    }
  }
  return r;
}

double test_equation_limit(int q, int order, TestAxis axis) {
  if (axis == TestAxis::kImaginary) return q - 1;
  if (axis == TestAxis::kReal) return order == 1 ? 2.0 * q * q : (q == 2 ? 2.0 : 0.82 * q * q);
  return 0.0;
}

namespace {

// Levenberg-Marquardt at one extent, on the tangent space of the order conditions: with N the Jacobian of the
// conditions up to `order` at x and T an orthonormal basis of its null space, the step is d = T e,
//   (T^T J^T J T + mu diag(T^T J^T J T + 1e-12)) e = -T^T J^T r,
// then x + d is projected back onto the conditions (trainable_tableau.h). Accepted when the loss |r|^2 decreases
// (mu <- mu / 3), else mu <- 4 mu, up to 20 times. (A step taken in all of x and projected afterwards loses most of
// its effect: sum b moves R(z) at large |z| most, and the projection undoes exactly that.)
void train_at(TrainableTableau& tt, int order, const std::vector<Complex>& z, const TestEquationOptions& o) {
  auto residuals = [&](const Vec& x, Mat* J) {
    TrainableTableau t = tt;
    t.set_params(x);
    return test_equation_residuals(t.A(), t.b(), z, o, J);
  };
  Vec x = tt.params();
  Mat J;
  Vec r = residuals(x, &J);
  double loss = r.squaredNorm(), mu = 1e-3;
  for (int it = 0; it < o.iterations && loss > 0; ++it) {
    TrainableTableau t = tt;
    t.set_params(x);
    const Mat N = order_condition_system(t.tableau("x"), order).jacobian;
    const Eigen::JacobiSVD<Mat> svd(N, Eigen::ComputeFullV);
    const int rank = static_cast<int>(svd.rank());
    const Mat T = svd.matrixV().rightCols(N.cols() - rank);
    const Mat JT = J * T;
    const Mat H = JT.transpose() * JT;
    const Vec g = JT.transpose() * r;
    bool stepped = false;
    for (int tries = 0; tries < 20 && !stepped; ++tries) {
      Mat M = H;
      M.diagonal() += mu * (H.diagonal().array() + 1e-12).matrix();
      TrainableTableau trial = tt;
      trial.set_params(x + T * (-M.ldlt().solve(g)));
      trial.project_order(order);
      Mat Jn;
      Vec rn = residuals(trial.params(), &Jn);
      const double ln = rn.squaredNorm();
      if (std::isfinite(ln) && ln < loss) {
        x = trial.params();
        r = std::move(rn);
        J = std::move(Jn);
        loss = ln;
        mu = std::max(mu / 3, 1e-12);
        stepped = true;
      } else {
        mu *= 4;
      }
    }
    if (!stepped) break;
  }
  tt.set_params(x);
}

TestEquationRow row_for(const ButcherTableau& t, int q, int order, TestAxis axis, const TestEquationOptions& o,
                        double max_extent) {
  TestEquationRow row;
  row.stages = q;
  row.order = order;
  row.axis = axis;
  row.scheme = t.name;
  row.tableau = t;
  row.extent = test_equation_extent(t, axis, max_extent, o);
  row.limit = test_equation_limit(q, order, axis);
  row.real_axis_interval = real_axis_interval(t);
  row.imag_axis_interval = imag_axis_interval(t);
  row.achieved_order = trk::order(t, kOrderConditionTol, 4);
  return row;
}

}  // namespace

TestEquationSummary test_equation_sweep(const TestEquationOptions& o,
                                        const std::function<void(const std::string&)>& log) {
  if (auto e = o.validation_error(); !e.empty()) throw std::invalid_argument(e);
  TestEquationSummary s;
  for (const auto& axis_name : o.axes) {
    const TestAxis axis = parse_test_axis(axis_name);
    for (int order : o.orders) {
      for (int q : o.stages) {
        if (order > q) continue;  // no q-stage explicit scheme of that order
        const double max_extent = 2.5 * q * q + 10;
        const auto t0 = std::chrono::steady_clock::now();
        TrainableTableau kept(q, o.init);
        kept.project_order(order);
        const int radii = o.points_per_stage * q;
        double L = std::max(test_equation_extent(kept.tableau("init"), axis, max_extent, o), 2 * o.slow_extent);
        std::vector<double> extents;
        double factor = o.growth;
        while (factor >= o.min_growth) {
          const double next = L * factor;
          TrainableTableau trial = kept;
          const auto z = test_spectrum(axis, next, radii, o.train_angles, o.sector_degrees);
          train_at(trial, order, z, o);
          if (test_equation_extent(trial.tableau("trial"), axis, next, o) >= next * (1 - 1e-12)) {
            kept = trial;
            L = next;
            extents.push_back(L);
          } else {
            factor = std::sqrt(factor);
          }
        }
        TestEquationRow row = row_for(kept.tableau("trk" + std::to_string(q)), q, order, axis, o, max_extent);
        row.trained = true;
        row.extents = extents;
        row.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (log)
          log(axis_name + " order " + std::to_string(order) + " trk" + std::to_string(q) + ": extent " +
              std::to_string(row.extent) + " (limit " + std::to_string(row.limit) + ", real-axis interval " +
              std::to_string(row.real_axis_interval) + ")");
        s.rows.push_back(row);
        for (const auto& c : o.compare) {
          const std::string name = c == "rkc" ? "rkc" + std::to_string(order) + "_" + std::to_string(q) : c;
          if (!is_named_tableau(name)) continue;  // rkc2_1
          s.rows.push_back(row_for(named_tableau(name), q, order, axis, o, max_extent));
        }
      }
    }
  }
  return s;
}

}  // namespace trk
