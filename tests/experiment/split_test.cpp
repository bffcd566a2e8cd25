// One trajectory cut into train / validation / test (experiment/split.h).
#include "trk/experiment/split.h"

#include <gtest/gtest.h>

namespace trk {
namespace {

Dataset one_trajectory(int samples) {
  Dataset d;
  d.system = "lorenz63";
  d.h = 0.5;
  d.generator_json = "{\"integrator\":\"x\"}";
  d.train.t = Vec::LinSpaced(samples, 0.0, 0.5 * (samples - 1));
  d.train.states.push_back(Mat::Random(3, samples));
  return d;
}

TEST(SplitTrajectory, ContiguousBlocksInTimeOrder) {
  const Dataset one = one_trajectory(100);
  const Dataset d = split_trajectory(one, {0.7, 0.15, 0.15}, "one.h5");
  EXPECT_EQ(d.train.num_times(), 70);
  EXPECT_EQ(d.validation.num_times(), 15);
  EXPECT_EQ(d.test.num_times(), 15);
  EXPECT_EQ(d.train.states[0], one.train.states[0].leftCols(70));
  EXPECT_EQ(d.validation.states[0], one.train.states[0].middleCols(70, 15));
  EXPECT_EQ(d.test.states[0], one.train.states[0].rightCols(15));
  EXPECT_EQ(d.test.t(0), one.train.t(85));
  EXPECT_EQ(d.h, one.h);
  EXPECT_NE(d.generator_json.find("\"source_generator\":{\"integrator\":\"x\"}"), std::string::npos);
}

TEST(SplitTrajectory, NoValidationWhenItsFractionIsZero) {
  const Dataset d = split_trajectory(one_trajectory(10), {0.8, 0.0, 0.2}, "one.h5");
  EXPECT_EQ(d.validation.num_trajectories(), 0);
  EXPECT_EQ(d.train.num_times() + d.test.num_times(), 10);
}

TEST(SplitTrajectory, Refuses) {
  EXPECT_THROW(split_trajectory(one_trajectory(10), {0.5, 0.5, 0.5}, "x"), std::invalid_argument);   // sum
  EXPECT_THROW(split_trajectory(one_trajectory(10), {0.9, 0.05, 0.05}, "x"), std::invalid_argument);  // 1 sample
  EXPECT_THROW(split_trajectory(one_trajectory(10), {0.5, 0.5, 0.0}, "x"), std::invalid_argument);   // no test
  Dataset two = one_trajectory(10);
  two.train.states.push_back(two.train.states[0]);
  EXPECT_THROW(split_trajectory(two, {0.6, 0.2, 0.2}, "x"), std::invalid_argument);
  Dataset with_test = one_trajectory(10);
  with_test.test = with_test.train;
  EXPECT_THROW(split_trajectory(with_test, {0.6, 0.2, 0.2}, "x"), std::invalid_argument);
}

}  // namespace
}  // namespace trk
