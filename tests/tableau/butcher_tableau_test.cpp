#include "trk/tableau/butcher_tableau.h"

#include <gtest/gtest.h>

#include "trk/tableau/named_tableaux.h"

namespace trk {
namespace {

TEST(ButcherTableau, EveryNamedTableauIsValidAndExplicit) {
  for (const auto& name : named_tableau_names()) {
    ButcherTableau t = named_tableau(name);
    EXPECT_EQ(t.name, name);
    EXPECT_TRUE(t.is_explicit()) << name;
    EXPECT_EQ(t.validation_error(1e-13), "") << name;
    EXPECT_FALSE(t.citation.empty()) << name;
  }
}

TEST(ButcherTableau, EmbeddedPairsHaveErrorWeights) {
  EXPECT_TRUE(named_tableau("dopri5").has_error_estimate());
  EXPECT_TRUE(named_tableau("dopri8").has_error_estimate());
  EXPECT_TRUE(named_tableau("dop853").has_error_estimate());
  EXPECT_TRUE(named_tableau("dop853").secondary_error_weights.has_value());
  EXPECT_FALSE(named_tableau("rk4").has_error_estimate());
}

TEST(ButcherTableau, Dop853NodesMatchHairer) {
  // c_i from dop853.f; A's row sums must reproduce them.
  const double c[] = {0.0, 0.526001519587677318785587544488e-01, 0.789002279381515978178381316732e-01,
                      0.118350341907227396726757197510, 0.281649658092772603273242802490, 1.0 / 3, 0.25,
                      0.307692307692307692307692307692, 0.651282051282051282051282051282, 0.6,
                      0.857142857142857142857142857142, 1.0};
  ButcherTableau t = named_tableau("dop853");
  ASSERT_EQ(t.num_stages(), 12);
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(t.c(i), c[i], 1e-14) << i;
}

TEST(ButcherTableau, RK87NodesMatchPrinceDormand) {
  const double c[] = {0, 1.0 / 18, 1.0 / 12, 1.0 / 8, 5.0 / 16, 3.0 / 8, 59.0 / 400, 93.0 / 200,
                      5490023248.0 / 9719169821, 13.0 / 20, 1201146811.0 / 1299019798, 1, 1};
  ButcherTableau t = named_tableau("dopri8");
  ASSERT_EQ(t.num_stages(), 13);
  for (int i = 0; i < 13; ++i) EXPECT_NEAR(t.c(i), c[i], 1e-14) << i;
}

TEST(ButcherTableau, ValidationNamesTheProblem) {
  Mat A = Mat::Zero(2, 2);
  A(1, 0) = 1;
  Vec b(2);
  b << 0.3, 0.3;
  try {
    make_explicit_tableau("bad", A, b);
    FAIL() << "sum b != 1 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("sum of b"), std::string::npos) << e.what();
  }
  A(0, 1) = 0.5;
  b << 0.5, 0.5;
  EXPECT_THROW(make_explicit_tableau("implicit", A, b), std::invalid_argument);
  EXPECT_THROW(make_explicit_tableau("shape", Mat::Zero(3, 3), b), std::invalid_argument);
  ButcherTableau t = named_tableau("rk4");
  t.c(2) = 0.7;
  EXPECT_NE(t.validation_error().find("row 2"), std::string::npos);
  t = named_tableau("dopri5");
  (*t.error_weights)(0) += 0.1;
  EXPECT_NE(t.validation_error().find("error weights"), std::string::npos);
}

TEST(ButcherTableau, UnknownNameListsKnownOnes) {
  try {
    named_tableau("rk5");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("dopri8"), std::string::npos);
  }
}

}  // namespace
}  // namespace trk
