#include "trk/train/adam.h"

#include <gtest/gtest.h>

namespace trk {
namespace {

TEST(Adam, MinimisesAnIllConditionedQuadratic) {
  Vec x(3);
  x << 5, -3, 2;
  const Vec scale = Vec{{1.0, 100.0, 0.01}};
  Adam adam(3, {.learning_rate = 0.05}, 3000);
  for (int it = 0; it < 3000; ++it) adam.step(x, 2 * scale.cwiseProduct(x));
  EXPECT_LT(x.cwiseAbs().maxCoeff(), 1e-3);
  EXPECT_EQ(adam.iteration(), 3000);
}

TEST(Adam, FirstStepMovesEachCoordinateByTheLearningRate) {
  Vec x = Vec::Zero(2);
  Adam adam(2, {.learning_rate = 0.1}, 10);
  adam.step(x, Vec{{3.0, -1e-3}});
  EXPECT_NEAR(x(0), -0.1, 1e-6);
  EXPECT_NEAR(x(1), 0.1, 1e-4);
}

TEST(Adam, ClippingAndSchedules) {
  Vec x = Vec::Zero(1), y = Vec::Zero(1);
  Adam clipped(1, {.learning_rate = 0.1, .clip_norm = 1.0}, 10), plain(1, {.learning_rate = 0.1}, 10);
  clipped.step(x, Vec::Constant(1, 50.0));
  plain.step(y, Vec::Constant(1, 50.0));
  EXPECT_NEAR(x(0), y(0), 1e-9);  // Adam is scale-free on the first step; clipping must not break it
  Adam cosine(1, {.learning_rate = 1.0, .schedule = LrSchedule::kCosine, .final_lr_fraction = 0.1}, 101);
  EXPECT_NEAR(cosine.learning_rate(0), 1.0, 1e-12);
  EXPECT_NEAR(cosine.learning_rate(50), 0.55, 1e-12);
  EXPECT_NEAR(cosine.learning_rate(100), 0.1, 1e-12);
  Adam expo(1, {.learning_rate = 1.0, .schedule = LrSchedule::kExponential, .final_lr_fraction = 0.01}, 101);
  EXPECT_NEAR(expo.learning_rate(50), 0.1, 1e-12);
  EXPECT_EQ(parse_lr_schedule("cosine"), LrSchedule::kCosine);
  EXPECT_THROW(parse_lr_schedule("linear"), std::invalid_argument);
  EXPECT_THROW(Adam(1, {.learning_rate = -1.0}, 10), std::invalid_argument);
}

}  // namespace
}  // namespace trk
