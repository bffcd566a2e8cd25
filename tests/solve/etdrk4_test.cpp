#include "trk/solve/etdrk4.h"

#include <gtest/gtest.h>

#include <cmath>
#include <complex>

namespace trk {
namespace {

// The coefficient functions by their closed forms, accurate where |z| is not small.
struct Direct {
  double Q, f1, f2, f3;
};
Direct direct(double h, double L) {
  const double z = h * L, ez = std::exp(z), z3 = z * z * z;
  return {h * (std::exp(z / 2) - 1) / z, h * (-4 - z + ez * (4 - 3 * z + z * z)) / z3,
          h * (2 + z + ez * (z - 2)) / z3, h * (-4 - 3 * z - z * z + ez * (4 - z)) / z3};
}

// Kassam & Trefethen's contour integrals give the closed forms where those are accurate, and their limits at
// z = 0 (Q -> h/2, f1, f2, f3 -> h/6) where the closed forms cancel.
TEST(Etdrk4, ContourCoefficientsMatchTheClosedFormsAndTheirLimits) {
  const double h = 0.25;
  const Vec L{{-4.0, -40.0, -400.0, -6800.0, 3.0, 0.0, 1e-14}};
  const Etdrk4Coefficients c = etdrk4_coefficients(L, h);
  for (int j = 0; j < 5; ++j) {
    const Direct d = direct(h, L(j));
    EXPECT_NEAR(c.Q(j), d.Q, 1e-14) << L(j);
    EXPECT_NEAR(c.f1(j), d.f1, 1e-14) << L(j);
    EXPECT_NEAR(c.f2(j), d.f2, 1e-14) << L(j);
    EXPECT_NEAR(c.f3(j), d.f3, 1e-14) << L(j);
    EXPECT_DOUBLE_EQ(c.E(j), std::exp(h * L(j)));
    EXPECT_DOUBLE_EQ(c.E2(j), std::exp(h * L(j) / 2));
  }
  for (int j = 5; j < 7; ++j) {
    EXPECT_NEAR(c.Q(j), h / 2, 1e-15);
    EXPECT_NEAR(c.f1(j), h / 6, 1e-15);
    EXPECT_NEAR(c.f2(j), h / 6, 1e-15);
    EXPECT_NEAR(c.f3(j), h / 6, 1e-15);
  }
  EXPECT_THROW(etdrk4_coefficients(L, 0.0), std::invalid_argument);
}

// With a constant N = g the scheme is exact: v(t + h) = e^{hL} v + (e^{hL} - 1) / L g.
TEST(Etdrk4, ExactForAConstantNonlinearTerm) {
  const Vec L{{-1.0, -50.0, -3000.0, 0.5}};
  const CVec g{{std::complex<double>(1.0, 2.0), 3.0, -1.0, 0.25}};
  CVec v{{0.5, std::complex<double>(-1.0, 1.0), 2.0, 1.0}};
  const CVec v0 = v;
  const double h = 0.1;
  ASSERT_TRUE(etdrk4_steps(etdrk4_coefficients(L, h), [&](const CVec&, CVec& Nv) { Nv = g; }, v, 7));
  for (int j = 0; j < 4; ++j) {
    const double e = std::exp(7 * h * L(j));
    const std::complex<double> exact = e * v0(j) + (e - 1) / L(j) * g(j);
    EXPECT_LT(std::abs(v(j) - exact), 1e-13 * (1 + std::abs(exact))) << j;
  }
}

// Fourth order on a smooth problem: dv/dt = -v + v^2 (v(t) = 1 / (1 + (1/v0 - 1) e^t)), errors shrink 16-fold per
// halving of the step.
TEST(Etdrk4, FourthOrderOnALogisticProblem) {
  const Vec L{{-1.0}};
  const SemilinearTerm N = [](const CVec& v, CVec& Nv) { Nv = v.array().square(); };
  const double v0 = 0.5, T = 2.0, exact = 1.0 / (1.0 + (1.0 / v0 - 1.0) * std::exp(T));
  double previous = 0;
  for (int steps : {4, 8, 16, 32}) {
    CVec v = CVec::Constant(1, v0);
    ASSERT_TRUE(etdrk4_steps(etdrk4_coefficients(L, T / steps), N, v, steps));
    const double error = std::abs(v(0) - exact);
    if (previous > 0) {
      EXPECT_GT(previous / error, 13.0) << steps;
      EXPECT_LT(previous / error, 19.0) << steps;
    }
    previous = error;
  }
}

TEST(Etdrk4, StopsWhenTheStateIsNoLongerFinite) {
  const Vec L{{0.0}};
  CVec v = CVec::Constant(1, 1.0);
  EXPECT_FALSE(etdrk4_steps(etdrk4_coefficients(L, 1.0), [](const CVec& v, CVec& Nv) { Nv = v.array().square() * 1e300; },
                            v, 10));
}

}  // namespace
}  // namespace trk
