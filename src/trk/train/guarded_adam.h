// Adam guarded by an OnDivergence policy (core/status.h), for every Adam phase of fit and identify:
//   a finite loss and gradient at x: x is remembered as the last good parameters, then the Adam step;
//   a non-finite loss, gradient or step: x goes back to the last good parameters; with lower_lr the learning rate
//   is halved (Adam moments kept when finite), up to 10 times; otherwise (and after that) a count goes up, and 10
//   in a row stop training. A finite loss at the restored parameters is no progress: the count is reset only by a
//   finite loss after a step taken from there (else a step that always diverges would alternate with its
//   restoration for ever).
#pragma once
#include <string>

#include "trk/core/status.h"
#include "trk/train/adam.h"

namespace trk {

// Everything a checkpoint needs to continue the optimiser bit for bit.
struct GuardedAdamState {
  Vec m, v;                  // Adam moments
  long t = 0;                // Adam iteration
  Vec last_good;             // the parameters of the last finite loss
  double learning_rate = 0;  // current (halved by lower_lr)
  int bad_in_a_row = 0;      // non-finite results since the last step that led to a finite loss
  int halvings = 0;          // learning-rate halvings so far
  bool restored = false;     // the parameters were just put back to last_good
};
template <class V>
void visit_state(GuardedAdamState& s, V&& v) {
  v("m", s.m);
  v("v", s.v);
  v("t", s.t);
  v("last_good", s.last_good);
  v("learning_rate", s.learning_rate);
  v("bad_in_a_row", s.bad_in_a_row);
  v("halvings", s.halvings);
  v("restored", s.restored);
}

class GuardedAdam {
 public:
  // total_iterations: the length of the learning-rate schedule.
  GuardedAdam(const Vec& x0, const AdamOptions& options, long total_iterations, OnDivergence policy);
  // Continue from a saved state (sizes must match).
  void restore(const GuardedAdamState& state);
  GuardedAdamState state() const;
  // The divergence state (learning rate, counts) of an earlier phase carried into this one.
  void continue_from(const GuardedAdam& earlier);

  // A finite loss with gradient g at x: remember x, take the Adam step (the caller projects x afterwards).
  void step(Vec& x, const Vec& g);
  // A non-finite loss, gradient or step at x: x back to the last good parameters, then the policy. Returns true
  // when training must stop; `what_happened` says what was done ("learning rate halved to ...", ...).
  bool diverged(Vec& x, std::string& what_happened);

  int halvings() const { return halvings_; }
  double learning_rate() const { return learning_rate_; }

 private:
  AdamOptions options_;
  long total_;
  OnDivergence policy_;
  Adam adam_;
  Vec last_good_;
  double learning_rate_;
  int bad_in_a_row_ = 0, halvings_ = 0;
  bool restored_ = false;
};

}  // namespace trk
