#include <gtest/gtest.h>

#include <random>

#include "gradient_check.h"
#include "trk/field/linear.h"
#include "trk/field/lorenz63.h"
#include "trk/field/lorenz96.h"
#include "trk/field/systems.h"

namespace trk {
namespace {

using testing::finite_difference_gradient;
using testing::relative_gradient_error;

using testing::random_matrix;


TEST(VectorField, Lorenz63VjpMatchesFiniteDifferences) {
  Lorenz63 f;
  testing::expect_vjp_matches_finite_differences(f, 10.0, 1e-7);
}

TEST(VectorField, Lorenz96VjpMatchesFiniteDifferences) {
  Lorenz96 f(7, 8.0);
  testing::expect_vjp_matches_finite_differences(f, 3.0, 1e-7);
}

TEST(VectorField, LinearVjpMatchesFiniteDifferences) {
  LinearField f(random_matrix(4, 4, 3, 1.0));
  testing::expect_vjp_matches_finite_differences(f, 1.0, 1e-7);
}

TEST(VectorField, Lorenz63Values) {
  Lorenz63 f;
  Mat Z(3, 1), F(3, 1);
  Z << 1, 2, 3;
  f.eval(Z, F);
  EXPECT_DOUBLE_EQ(F(0), 10.0);
  EXPECT_DOUBLE_EQ(F(1), 1 * (28 - 3) - 2);
  EXPECT_DOUBLE_EQ(F(2), 2 - 8.0);
  // Jacobian eigenvalues at the origin: {11.83, -22.83, -2.67} (method.md).
  Eigen::VectorXcd ev = f.jacobian(Vec::Zero(3)).eigenvalues();
  std::vector<double> re;
  for (auto e : ev) re.push_back(e.real());
  std::sort(re.begin(), re.end());
  EXPECT_NEAR(re[0], -22.83, 0.01);
  EXPECT_NEAR(re[1], -8.0 / 3, 1e-12);
  EXPECT_NEAR(re[2], 11.83, 0.01);
}

TEST(VectorField, CountedFieldCountsBatchedEvaluations) {
  Lorenz63 f;
  CountedField cf(f);
  Mat Z = Mat::Ones(3, 100), F(3, 100), Zb = Mat::Zero(3, 100);
  cf.eval(Z, F);
  cf.eval(Z, F);
  cf.vjp(Z, F, Zb, nullptr);
  EXPECT_EQ(cf.num_evaluations(), 2);
  EXPECT_EQ(cf.num_vjp_evaluations(), 1);
}

TEST(Systems, ResolveParametersRefusesUnknownNames) {
  EXPECT_THROW(default_parameters("lorenz84"), std::invalid_argument);
  EXPECT_THROW(resolve_parameters("lorenz63", {{"gamma", 1.0}}), std::invalid_argument);
  EXPECT_THROW(resolve_parameters("lorenz96", {{"n", 2.5}}), std::invalid_argument);
  EXPECT_DOUBLE_EQ(resolve_parameters("lorenz63", {{"rho", 20.0}}).at("rho"), 20.0);
  EXPECT_EQ(make_system("lorenz96", {{"n", 12}})->dim(), 12);
}

}  // namespace
}  // namespace trk
