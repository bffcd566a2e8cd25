// When an iterative phase has converged: its loss l_k fell by at most a fraction `relative_decrease` of itself over
// the last `window` iterations,
//   l_{k-w} - l_k <= relative_decrease * |l_{k-w}|,
// judged on the phase's own loss history (one entry per accepted iteration). window = 0: never (the phase runs
// its iteration count).
#pragma once
#include <cmath>
#include <span>

namespace trk {

struct ConvergenceTest {
  int window = 0;
  double relative_decrease = 0.0;

  bool converged(std::span<const double> history) const {
    if (window <= 0 || history.size() <= static_cast<size_t>(window)) return false;
    const double before = history[history.size() - 1 - static_cast<size_t>(window)], now = history.back();
    return before - now <= relative_decrease * std::abs(before);
  }
};

}  // namespace trk
