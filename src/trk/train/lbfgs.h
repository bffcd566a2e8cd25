// L-BFGS (Nocedal & Wright 2006, algorithm 7.4) with a backtracking Armijo line search, on a constraint set
// {x : c(x) = 0} kept by projection: the gradient is projected onto the tangent space before it enters the
// two-loop recursion (so every direction stays in it), and x is retracted onto the set after each step.
//   d = -H g (two-loop recursion over the last `memory` pairs s_k = x_{k+1} - x_k, y_k = g_{k+1} - g_k),
//   t = 1, 1/2, 1/4, ... until L(x + t d) <= L(x) + 1e-4 t g^T d (first iteration: t0 = min(1, 1e-3 / |g|)).
// A pair enters the memory only when s^T y > 1e-12 |s| |y|.
#pragma once
#include <functional>
#include <vector>

#include "trk/core/types.h"

namespace trk {

struct LbfgsOptions {
  int memory = 20;
  int max_backtracks = 40;
};

struct LbfgsProblem {
  // Loss and gradient at x; sets loss non-finite when it cannot be evaluated.
  std::function<double(const Vec& x, Vec& gradient)> evaluate;
  std::function<Vec(Vec gradient)> project_gradient;  // identity when empty
  std::function<void(Vec& x)> retract;                // none when empty
};

// Everything a checkpoint needs to continue bit for bit: loss and projected gradient at x, the memory pairs.
struct LbfgsState {
  double loss = 0.0;
  Vec gradient;
  std::vector<Vec> s, y;
};
template <class V>
void visit_state(LbfgsState& st, V&& v) {
  v("loss", st.loss);
  v("gradient", st.gradient);
  v("s", st.s);
  v("y", st.y);
}

LbfgsState lbfgs_start(const LbfgsProblem& problem, const Vec& x);
// One iteration from x (updated in place). False when the line search found no decrease (x unchanged).
bool lbfgs_iteration(const LbfgsProblem& problem, const LbfgsOptions& options, Vec& x, LbfgsState& state);

}  // namespace trk
