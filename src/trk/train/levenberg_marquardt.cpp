#include "trk/train/levenberg_marquardt.h"

#include <algorithm>
#include <cmath>

namespace trk {

LevenbergMarquardtState levenberg_marquardt_start(const LevenbergMarquardtProblem& problem, const Vec& x) {
  LevenbergMarquardtState st;
  st.residuals = problem.residuals(x);
  st.loss = st.residuals.squaredNorm();
  return st;
}

bool levenberg_marquardt_iteration(const LevenbergMarquardtProblem& problem, Vec& x, LevenbergMarquardtState& st) {
  Mat JTJ;
  Vec g;
  problem.normal_equations(x, st.residuals, JTJ, g);
  for (int tries = 0; tries < 20; ++tries) {
    Mat M = JTJ;
    M.diagonal() += st.mu * (JTJ.diagonal().array() + 1e-12).matrix();
    const Vec d = -M.ldlt().solve(g);
    Vec xn = x + d;
    if (problem.retract) problem.retract(xn);
    Vec rn = problem.residuals(xn);
    const double ln = rn.squaredNorm();
    if (std::isfinite(ln) && ln < st.loss) {
      x = std::move(xn);
      st.residuals = std::move(rn);
      st.loss = ln;
      st.mu = std::max(st.mu / 3.0, 1e-12);
      return true;
    }
    st.mu *= 4.0;
  }
  return false;
}

}  // namespace trk
