// Levenberg-Marquardt (Marquardt 1963) on residuals r(x), loss |r|^2, with Marquardt's diagonal scaling:
//   (J^T J + mu diag(J^T J + 1e-12)) d = -J^T r;  x + d accepted when the loss decreases (mu <- max(mu / 3,
//   1e-12)), else mu <- 4 mu and solved again, up to 20 times. The problem gives J^T J and J^T r directly, so it
//   may accumulate them chunk by chunk instead of holding J. x is retracted onto the constraints after each step.
#pragma once
#include <functional>

#include "trk/core/types.h"

namespace trk {

struct LevenbergMarquardtProblem {
  std::function<Vec(const Vec& x)> residuals;
  // J^T J and J^T r at x, where r = residuals(x).
  std::function<void(const Vec& x, const Vec& r, Mat& JTJ, Vec& JTr)> normal_equations;
  std::function<void(Vec& x)> retract;  // none when empty
};

// Everything a checkpoint needs to continue bit for bit.
struct LevenbergMarquardtState {
  Vec residuals;
  double loss = 0.0;
  double mu = 1e-3;
};
template <class V>
void visit_state(LevenbergMarquardtState& st, V&& v) {
  v("residuals", st.residuals);
  v("loss", st.loss);
  v("mu", st.mu);
}

LevenbergMarquardtState levenberg_marquardt_start(const LevenbergMarquardtProblem& problem, const Vec& x);
// One iteration from x (updated in place). False when no damping gave a decrease (x unchanged).
bool levenberg_marquardt_iteration(const LevenbergMarquardtProblem& problem, Vec& x, LevenbergMarquardtState& state);

}  // namespace trk
