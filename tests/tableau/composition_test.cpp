// Two half steps (m sub-steps) as one tableau: one step of the composed scheme equals two steps of h/2 (m steps of
// h/m) of the original.
#include "trk/tableau/composition.h"

#include <gtest/gtest.h>

#include "trk/tableau/named_tableaux.h"

namespace trk {
namespace {

// One explicit RK step of y' = -y + sin(3 y) from y0 (scalar).
double step(const ButcherTableau& t, double h, double y0) {
  const int q = t.num_stages();
  std::vector<double> k(q);
  double y = y0;
  for (int i = 0; i < q; ++i) {
    double yi = y0;
    for (int j = 0; j < i; ++j) yi += h * t.A(i, j) * k[j];
    k[i] = -yi + std::sin(3 * yi);
  }
  for (int i = 0; i < q; ++i) y += h * t.b(i) * k[i];
  return y;
}

TEST(Composition, TwoHalfStepsEqualOneComposedStep) {
  for (const char* name : {"euler", "heun", "rk4"}) {
    const ButcherTableau half = named_tableau(name);
    for (int q : {2 * half.num_stages(), 2 * half.num_stages() + 1}) {
      const ButcherTableau t = two_half_steps(half, q);
      EXPECT_TRUE(t.validation_error(1e-12).empty()) << name;
      const double h = 0.3, y0 = 0.7;
      EXPECT_NEAR(step(t, h, y0), step(half, h / 2, step(half, h / 2, y0)), 1e-14) << name << " q=" << q;
    }
  }
  EXPECT_THROW(two_half_steps(named_tableau("rk4"), 7), std::invalid_argument);
}

TEST(Composition, SubstepsEqualRepeatedSteps) {
  for (const char* name : {"euler", "kutta3", "rk4"}) {
    const ButcherTableau t = named_tableau(name);
    for (int m : {1, 3, 8}) {
      const ButcherTableau s = substeps(t, m);
      ASSERT_EQ(s.num_stages(), m * t.num_stages());
      EXPECT_TRUE(s.validation_error(1e-12).empty()) << name;
      const double h = 0.4;
      double y = 0.7;
      for (int k = 0; k < m; ++k) y = step(t, h / m, y);
      EXPECT_NEAR(step(s, h, 0.7), y, 1e-14) << name << " m=" << m;
    }
  }
  EXPECT_THROW(substeps(named_tableau("rk4"), 0), std::invalid_argument);
}

}  // namespace
}  // namespace trk
