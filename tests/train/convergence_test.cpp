#include "trk/train/convergence.h"

#include <gtest/gtest.h>

#include <vector>

namespace trk {
namespace {

TEST(ConvergenceTest, StopsWhenTheLossFellByLessThanTheFractionOverTheWindow) {
  const ConvergenceTest test{3, 0.01};
  std::vector<double> h = {10.0, 5.0, 4.0, 3.0};
  EXPECT_FALSE(test.converged(h));  // 10 -> 3 over 3 iterations
  h = {10.0, 9.99, 9.98, 9.95};
  EXPECT_TRUE(test.converged(h));   // 0.5 % over 3 iterations
  h = {9.98, 9.95};
  EXPECT_FALSE(test.converged(h));  // fewer entries than the window: not judged
  h = {10.0, 9.99, 9.98, 9.89};
  EXPECT_FALSE(test.converged(h));  // 1.1 %
  EXPECT_FALSE((ConvergenceTest{0, 0.5}.converged(std::vector<double>{1.0, 1.0, 1.0})));  // window 0: never
}

}  // namespace
}  // namespace trk
