#include "trk/tableau/trainable_tableau.h"

#include <gtest/gtest.h>

#include "trk/tableau/named_tableaux.h"
#include "trk/tableau/order_conditions.h"

namespace trk {
namespace {

TEST(TrainableTableau, LayoutRoundTrip) {
  const ButcherTableau rk4 = named_tableau("rk4");
  const TrainableTableau t = TrainableTableau::from_tableau(rk4);
  ASSERT_EQ(t.params().size(), 10);
  EXPECT_EQ(t.params()(0), 0.5);   // a_10
  EXPECT_EQ(t.params()(2), 0.5);   // a_21
  EXPECT_EQ(t.params()(5), 1.0);   // a_32
  EXPECT_EQ((t.A() - rk4.A).norm(), 0.0);
  EXPECT_EQ((t.b() - rk4.b).norm(), 0.0);
  EXPECT_EQ((t.tableau("x").c - rk4.c).norm(), 0.0);
  EXPECT_EQ((t.pack_gradient(rk4.A, rk4.b) - t.params()).norm(), 0.0);
}

TEST(TrainableTableau, Initialisations) {
  EXPECT_EQ((TrainableTableau(4, "classical").A() - named_tableau("rk4").A).norm(), 0.0);
  const TrainableTableau z(10, "zeros");
  EXPECT_EQ(z.A().norm(), 0.0);
  EXPECT_NEAR(z.b().sum(), 1.0, 1e-15);
  const TrainableTableau e(10, "euler_substeps");
  EXPECT_EQ(e.A()(9, 0), 0.1);
  EXPECT_EQ(e.A()(0, 0), 0.0);
  EXPECT_EQ(order(e.tableau("e")), 1);
  EXPECT_NE(validate_trainable_init("rk4", 5), "");
  EXPECT_NE(validate_trainable_init("banana", 4), "");
  EXPECT_THROW(TrainableTableau(4, "banana"), std::invalid_argument);
}

TEST(TrainableTableau, ConsistencyProjectionIsExactAndEuclidean) {
  TrainableTableau t(4, "classical");
  Vec x = t.params();
  x.tail(4) << 0.3, 0.3, 0.3, 0.3;
  t.set_params(x);
  t.project_consistency();
  EXPECT_NEAR(t.b().sum(), 1.0, 1e-15);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(t.b()(i), 0.25, 1e-15);  // moved along 1, the nearest point
  EXPECT_EQ((t.params().head(6) - x.head(6)).norm(), 0.0);        // A untouched
}

TEST(TrainableTableau, OrderProjectionReachesTheRequestedOrder) {
  for (int p : {2, 3, 4}) {
    TrainableTableau t(4, "euler_substeps");
    Vec x = t.params();
    x(1) += 0.13;
    x(4) -= 0.07;
    t.set_params(x);
    const double left = t.project_order(p);
    EXPECT_LT(left, 1e-12) << p;
    EXPECT_GE(order(t.tableau("projected")), p) << p;
  }
}

}  // namespace
}  // namespace trk
