#include "trk/tableau/order_conditions.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <random>

#include "trk/tableau/named_tableaux.h"

namespace trk {
namespace {

double factorial(int n) { return n <= 1 ? 1.0 : n * factorial(n - 1); }

ButcherTableau random_explicit_tableau(int q, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Mat A = Mat::Zero(q, q);
  for (int i = 1; i < q; ++i)
    for (int j = 0; j < i; ++j) A(i, j) = u(rng);
  Vec b(q);
  for (int i = 0; i < q; ++i) b(i) = u(rng);
  b(q - 1) += 1.0 - b.sum();
  return make_explicit_tableau("random", A, b);
}

TEST(RootedTrees, CountsPerOrder) {
  const int expected[] = {1, 1, 2, 4, 9, 20, 48, 115, 286, 719};
  const auto trees = rooted_trees(10);
  std::vector<int> count(10, 0);
  for (const auto& t : trees) ++count[t.order - 1];
  for (int n = 1; n <= 10; ++n) EXPECT_EQ(count[n - 1], expected[n - 1]) << "order " << n;
  EXPECT_EQ(rooted_trees(8).size(), 200u);
  EXPECT_TRUE(rooted_trees(0).empty());
}

TEST(RootedTrees, LabelsDensitiesSymmetriesToOrder4) {
  struct Row {
    const char* label;
    int gamma, sigma;
  };
  const Row expected[] = {{"t", 1, 1},        {"[t]", 2, 1},       {"[t,t]", 3, 2},   {"[[t]]", 6, 1},
                          {"[t,t,t]", 4, 6},  {"[t,[t]]", 8, 1},   {"[[t,t]]", 12, 2}, {"[[[t]]]", 24, 1}};
  const auto trees = rooted_trees(4);
  ASSERT_EQ(trees.size(), 8u);
  for (int k = 0; k < 8; ++k) {
    EXPECT_EQ(trees[k].label, expected[k].label) << k;
    EXPECT_EQ(trees[k].gamma, expected[k].gamma) << expected[k].label;
    EXPECT_EQ(trees[k].sigma, expected[k].sigma) << expected[k].label;
  }
  const char* order5[] = {"[t,t,t,t]", "[t,t,[t]]",   "[[t],[t]]",   "[t,[t,t]]", "[t,[[t]]]",
                          "[[t,t,t]]", "[[t,[t]]]", "[[[t,t]]]", "[[[[t]]]]"};
  const int gamma5[] = {5, 10, 20, 15, 30, 20, 40, 60, 120};
  const auto trees5 = rooted_trees(5);
  for (int k = 0; k < 9; ++k) {
    EXPECT_EQ(trees5[8 + k].label, order5[k]);
    EXPECT_EQ(trees5[8 + k].gamma, gamma5[k]) << order5[k];
  }
}

TEST(RootedTrees, LabelsAreDistinctAndDeterministic) {
  const auto a = rooted_trees(9), b = rooted_trees(9);
  std::map<std::string, int> seen;
  for (std::size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].label, b[k].label);
    EXPECT_EQ(seen[a[k].label]++, 0) << a[k].label;
  }
}

// sum_{|t|=n} n!/(sigma gamma) = (n-1)! (monotone labellings, Butcher's alpha) and
// sum_{|t|=n} n!/sigma = n^(n-1) (labelled rooted trees, Cayley).
TEST(RootedTrees, ClassicalIdentities) {
  const auto trees = rooted_trees(10);
  std::vector<double> alpha(11, 0.0), beta(11, 0.0);
  for (const auto& t : trees) {
    alpha[t.order] += factorial(t.order) / (double(t.sigma) * double(t.gamma));
    beta[t.order] += factorial(t.order) / double(t.sigma);
  }
  for (int n = 1; n <= 10; ++n) {
    EXPECT_NEAR(alpha[n], factorial(n - 1), 1e-9 * factorial(n - 1)) << n;
    EXPECT_NEAR(beta[n], std::pow(n, n - 1), 1e-9 * std::pow(n, n - 1)) << n;
  }
}

