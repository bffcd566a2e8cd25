#include "trk/train/lbfgs.h"

#include <algorithm>
#include <cmath>

namespace trk {

namespace {
Vec projected(const LbfgsProblem& p, Vec g) { return p.project_gradient ? p.project_gradient(std::move(g)) : g; }

// d = -H g by the two-loop recursion.
Vec direction(const LbfgsState& st) {
  Vec d = -st.gradient;
  const int m = static_cast<int>(st.s.size());
  std::vector<double> alpha(m), rho(m);
  for (int i = m - 1; i >= 0; --i) {
    rho[i] = 1.0 / st.s[i].dot(st.y[i]);
    alpha[i] = rho[i] * st.s[i].dot(d);
    d -= alpha[i] * st.y[i];
  }
  if (m > 0) d *= st.s[m - 1].dot(st.y[m - 1]) / st.y[m - 1].squaredNorm();
  for (int i = 0; i < m; ++i) {
    const double beta = rho[i] * st.y[i].dot(d);
    d += (alpha[i] - beta) * st.s[i];
  }
  return d;
}
}  // namespace

LbfgsState lbfgs_start(const LbfgsProblem& problem, const Vec& x) {
  LbfgsState st;
  Vec g;
  st.loss = problem.evaluate(x, g);
  st.gradient = projected(problem, std::move(g));
  return st;
}

bool lbfgs_iteration(const LbfgsProblem& problem, const LbfgsOptions& options, Vec& x, LbfgsState& st) {
  Vec d = direction(st);
  double slope = st.gradient.dot(d);
  if (!(slope < 0)) {  // not a descent direction: forget the memory
    st.s.clear();
    st.y.clear();
    d = -st.gradient;
    slope = st.gradient.dot(d);
  }
  double t = st.s.empty() ? std::min(1.0, 1e-3 / std::max(st.gradient.norm(), 1e-300)) : 1.0;
  Vec x_new, g_trial;
  double loss_trial = 0.0;
  bool accepted = false;
  for (int k = 0; k < options.max_backtracks; ++k, t *= 0.5) {
    x_new = x + t * d;
    loss_trial = problem.evaluate(x_new, g_trial);
    if (std::isfinite(loss_trial) && g_trial.allFinite() && loss_trial <= st.loss + 1e-4 * t * slope) {
      accepted = true;
      break;
    }
  }
  if (!accepted) return false;
  Vec g_new = projected(problem, std::move(g_trial));
  Vec s_k = x_new - x, y_k = g_new - st.gradient;
  if (s_k.dot(y_k) > 1e-12 * s_k.norm() * y_k.norm()) {
    st.s.push_back(std::move(s_k));
    st.y.push_back(std::move(y_k));
    if (static_cast<int>(st.s.size()) > options.memory) {
      st.s.erase(st.s.begin());
      st.y.erase(st.y.begin());
    }
  }
  x = std::move(x_new);
  st.gradient = std::move(g_new);
  st.loss = loss_trial;
  if (problem.retract) problem.retract(x);
  return true;
}

}  // namespace trk
