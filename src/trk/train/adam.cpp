#include "trk/train/adam.h"

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace trk {

std::string AdamOptions::validation_error() const {
  if (!(learning_rate > 0) || !std::isfinite(learning_rate)) return "learning rate must be positive";
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) return "Adam betas must be in [0, 1)";
  if (!(eps > 0)) return "Adam eps must be positive";
  if (!(clip_norm >= 0)) return "clip norm must be >= 0";
  if (!(final_lr_fraction > 0 && final_lr_fraction <= 1)) return "final learning-rate fraction must be in (0, 1]";
  if (warmup < 0) return "warm-up must be >= 0";
  return "";
}

Adam::Adam(Eigen::Index n, const AdamOptions& o, long total) : o_(o), total_(std::max(1L, total)) {
  if (auto err = o.validation_error(); !err.empty()) throw std::invalid_argument(err);
  m_ = Vec::Zero(n);
  v_ = Vec::Zero(n);
}

void Adam::restore(const Vec& m, const Vec& v, long iteration) {
  if (m.size() != m_.size() || v.size() != v_.size() || iteration < 0)
    throw std::invalid_argument("Adam state of " + std::to_string(m.size()) + " parameters, expected " +
                                std::to_string(m_.size()));
  m_ = m;
  v_ = v;
  t_ = iteration;
}

double Adam::learning_rate(long it) const {
  double lr = o_.learning_rate;
  const double frac = std::min(1.0, static_cast<double>(it) / std::max(1L, total_ - 1));
  if (o_.schedule == LrSchedule::kCosine)
    lr *= o_.final_lr_fraction + (1 - o_.final_lr_fraction) * 0.5 * (1 + std::cos(std::numbers::pi * frac));
  else if (o_.schedule == LrSchedule::kExponential)
    lr *= std::pow(o_.final_lr_fraction, frac);
  if (it < o_.warmup) lr *= static_cast<double>(it + 1) / (o_.warmup + 1);
  return lr;
}

void Adam::step(Vec& x, Vec g) {
  if (o_.clip_norm > 0) {
    const double n = g.norm();
    if (n > o_.clip_norm) g *= o_.clip_norm / n;
  }
  const double lr = learning_rate(t_);
  ++t_;
  m_ = o_.beta1 * m_ + (1 - o_.beta1) * g;
  v_ = o_.beta2 * v_ + (1 - o_.beta2) * g.cwiseAbs2();
  const double c1 = 1 - std::pow(o_.beta1, t_), c2 = 1 - std::pow(o_.beta2, t_);
  x.array() -= lr * (m_.array() / c1) / ((v_.array() / c2).sqrt() + o_.eps);
}

}  // namespace trk