// docs/method.md: sum b = 1; b.c = 1/2; b.c^2 = 1/3, b.Ac = 1/6;
// b.c^3 = 1/4, b.(c*Ac) = 1/8, b.A c^2 = 1/12, b.A^2 c = 1/24.
TEST(ElementaryWeights, MatchTheExplicitConditionsToOrder4) {
  const auto trees = rooted_trees(4);
  for (const ButcherTableau& t : {random_explicit_tableau(5, 7), named_tableau("rk4")}) {
    const Mat& A = t.A;
    const Vec& b = t.b;
    const Vec c = A * Vec::Ones(b.size());
    const Vec c2 = c.cwiseProduct(c);
    const double sums[] = {b.sum(),
                           b.dot(c),
                           b.dot(c2),
                           b.dot(A * c),
                           b.dot(c2.cwiseProduct(c)),
                           b.dot(c.cwiseProduct(A * c)),
                           b.dot(A * c2),
                           b.dot(A * (A * c))};
    const double rhs[] = {1, 1.0 / 2, 1.0 / 3, 1.0 / 6, 1.0 / 4, 1.0 / 8, 1.0 / 12, 1.0 / 24};
    const Vec phi = elementary_weights(A, b, trees);
    for (int k = 0; k < 8; ++k) {
      EXPECT_NEAR(phi(k), sums[k], 1e-14) << t.name << " " << trees[k].label;
      EXPECT_DOUBLE_EQ(1.0 / double(trees[k].gamma), rhs[k]) << trees[k].label;
    }
  }
  const auto rk4 = order_conditions(named_tableau("rk4"), 4);
  for (const auto& row : rk4.rows) EXPECT_LE(std::abs(row.residual), 1e-15) << row.label;
}

TEST(OrderConditions, OrdersOfTheNamedTableaux) {
  const std::map<std::string, int> expected = {{"euler", 1}, {"midpoint", 2}, {"heun", 2}, {"kutta3", 3},
                                               {"rk4", 4},   {"rk38", 4},     {"dopri5", 5}, {"dopri8", 8}, {"dop853", 8}};
  for (const auto& [name, p] : expected) {
    const ButcherTableau t = named_tableau(name);
    EXPECT_EQ(order(t), p) << name;
    EXPECT_EQ(t.order, p) << name;
    const auto s = order_conditions(t, 9);
    std::printf("%-9s order %d  max|r| by order:", name.c_str(), order(t));
    for (double r : s.max_abs_residual_by_order) std::printf(" %.1e", r);
    std::printf("\n          max gamma|r| by order:");
    for (double r : s.max_rel_residual_by_order) std::printf(" %.1e", r);
    std::printf("\n");
  }
}

TEST(OrderConditions, EmbeddedSolutions) {
  EXPECT_EQ(order(embedded_solution(named_tableau("dopri5"))), 4);
  EXPECT_EQ(embedded_solution(named_tableau("dopri5")).order, 4);
  EXPECT_THROW(embedded_solution(named_tableau("rk4")), std::invalid_argument);
  EXPECT_EQ(order(embedded_solution(named_tableau("dopri8"))), 7);  // RK8(7)13M
  ButcherTableau d8 = named_tableau("dop853");
  EXPECT_EQ(order(embedded_solution(d8)), 5);  // b - er (Hairer's fifth-order estimate)
  d8.error_weights = d8.secondary_error_weights;
  EXPECT_EQ(order(embedded_solution(d8)), 3);  // bhh
}

TEST(OrderConditions, PerturbedRk4LosesOrder) {
  const double d = 1e-4;
  ButcherTableau t = named_tableau("rk4");
  t.b(0) += d;  // b.c = 1/2 - d/2
  t.b(1) -= d;
  EXPECT_EQ(order(t), 1);
  t = named_tableau("rk4");
  t.b(0) += d;  // c = (0, 1/2, 1/2, 1): b.c unchanged, b.c^2 = 1/3 + d/2
  t.b(1) -= 2 * d;
  t.b(3) += d;
  EXPECT_EQ(order(t), 2);
  t.b(0) += 1e-3;  // sum b = 1.001
  EXPECT_EQ(order(t), 0);
  const auto s = order_conditions(t, 3);
  EXPECT_NEAR(s.max_abs_residual_by_order[0], 1e-3, 1e-15);
}

