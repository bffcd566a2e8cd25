// Adam (Kingma & Ba 2015) with bias correction, optional clipping of the gradient's global norm, and a
// learning-rate schedule:  m = b1 m + (1-b1) g,  v = b2 v + (1-b2) g^2,  x -= lr_t m_hat / (sqrt(v_hat) + eps).
#pragma once
#include <string>

#include "trk/core/enum_names.h"
#include "trk/core/fields.h"
#include "trk/core/types.h"

namespace trk {

enum class LrSchedule { kConstant, kCosine, kExponential };
template <>
struct EnumNames<LrSchedule> {
  static constexpr std::pair<LrSchedule, const char*> items[] = {
      {LrSchedule::kConstant, "constant"}, {LrSchedule::kCosine, "cosine"}, {LrSchedule::kExponential, "exponential"}};
};
// Throws std::invalid_argument listing the choices.
inline LrSchedule parse_lr_schedule(const std::string& s) {
  return parse_enum_or_throw<LrSchedule>(s, "learning-rate schedule");
}

struct AdamOptions {
  double learning_rate = 1e-3;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double clip_norm = 0.0;            // 0: no clipping
  LrSchedule schedule = LrSchedule::kConstant;
  double final_lr_fraction = 0.01;   // cosine / exponential: lr at the last iteration = fraction x lr
  int warmup = 0;                    // linear warm-up iterations
  std::string validation_error() const;
};
template <class V>
void visit_fields(AdamOptions& o, V&& v) {
  v(Field{"learning_rate", "Adam learning rate"}, o.learning_rate);
  v(Field{"schedule", "learning-rate schedule: constant | cosine | exponential"}, o.schedule);
  v(Field{"final_lr_fraction", "cosine, exponential: last learning rate / first"}, o.final_lr_fraction);
  v(Field{"clip_norm", "clip the gradient's global norm (0: no clipping)"}, o.clip_norm);
  v(Field{"warmup", "linear warm-up iterations"}, o.warmup);
}

class Adam {
 public:
  Adam(Eigen::Index num_params, const AdamOptions& options, long total_iterations);
  double learning_rate(long iteration) const;
  // One update of x with gradient g at the current iteration (0-based, advanced by step).
  void step(Vec& x, Vec g);
  long iteration() const { return t_; }
  // State for checkpoints: moments and iteration; restore() puts a saved state back (sizes must match).
  const Vec& m() const { return m_; }
  const Vec& v() const { return v_; }
  void restore(const Vec& m, const Vec& v, long iteration);

 private:
  AdamOptions o_;
  long total_;
  long t_ = 0;
  Vec m_, v_;
};

}  // namespace trk
