#include <gtest/gtest.h>

#include <numbers>
#include <random>

#include "gradient_check.h"
#include "trk/field/kuramoto_sivashinsky.h"
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

TEST(VectorField, KuramotoSivashinskyVjpMatchesFiniteDifferences) {
  testing::expect_vjp_matches_finite_differences(KuramotoSivashinsky(16, 22.0), 1.0, 1e-6);
  testing::expect_vjp_matches_finite_differences(KuramotoSivashinsky(10, 5.0), 1.0, 1e-6);  // n not a multiple of 4
}

// u = a sin(k x) + b cos(2 k x) + c (k = 2 pi / L): u_x, u_xx, u_xxxx by hand, and the grid resolves u^2 exactly.
TEST(VectorField, KuramotoSivashinskyValuesAndConservedMean) {
  for (auto [n, L] : {std::pair{16, 22.0}, std::pair{64, 22.0}, std::pair{128, 32 * std::numbers::pi}, std::pair{10, 5.0}}) {
    const KuramotoSivashinsky f(n, L);
    const double k = 2 * std::numbers::pi / L, a = 1.3, b = -0.7, c = 0.4;
    Mat U(n, 1), F(n, 1);
    Vec expected(n);
    for (int j = 0; j < n; ++j) {
      const double x = j * L / n, s = std::sin(k * x), co = std::cos(k * x), s2 = std::sin(2 * k * x),
                   c2 = std::cos(2 * k * x);
      const double u = a * s + b * c2 + c, ux = a * k * co - 2 * b * k * s2, uxx = -a * k * k * s - 4 * b * k * k * c2,
                   uxxxx = a * std::pow(k, 4) * s + 16 * b * std::pow(k, 4) * c2;
      U(j) = u;
      expected(j) = -u * ux - uxx - uxxxx;
    }
    f.eval(U, F);
    EXPECT_LT((F.col(0) - expected).cwiseAbs().maxCoeff(), 1e-12 * (1 + expected.cwiseAbs().maxCoeff())) << n << " " << L;
    // The mean is conserved: sum_j f_j = 0 for any state.
    const Mat Z = random_matrix(n, 5, 3, 2.0);
    Mat G(n, 5);
    f.eval(Z, G);
    EXPECT_LT(G.colwise().sum().cwiseAbs().maxCoeff(), 1e-12 * n * G.cwiseAbs().maxCoeff()) << n;
  }
  EXPECT_THROW(KuramotoSivashinsky(15, 22.0), std::invalid_argument);
  EXPECT_THROW(KuramotoSivashinsky(64, 0.0), std::invalid_argument);
}

TEST(VectorField, Lorenz63Values) {
  Lorenz63 f;
  Mat Z(3, 1), F(3, 1);
  Z << 1, 2, 3;
  f.eval(Z, F);
  EXPECT_DOUBLE_EQ(F(0), 10.0);
  EXPECT_DOUBLE_EQ(F(1), 1 * (28 - 3) - 2);
  EXPECT_DOUBLE_EQ(F(2), 2 - 8.0);
  // Jacobian eigenvalues at the origin: {11.83, -22.83, -2.67} (docs/method.md).
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
  EXPECT_EQ(make_system("ks", {})->dim(), 64);
  EXPECT_EQ(make_system("ks", {{"n", 128}, {"L", 32 * std::numbers::pi}})->name(), "ks");
  EXPECT_DOUBLE_EQ(default_parameters("ks").at("L"), 22.0);
  EXPECT_THROW(resolve_parameters("ks", {{"n", 63}}), std::invalid_argument);
  EXPECT_THROW(resolve_parameters("ks", {{"L", -1}}), std::invalid_argument);
  EXPECT_EQ(default_initial_state("ks", {{"n", 32}}).size(), 32);
}

}  // namespace
}  // namespace trk