// Central differences of phi over every entry of A (upper ones too) and of b; relative error per tree.
void expect_gradients_match_differences(const ButcherTableau& t, int max_order) {
  const auto trees = rooted_trees(max_order);
  const auto grads = elementary_weight_gradients(t.A, t.b, trees);
  const Vec phi = elementary_weights(t.A, t.b, trees);
  const double h = 1e-5;
  const int q = t.num_stages();
  std::vector<Mat> fd_A(trees.size(), Mat(q, q));
  std::vector<Vec> fd_b(trees.size(), Vec(q));
  for (int i = 0; i < q; ++i) {
    for (int j = 0; j < q; ++j) {
      Mat Ap = t.A, Am = t.A;
      Ap(i, j) += h;
      Am(i, j) -= h;
      const Vec d = (elementary_weights(Ap, t.b, trees) - elementary_weights(Am, t.b, trees)) / (2 * h);
      for (std::size_t k = 0; k < trees.size(); ++k) fd_A[k](i, j) = d(k);
    }
    Vec bp = t.b, bm = t.b;
    bp(i) += h;
    bm(i) -= h;
    const Vec d = (elementary_weights(t.A, bp, trees) - elementary_weights(t.A, bm, trees)) / (2 * h);
    for (std::size_t k = 0; k < trees.size(); ++k) fd_b[k](i) = d(k);
  }
  for (std::size_t k = 0; k < trees.size(); ++k) {
    EXPECT_DOUBLE_EQ(grads[k].phi, phi(k));
    const double scale_A = std::max(grads[k].phi_A.cwiseAbs().maxCoeff(), 1e-3);
    const double scale_b = std::max(grads[k].phi_b.cwiseAbs().maxCoeff(), 1e-3);
    EXPECT_LT((grads[k].phi_A - fd_A[k]).cwiseAbs().maxCoeff() / scale_A, 1e-6) << t.name << " " << trees[k].label;
    EXPECT_LT((grads[k].phi_b - fd_b[k]).cwiseAbs().maxCoeff() / scale_b, 1e-6) << t.name << " " << trees[k].label;
  }
}

TEST(ElementaryWeightGradients, MatchCentralDifferences) {
  expect_gradients_match_differences(random_explicit_tableau(5, 11), 6);
  expect_gradients_match_differences(named_tableau("rk4"), 8);
}

// Column layout [a_10, a_20, a_21, ..., b_0..b_(q-1)], checked by differences of the residuals.
TEST(OrderConditionSystem, JacobianLayoutMatchesCentralDifferences) {
  for (const ButcherTableau& t : {random_explicit_tableau(5, 3), named_tableau("rk4")}) {
    const int q = t.num_stages(), p = 6;
    const OrderConditionSystem sys = order_condition_system(t, p);
    ASSERT_EQ(sys.residual.size(), 37);
    ASSERT_EQ(sys.jacobian.cols(), q * (q - 1) / 2 + q);
    const double h = 1e-5;
    int col = 0;
    auto check_column = [&](auto perturb) {
      ButcherTableau tp = t, tm = t;
      perturb(tp, h);
      perturb(tm, -h);
      const Vec fd = (order_condition_system(tp, p).residual - order_condition_system(tm, p).residual) / (2 * h);
      const double scale = std::max(sys.jacobian.col(col).cwiseAbs().maxCoeff(), 1e-3);
      EXPECT_LT((fd - sys.jacobian.col(col)).cwiseAbs().maxCoeff() / scale, 1e-6) << t.name << " column " << col;
      ++col;
    };
    for (int i = 1; i < q; ++i)
      for (int j = 0; j < i; ++j) check_column([&](ButcherTableau& x, double s) { x.A(i, j) += s; });
    for (int i = 0; i < q; ++i) check_column([&](ButcherTableau& x, double s) { x.b(i) += s; });
    const auto s = order_conditions(t, p);
    for (int k = 0; k < sys.residual.size(); ++k) EXPECT_NEAR(sys.residual(k), s.rows[k].residual, 1e-13);
  }
}


}  // namespace
}  // namespace trk
