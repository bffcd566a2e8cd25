#include "trk/train/guarded_adam.h"

#include <cstdio>

namespace trk {

namespace {
AdamOptions with_learning_rate(AdamOptions o, double learning_rate) {
  o.learning_rate = learning_rate;
  return o;
}
}  // namespace

GuardedAdam::GuardedAdam(const Vec& x0, const AdamOptions& options, long total_iterations, OnDivergence policy)
    : options_(options),
      total_(total_iterations),
      policy_(policy),
      adam_(x0.size(), options, total_iterations),
      last_good_(x0),
      learning_rate_(options.learning_rate) {}

void GuardedAdam::restore(const GuardedAdamState& s) {
  learning_rate_ = s.learning_rate > 0 ? s.learning_rate : options_.learning_rate;
  adam_ = Adam(s.last_good.size(), with_learning_rate(options_, learning_rate_), total_);
  adam_.restore(s.m, s.v, s.t);
  last_good_ = s.last_good;
  bad_in_a_row_ = s.bad_in_a_row;
  halvings_ = s.halvings;
  restored_ = s.restored;
}

GuardedAdamState GuardedAdam::state() const {
  return {adam_.m(), adam_.v(), adam_.iteration(), last_good_, learning_rate_, bad_in_a_row_, halvings_, restored_};
}

void GuardedAdam::continue_from(const GuardedAdam& earlier) {
  learning_rate_ = earlier.learning_rate_;
  bad_in_a_row_ = earlier.bad_in_a_row_;
  halvings_ = earlier.halvings_;
  restored_ = earlier.restored_;
  adam_ = Adam(last_good_.size(), with_learning_rate(options_, learning_rate_), total_);
}

void GuardedAdam::step(Vec& x, const Vec& g) {
  if (!restored_) bad_in_a_row_ = 0;  // the last step led to a finite loss
  restored_ = false;
  last_good_ = x;
  adam_.step(x, g);
}

bool GuardedAdam::diverged(Vec& x, std::string& what_happened) {
  x = last_good_;
  restored_ = true;
  if (policy_ == OnDivergence::kLowerLr && halvings_ < 10) {
    learning_rate_ *= 0.5;
    ++halvings_;
    const Adam previous = adam_;
    adam_ = Adam(x.size(), with_learning_rate(options_, learning_rate_), total_);
    const bool finite = previous.m().allFinite() && previous.v().allFinite();
    adam_.restore(finite ? previous.m() : Vec::Zero(x.size()), finite ? previous.v() : Vec::Zero(x.size()),
                  previous.iteration());
    char line[96];
    std::snprintf(line, sizeof line, "learning rate halved to %g", learning_rate_);
    what_happened = line;
    return false;
  }
  if (++bad_in_a_row_ >= 10) {
    what_happened = "10 times in a row: training stopped";
    return true;
  }
  what_happened = "restored";
  return false;
}

}  // namespace trk
