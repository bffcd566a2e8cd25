#include "trk/tableau/trainable_tableau.h"

#include <optional>
#include <stdexcept>

#include "trk/tableau/composition.h"
#include "trk/tableau/named_tableaux.h"
#include "trk/tableau/order_conditions.h"

namespace trk {

namespace {
// The classical scheme of each stage count that has one.
std::string classical_for(int q) {
  switch (q) {
    case 1: return "euler";
    case 2: return "midpoint";
    case 3: return "kutta3";
    case 4: return "rk4";
    case 7: return "dopri5";
    case 12: return "dop853";
    case 13: return "dopri8";
    default: return "euler_substeps";
  }
}
}  // namespace

std::string validate_trainable_init(const std::string& init, int q) {
  if (q < 1) return "stages must be at least 1";
  if (init == "classical" || init == "zeros" || init == "euler_substeps") return "";
  if (init == "rk4_substeps") return q % 4 == 0 ? "" : "rk4_substeps needs a multiple of 4 stages";
  if (!is_named_tableau(init))
    return "unknown initialisation '" + init + "' (classical, zeros, euler_substeps, rk4_substeps, or a named tableau)";
  if (named_tableau(init).num_stages() != q)
    return "initialisation " + init + " has " + std::to_string(named_tableau(init).num_stages()) + " stages, not " +
           std::to_string(q);
  return "";
}

TrainableTableau::TrainableTableau(int q, const std::string& init) : TrainableTableau(q) {
  if (auto err = validate_trainable_init(init, q); !err.empty()) throw std::invalid_argument(err);
  const std::string name = init == "classical" ? classical_for(q) : init;
  if (name == "rk4_substeps") {
    *this = from_tableau(substeps(named_tableau("rk4"), q / 4));
    return;
  }
  if (is_named_tableau(name)) {
    *this = from_tableau(named_tableau(name));
    return;
  }
  Mat A = Mat::Zero(q, q);
  if (name == "euler_substeps")
    for (int i = 0; i < q; ++i)
      for (int j = 0; j < i; ++j) A(i, j) = 1.0 / q;
  const Vec b = Vec::Constant(q, 1.0 / q);
  x_ = pack_gradient(A, b);
}

TrainableTableau TrainableTableau::from_tableau(const ButcherTableau& t) {
  if (!t.is_explicit()) throw std::invalid_argument("a trainable scheme must be explicit");
  TrainableTableau tt(t.num_stages());
  tt.x_ = tt.pack_gradient(t.A, t.b);
  return tt;
}

void TrainableTableau::set_params(const Vec& x) {
  if (x.size() != num_params(q_)) throw std::invalid_argument("trainable tableau: wrong parameter count");
  x_ = x;
}

Mat TrainableTableau::A() const {
  Mat A = Mat::Zero(q_, q_);
  int k = 0;
  for (int i = 1; i < q_; ++i)
    for (int j = 0; j < i; ++j) A(i, j) = x_(k++);
  return A;
}

Vec TrainableTableau::b() const { return x_.tail(q_); }

ButcherTableau TrainableTableau::tableau(const std::string& name) const {
  ButcherTableau t;
  t.name = name;
  t.A = A();
  t.b = b();
  t.c = t.A.rowwise().sum();
  return t;
}

Vec TrainableTableau::pack_gradient(const Mat& A_bar, const Vec& b_bar) const {
  Vec g(num_params(q_));
  int k = 0;
  for (int i = 1; i < q_; ++i)
    for (int j = 0; j < i; ++j) g(k++) = A_bar(i, j);
  g.tail(q_) = b_bar;
  return g;
}

void TrainableTableau::project_consistency() {
  auto b = x_.tail(q_);
  b.array() -= (b.sum() - 1.0) / q_;
}

double TrainableTableau::project_order(int p, int max_iterations) {
  project_consistency();
  if (p <= 1) return std::abs(b().sum() - 1.0);
  OrderConditionSystem s = order_condition_system(tableau("projection"), p);
  double norm = s.residual.norm();
  for (int it = 0; it < max_iterations && s.residual.cwiseAbs().maxCoeff() > 1e-14; ++it) {
    // Minimum-norm Gauss-Newton step J dx = -r (complete orthogonal decomposition: rank deficiency is fine),
    // halved until the residual decreases.
    const Vec dx = s.jacobian.completeOrthogonalDecomposition().solve(-s.residual);
    const Vec x0 = x_;
    bool improved = false;
    for (double step = 1.0; step > 1e-4 && !improved; step *= 0.5) {
      x_ = x0 + step * dx;
      OrderConditionSystem trial = order_condition_system(tableau("projection"), p);
      if (trial.residual.norm() < norm) {
        s = std::move(trial);
        norm = s.residual.norm();
        improved = true;
      }
    }
    if (!improved) {
      x_ = x0;
      break;
    }
  }
  return s.residual.cwiseAbs().maxCoeff();
}

}  // namespace trk
