// Runge-Kutta-Chebyshev tableaux: their stability polynomials against the Chebyshev formulas, the real-axis
// intervals against the known values, the order conditions.
#include <gtest/gtest.h>

#include <cmath>

#include "trk/tableau/named_tableaux.h"
#include "trk/tableau/order_conditions.h"
#include "trk/tableau/stability.h"

namespace trk {
namespace {

// T_s(x) and T_s'(x) by the three-term recurrence (an independent evaluation, in long double).
std::pair<double, double> chebyshev(int s, long double x) {
  long double t0 = 1, t1 = x, d0 = 0, d1 = 1;
  if (s == 0) return {1.0, 0.0};
  for (int j = 2; j <= s; ++j) {
    const long double t2 = 2 * x * t1 - t0, d2 = 2 * t1 + 2 * x * d1 - d0;
    t0 = t1, t1 = t2, d0 = d1, d1 = d2;
  }
  return {static_cast<double>(t1), static_cast<double>(d1)};
}

TEST(Rkc, FirstOrderPolynomialIsTheDampedShiftedChebyshevPolynomial) {
  for (int s : {2, 3, 5, 8, 10}) {
    for (double eps : {0.0, 0.05, 0.5}) {
      const ButcherTableau t = rkc_tableau(1, s, eps);
      const double w0 = 1 + eps / (s * s);
      const auto [Ts, dTs] = chebyshev(s, w0);
      const double w1 = Ts / dTs;
      for (double x : {-0.3, -1.0, -0.37 * s * s, -1.5 * s * s, -2 * w0 / w1}) {
        const double expected = chebyshev(s, w0 + w1 * x).first / Ts;
        EXPECT_NEAR(stability_function(t, Complex(x, 0)).real(), expected, 1e-8) << "s " << s << " eps " << eps;
      }
    }
  }
}

TEST(Rkc, SecondOrderPolynomialIsTheShiftedChebyshevForm) {
  for (int s : {2, 3, 5, 8, 10}) {
    const double eps = 2.0 / 13, w0 = 1 + eps / (s * s);
    long double T = 1, d = 1, dd = 0;  // T_s, T_s', T_s'' at w0 by recurrence
    {
      long double t0 = 1, t1 = w0, d0 = 0, d1 = 1, e0 = 0, e1 = 0;
      for (int j = 2; j <= s; ++j) {
        const long double t2 = 2 * w0 * t1 - t0, d2 = 2 * t1 + 2 * w0 * d1 - d0, e2 = 4 * d1 + 2 * w0 * e1 - e0;
        t0 = t1, t1 = t2, d0 = d1, d1 = d2, e0 = e1, e1 = e2;
      }
      T = t1, d = d1, dd = e1;
    }
    const double beta = static_cast<double>(dd / (d * d)), w1 = static_cast<double>(d / dd);
    const ButcherTableau t = named_tableau("rkc2_" + std::to_string(s));
    for (double x : {-0.2, -1.0, -0.3 * s * s, -0.6 * s * s}) {
      const double expected = 1 - beta * static_cast<double>(T) + beta * chebyshev(s, w0 + w1 * x).first;
      EXPECT_NEAR(stability_function(t, Complex(x, 0)).real(), expected, 1e-8) << "s " << s;
    }
  }
}

// R is evaluated in the monomial basis, whose rounding grows like (3 + 2 sqrt 2)^s on [-2 s^2, 0]: s <= 10 here.
TEST(Rkc, RealAxisIntervalsMatchTheKnownValues) {
  for (int s : {2, 4, 6, 8, 10}) {
    const double s2 = s * s;
    // Undamped order 1: T_s(1 + x / s^2) touches +-1 inside [-2 s^2, 0] (so the interval, a first crossing of
    // |R| = 1, is left to rounding there); |R| <= 1 on it, R(-2 s^2) = (-1)^s, |R| > 1 just beyond.
    const ButcherTableau undamped = rkc_tableau(1, s, 0.0);
    for (int i = 0; i <= 1000; ++i)
      EXPECT_LE(std::abs(stability_function(undamped, Complex(-2 * s2 * i / 1000, 0))), 1 + 1e-8) << s;
    EXPECT_NEAR(stability_function(undamped, Complex(-2 * s2, 0)).real(), s % 2 ? -1 : 1, 1e-8) << s;
    EXPECT_GT(std::abs(stability_function(undamped, Complex(-2.01 * s2, 0))), 1.001) << s;
    // Damped order 1: |R| <= 1 / T_s(w0) < 1 until w0 + w1 x = -w0, so the interval is 2 w0 / w1, about
    // (2 - 4 eps / 3) s^2.
    const double w0 = 1 + kRkc1Damping / s2;
    const auto [Ts, dTs] = chebyshev(s, w0);
    const double damped = real_axis_interval(named_tableau("rkc1_" + std::to_string(s)));
    EXPECT_NEAR(damped, 2 * w0 * dTs / Ts, 2e-4 * damped) << s;  // rounding of the monomial form: 7e-5 at s = 10
    if (s >= 4) EXPECT_NEAR(damped / s2, 2 - 4 * kRkc1Damping / 3, 0.01) << s;
    // Damped order 2 (RKC's eps = 2/13): about (2/3)(s^2 - 1)(1 - 2 eps / 15), 0.653 s^2 for large s.
    const double rkc2 = real_axis_interval(named_tableau("rkc2_" + std::to_string(s)));
    if (s >= 4) EXPECT_NEAR(rkc2 / ((2.0 / 3) * (s2 - 1) * (1 - 2 * kRkc2Damping / 15)), 1.0, 0.02) << s;
    EXPECT_GT(rkc2, 0.6 * (s2 - 1)) << s;
  }
  EXPECT_NEAR(real_axis_interval(named_tableau("rkc2_10")) / 100, 0.653, 0.01);
}

TEST(Rkc, OrderConditionsHold) {
  for (int s : {1, 2, 3, 7, 10, 20}) {
    const ButcherTableau t = named_tableau("rkc1_" + std::to_string(s));
    EXPECT_GE(order(t), 1) << s;
    EXPECT_NEAR(t.b.sum(), 1.0, 1e-13) << s;
    EXPECT_TRUE(((t.c.array() >= 0) && (t.c.array() <= 1 + 1e-12)).all()) << s;
  }
  for (int s : {2, 3, 7, 10, 20}) {
    const ButcherTableau t = named_tableau("rkc2_" + std::to_string(s));
    EXPECT_EQ(order(t), 2) << s;
    const OrderConditionsSummary oc = order_conditions(t, 2);
    EXPECT_LT(oc.max_abs_residual_by_order[0], 1e-12) << s;
    EXPECT_LT(oc.max_abs_residual_by_order[1], 1e-12) << s;
    EXPECT_GT(oc.max_abs_residual_by_order.size(), 1u);
  }
  EXPECT_EQ(order(named_tableau("rkc1_10")), 1);  // gamma_2 = 1/6 (1 - 1/s^2) + O(eps), not 1/2
}

TEST(Rkc, NamesAndBadArguments) {
  EXPECT_TRUE(is_named_tableau("rkc1_1"));
  EXPECT_TRUE(is_named_tableau("rkc2_64"));
  EXPECT_EQ(named_tableau("rkc2_7").num_stages(), 7);
  EXPECT_EQ(named_tableau("rkc2_7").name, "rkc2_7");
  for (const char* bad : {"rkc2_1", "rkc1_0", "rkc1_65", "rkc1_07", "rkc3_4", "rkc1_", "rkc1_4x", "rkc1-4"})
    EXPECT_FALSE(is_named_tableau(bad)) << bad;
  EXPECT_THROW(named_tableau("rkc1_0"), std::invalid_argument);
  EXPECT_THROW(rkc_tableau(3, 4, 0.1), std::invalid_argument);
  EXPECT_THROW(rkc_tableau(1, 4, -0.1), std::invalid_argument);
  EXPECT_THROW(rkc_tableau(2, 1, 0.1), std::invalid_argument);
}

}  // namespace
}  // namespace trk
