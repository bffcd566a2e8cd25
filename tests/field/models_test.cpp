#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <thread>
#include <tuple>

#include "gradient_check.h"
#include "trk/field/bilinear.h"
#include "trk/field/local_bilinear.h"
#include "trk/field/local_mlp.h"
#include "trk/field/lorenz63.h"
#include "trk/field/lorenz96.h"
#include "trk/field/mlp.h"
#include "trk/field/models.h"

namespace trk {
namespace {

using testing::finite_difference_gradient;
using testing::relative_gradient_error;

Mat random_matrix(int rows, int cols, unsigned seed, double scale) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n(0.0, scale);
  Mat M(rows, cols);
  for (auto& v : M.reshaped()) v = n(rng);
  return M;
}

double max_abs(const Mat& A) { return A.cwiseAbs().maxCoeff(); }

// ---- Reference forward passes, one state at a time, reading theta in torch's order (the documented layout)
// with offsets computed here, independently of the classes.

struct Reader {  // walks theta in order
  const Vec& theta;
  int pos = 0;
  // y = W x + b for a torch.nn.Linear(in, out): weight row-major (out x in), then bias.
  Vec linear(const Vec& x, int out) {
    const int in = static_cast<int>(x.size());
    Vec y(out);
    for (int i = 0; i < out; ++i) {
      double s = 0;
      for (int j = 0; j < in; ++j) s += theta(pos + i * in + j) * x(j);
      y(i) = s + theta(pos + out * in + i);
    }
    pos += out * in + out;
    return y;
  }
};

Vec reference_bilinear(const Vec& theta, int m, const Vec& z) {
  const int d = static_cast<int>(z.size());
  Reader r{theta};
  const Vec a = r.linear(z, d);
  Vec left(m), right(m);
  for (int k = 0; k < m; ++k) left(k) = r.linear(z, 1)(0);
  for (int k = 0; k < m; ++k) right(k) = r.linear(z, 1)(0);
  Vec x(d + m);
  x << a, left.cwiseProduct(right);
  const Vec h = r.linear(x, d);
  const Vec f = r.linear(h, d);
  EXPECT_EQ(r.pos, theta.size());
  return f;
}

// Also returns the smallest |pre-activation| of the hidden units (for relu kinks).
Vec reference_mlp(const Vec& theta, const std::vector<int>& widths, Activation act, const Vec& z,
                  double* min_abs_pre = nullptr) {
  Reader r{theta};
  Vec x = z;
  for (int w : widths) {
    Vec pre = r.linear(x, w);
    if (min_abs_pre) *min_abs_pre = std::min(*min_abs_pre, pre.cwiseAbs().minCoeff());
    x = act == Activation::kTanh ? Vec(pre.array().tanh()) : Vec(pre.cwiseMax(0.0));
  }
  const Vec f = r.linear(x, static_cast<int>(z.size()));
  EXPECT_EQ(r.pos, theta.size());
  return f;
}

Mat eval(const VectorField& f, const Mat& Z) {
  Mat F(f.dim(), Z.cols());
  f.eval(Z, F);
  return F;
}


// Batch of n (several blocks and a partial one) against one state at a time, for eval and vjp.
void check_batch_equals_columns(const VectorField& f, int n, double state_scale) {
  const int d = f.dim();
  const Mat Z = random_matrix(d, n, 21, state_scale), U = random_matrix(d, n, 22, 1.0);
  const Mat F = eval(f, Z);
  Mat Z_bar = Mat::Zero(d, n);
  Vec theta_bar = Vec::Zero(f.num_params()), theta_bar_sum = Vec::Zero(f.num_params());
  f.vjp(Z, U, Z_bar, &theta_bar);
  double worst_f = 0, worst_z = 0;
  for (int j = 0; j < n; ++j) {
    Mat Fj(d, 1), Zbj = Mat::Zero(d, 1);
    f.eval(Z.col(j), Fj);
    f.vjp(Z.col(j), U.col(j), Zbj, &theta_bar_sum);
    worst_f = std::max(worst_f, max_abs(Fj - F.col(j)));
    worst_z = std::max(worst_z, max_abs(Zbj - Z_bar.col(j)));
  }
  EXPECT_LE(worst_f, 1e-13 * std::max(1.0, max_abs(F))) << f.name();
  EXPECT_LE(worst_z, 1e-13 * std::max(1.0, max_abs(Z_bar))) << f.name();
  EXPECT_LE(max_abs(theta_bar - theta_bar_sum), 1e-12 * std::max(1.0, max_abs(theta_bar))) << f.name();

  // Operands that are blocks of larger matrices (columns not contiguous) give the same results.
  Mat Zbig = Mat::Zero(d + 3, n), Ubig = Mat::Zero(d + 1, n), Fbig = Mat::Constant(d + 2, n, 7.0);
  Mat Zbar_big = Mat::Constant(d + 2, n, 1.0);
  Zbig.bottomRows(d) = Z;
  Ubig.topRows(d) = U;
  f.eval(Zbig.bottomRows(d), Fbig.middleRows(1, d));
  EXPECT_LE(max_abs(Fbig.middleRows(1, d) - F), 1e-13 * std::max(1.0, max_abs(F))) << f.name();
  EXPECT_EQ(Fbig.row(0), Mat::Constant(1, n, 7.0)) << f.name();
  EXPECT_EQ(Fbig.row(d + 1), Mat::Constant(1, n, 7.0)) << f.name();
  f.vjp(Zbig.bottomRows(d), Ubig.topRows(d), Zbar_big.middleRows(1, d), nullptr);
  EXPECT_LE(max_abs(Zbar_big.middleRows(1, d) - Mat::Constant(d, n, 1.0) - Z_bar),
            1e-13 * std::max(1.0, max_abs(Z_bar))) << f.name();
  EXPECT_EQ(Zbar_big.row(0), Mat::Constant(1, n, 1.0)) << f.name();
}

// ---- Bilinear

TEST(Bilinear, ParameterCountAndLayoutMatchTorch) {
  BilinearField f;
  EXPECT_EQ(f.dim(), 3);
  EXPECT_EQ(f.num_products(), 3);
  EXPECT_EQ(f.num_params(), 69);  // the peer's sum(p.numel() for p in Bilinear().parameters())
  const BilinearLayout l = f.layout();
  EXPECT_EQ(l.lin_weight, 0);
  EXPECT_EQ(l.lin_bias, 9);
  EXPECT_EQ(l.left, 12);
  EXPECT_EQ(l.right, 24);
  EXPECT_EQ(l.trans_weight, 36);
  EXPECT_EQ(l.trans_bias, 54);
  EXPECT_EQ(l.out_weight, 57);
  EXPECT_EQ(l.out_bias, 66);
  EXPECT_EQ(l.size, 69);
  const int d = 5, m = 2;
  EXPECT_EQ(BilinearField(d, m).num_params(), (d * d + d) + 2 * m * (d + 1) + (d * (d + m) + d) + (d * d + d));
}

TEST(Bilinear, EvalMatchesReferenceForward) {
  for (auto [d, m] : {std::pair{3, 3}, std::pair{5, 2}, std::pair{12, 4}}) {
    BilinearField f(d, m, 7);
    const Mat Z = random_matrix(d, 7, 3, 2.0);
    const Mat F = eval(f, Z);
    for (int j = 0; j < Z.cols(); ++j) {
      const Vec ref = reference_bilinear(f.params(), m, Z.col(j));
      EXPECT_LT(max_abs(F.col(j) - ref), 1e-13 * std::max(1.0, max_abs(ref))) << d << " " << m;
    }
  }
}

// Lorenz-63 as a bilinear network: lin = the linear part, p_1 = x z, p_2 = x y, p_3 = 0,
// trans = [I | C] with C adding -p_1 to f_2 and p_2 to f_3, out = identity.
TEST(Bilinear, RepresentsLorenz63Exactly) {
  const double sigma = 10, rho = 28, beta = 8.0 / 3;
  std::vector<double> th;
  auto put = [&](std::initializer_list<double> v) { th.insert(th.end(), v); };
  put({-sigma, sigma, 0, rho, -1, 0, 0, 0, -beta});  // lin.weight
  put({0, 0, 0});                                     // lin.bias
  put({1, 0, 0, 0}), put({1, 0, 0, 0}), put({0, 0, 0, 0});  // left_k: x, x, 0
  put({0, 0, 1, 0}), put({0, 1, 0, 0}), put({0, 0, 0, 0});  // right_k: z, y, 0
  put({1, 0, 0, 0, 0, 0, 0, 1, 0, -1, 0, 0, 0, 0, 1, 0, 1, 0});  // trans.weight, rows (a | p)
  put({0, 0, 0});                                                // trans.bias
  put({1, 0, 0, 0, 1, 0, 0, 0, 1});                              // out.weight
  put({0, 0, 0});                                                // out.bias
  ASSERT_EQ(th.size(), 69u);
  BilinearField f;
  f.set_params(Eigen::Map<const Vec>(th.data(), 69));
  Lorenz63 lorenz(sigma, rho, beta);
  Mat Z = random_matrix(3, 500, 5, 10.0);
  Z.row(2).array() += 25.0;
  const Mat F = eval(f, Z), F_ref = eval(lorenz, Z);
  EXPECT_LT(max_abs(F - F_ref), 1e-12 * max_abs(F_ref));
  EXPECT_LT(max_abs(f.jacobian(Z.col(0)) - lorenz.jacobian(Z.col(0))), 1e-12 * 30);
}

TEST(Bilinear, VjpMatchesFiniteDifferences) {
  testing::expect_vjp_matches_finite_differences(BilinearField(3, 3, 1), 2.0, 1e-6);
  testing::expect_vjp_matches_finite_differences(BilinearField(5, 2, 2), 2.0, 1e-6);
}

// eval_gradients: F as eval, and each state's gradients of f_i with respect to z and theta against central
// differences of eval, for several sizes (d, m).
TEST(Bilinear, ForwardModeGradientsMatchFiniteDifferences) {
  for (const auto& [d, m] : {std::pair{3, 3}, std::pair{2, 5}, std::pair{4, 1}}) {
    const BilinearField f(d, m, 7);
    ASSERT_TRUE(f.has_gradients());
    const int n = 4, np = f.num_params();
    const Mat Z = random_matrix(d, n, 3, 2.0);
    Mat F(d, n), Gz(d, d * n), Gth(np, d * n), F_ref(d, n);
    f.eval_gradients(Z, F, Gz, Gth);
    f.eval(Z, F_ref);
    EXPECT_LT(max_abs(F - F_ref), 1e-12 * (1 + max_abs(F_ref)));
    for (int s = 0; s < n; ++s) {
      for (int i = 0; i < d; ++i) {
        auto fi_of_z = [&](const Vec& z) {
          Mat Fz(d, 1);
          f.eval(z, Fz);
          return Fz(i, 0);
        };
        auto fi_of_theta = [&](const Vec& th) {
          BilinearField g = f;
          g.set_params(th);
          Mat Fz(d, 1);
          g.eval(Z.col(s), Fz);
          return Fz(i, 0);
        };
        EXPECT_LT(relative_gradient_error(Gz.col(d * s + i), finite_difference_gradient(fi_of_z, Z.col(s))), 1e-8)
            << d << " " << m << " state " << s << " component " << i;
        EXPECT_LT(relative_gradient_error(Gth.col(d * s + i), finite_difference_gradient(fi_of_theta, f.params())),
                  1e-8)
            << d << " " << m << " state " << s << " component " << i;
      }
    }
  }
}

TEST(Bilinear, BatchEqualsColumnByColumn) {
  check_batch_equals_columns(BilinearField(3, 3, 4), 600, 5.0);
  check_batch_equals_columns(BilinearField(12, 4, 5), 300, 1.0);
}

// ---- MLP

TEST(Mlp, ParameterCountAndLayoutMatchTorch) {
  MlpField f(3, {64, 64});
  EXPECT_EQ(f.num_params(), (3 * 64 + 64) + (64 * 64 + 64) + (64 * 3 + 3));
  EXPECT_EQ(f.num_layers(), 3);
  EXPECT_EQ(f.weight_offset(0), 0);
  EXPECT_EQ(f.bias_offset(0), 192);
  EXPECT_EQ(f.weight_offset(1), 256);
  EXPECT_EQ(f.bias_offset(1), 256 + 4096);
  EXPECT_EQ(f.weight_offset(2), 256 + 4160);
  EXPECT_EQ(f.bias_offset(2), 256 + 4160 + 192);
  EXPECT_EQ(MlpField(4, {8, 2}).num_params(), (4 * 8 + 8) + (8 * 2 + 2) + (2 * 4 + 4));
  EXPECT_THROW(MlpField(3, {}), std::invalid_argument);
  EXPECT_THROW(MlpField(3, {64, 0}), std::invalid_argument);
  EXPECT_THROW(MlpField(0, {4}), std::invalid_argument);
}

TEST(Mlp, EvalMatchesReferenceForward) {
  for (auto act : {Activation::kTanh, Activation::kRelu}) {
    for (const std::vector<int>& widths : {std::vector<int>{64, 64}, std::vector<int>{5}, std::vector<int>{9, 17, 3}}) {
      const int d = widths.size() == 1 ? 2 : 3;
      MlpField f(d, widths, act, 3);
      const Mat Z = random_matrix(d, 9, 4, 3.0);
      const Mat F = eval(f, Z);
      for (int j = 0; j < Z.cols(); ++j) {
        const Vec ref = reference_mlp(f.params(), widths, act, Z.col(j));
        EXPECT_LT(max_abs(F.col(j) - ref), 1e-13 * std::max(1.0, max_abs(ref))) << to_string(act);
      }
    }
  }
}

TEST(Mlp, VjpMatchesFiniteDifferencesTanh) { testing::expect_vjp_matches_finite_differences(MlpField(3, {16, 16}, Activation::kTanh, 1), 2.0, 1e-6); }

TEST(Mlp, VjpMatchesFiniteDifferencesReluAwayFromKinks) {
  MlpField f(4, {8, 2}, Activation::kRelu, 3);
  // The states of expect_vjp_matches_finite_differences keep every pre-activation far from the kink compared with the difference steps.
  const Mat Z = random_matrix(4, 5, 11, 1.0);
  double min_pre = std::numeric_limits<double>::infinity();
  for (int j = 0; j < Z.cols(); ++j) reference_mlp(f.params(), {8, 2}, Activation::kRelu, Z.col(j), &min_pre);
  ASSERT_GT(min_pre, 1e-3);
  testing::expect_vjp_matches_finite_differences(f, 1.0, 1e-6);
}

TEST(Mlp, BatchEqualsColumnByColumn) {
  check_batch_equals_columns(MlpField(3, {64, 64}, Activation::kTanh, 6), 300, 5.0);
  check_batch_equals_columns(MlpField(10, {20, 7}, Activation::kRelu, 7), 200, 1.0);
}

TEST(Mlp, VectorisedTanhMatchesStdTanh) {
  const int n = 400001;
  Mat X(n, 1);
  for (int i = 0; i < n; ++i) X(i) = -20.0 + 40.0 * i / (n - 1);
  Mat Y = X;
  tanh_inplace(Y);
  double worst = 0;
  for (int i = 0; i < n; ++i) {
    const double t = std::tanh(X(i));
    worst = std::max(worst, t == 0 ? std::abs(Y(i)) : std::abs(Y(i) - t) / std::abs(t));
  }
  EXPECT_LT(worst, 1e-15);
  const double inf = std::numeric_limits<double>::infinity();
  Mat S(12, 1);
  S << 0.0, -0.0, 1e-300, -1e-20, 1e-9, 0.1733, -0.3466, 19.5, 25.0, -1e300, inf, -inf;
  Mat T = S;
  tanh_inplace(T);
  for (int i = 0; i < S.size(); ++i) {
    EXPECT_NEAR(T(i), std::tanh(S(i)), 1e-15 * std::abs(std::tanh(S(i)))) << S(i);
    EXPECT_EQ(std::signbit(T(i)), std::signbit(S(i))) << S(i);
  }
  Mat N = Mat::Constant(3, 1, std::numeric_limits<double>::quiet_NaN());
  tanh_inplace(N);
  EXPECT_TRUE(N.array().isNaN().all());
}

TEST(Mlp, NonFiniteStatesGiveNonFiniteOutput) {  // divergence must stay visible to the solvers
  for (auto act : {Activation::kTanh, Activation::kRelu}) {
    MlpField f(3, {8}, act);
    Mat Z = Mat::Ones(3, 2);
    Z(1, 0) = std::numeric_limits<double>::quiet_NaN();
    const Mat F = eval(f, Z);
    EXPECT_FALSE(F.col(0).allFinite()) << to_string(act);
    EXPECT_TRUE(F.col(1).allFinite()) << to_string(act);
  }
}

TEST(Mlp, ActivationNamesRoundTrip) {
  for (auto a : {Activation::kTanh, Activation::kRelu}) EXPECT_EQ(parse_activation(to_string(a)), a);
  EXPECT_FALSE(parse_activation("sigmoid"));
}

// ---- Local models: f_i(z) = g(z_{i-k}, ..., z_{i+k}) on a periodic grid

// The stencil of site i, (z_{i-k}, ..., z_{i+k}) with indices mod d.
Vec stencil_of(const Vec& z, int i, int k) {
  const int d = static_cast<int>(z.size());
  Vec x(2 * k + 1);
  for (int j = -k; j <= k; ++j) x(j + k) = z(((i + j) % d + d) % d);
  return x;
}

// f_i = w . x + b + sum_p c_p (l_p . x + a_p)(r_p . x + e_p), theta read in the documented torch order.
Vec reference_local_bilinear(const Vec& theta, int k, int m, const Vec& z) {
  const int d = static_cast<int>(z.size());
  Vec f(d);
  for (int i = 0; i < d; ++i) {
    const Vec x = stencil_of(z, i, k);
    Reader r{theta};
    const double a = r.linear(x, 1)(0);
    Vec left(m), right(m);
    for (int p = 0; p < m; ++p) left(p) = r.linear(x, 1)(0);
    for (int p = 0; p < m; ++p) right(p) = r.linear(x, 1)(0);
    double sum = a;
    for (int p = 0; p < m; ++p) sum += theta(r.pos + p) * left(p) * right(p);  // out: Linear(m, 1, bias=False)
    EXPECT_EQ(r.pos + m, theta.size());
    f(i) = sum;
  }
  return f;
}

// f_i = g(x_i), g the MLP (s, widths..., 1) in torch's order.
Vec reference_local_mlp(const Vec& theta, int k, const std::vector<int>& widths, Activation act, const Vec& z) {
  const int d = static_cast<int>(z.size());
  Vec f(d);
  for (int i = 0; i < d; ++i) {
    Reader r{theta};
    Vec x = stencil_of(z, i, k);
    for (int w : widths) {
      const Vec pre = r.linear(x, w);
      x = act == Activation::kTanh ? Vec(pre.array().tanh()) : Vec(pre.cwiseMax(0.0));
    }
    f(i) = r.linear(x, 1)(0);
    EXPECT_EQ(r.pos, theta.size());
  }
  return f;
}

// Z with every column rolled down by `shift` sites: (roll Z)_i = Z_{i - shift}.
Mat roll(const Mat& Z, int shift) {
  const int d = static_cast<int>(Z.rows());
  Mat R(Z.rows(), Z.cols());
  for (int i = 0; i < d; ++i) R.row(((i + shift) % d + d) % d) = Z.row(i);
  return R;
}

TEST(LocalModels, ParameterCountDoesNotDependOnTheDimension) {
  EXPECT_EQ(LocalBilinearField(40).num_params(), 45);  // k = 2, m = 3: (5 + 1)(2 3 + 1) + 3
  EXPECT_EQ(LocalBilinearField(320).num_params(), 45);
  EXPECT_EQ(LocalBilinearField(9, 1, 2).num_params(), (3 + 1) * 5 + 2);
  EXPECT_EQ(LocalMlpField(40).num_params(), (5 * 64 + 64) + (64 * 64 + 64) + (64 + 1));
  EXPECT_EQ(LocalMlpField(320, 2, {16, 16}).num_params(), 385);
  EXPECT_EQ(LocalMlpField(7, 3, {4}).num_params(), (7 * 4 + 4) + (4 + 1));
  EXPECT_THROW(LocalBilinearField(4, 2), std::invalid_argument);  // 5 sites do not fit in 4
  EXPECT_THROW(LocalBilinearField(5, -1), std::invalid_argument);
  EXPECT_THROW(LocalBilinearField(5, 2, 0), std::invalid_argument);
  EXPECT_THROW(LocalMlpField(4, 2), std::invalid_argument);
  EXPECT_THROW(LocalMlpField(9, 2, {}), std::invalid_argument);
  EXPECT_NO_THROW(LocalBilinearField(5, 2));
  EXPECT_NO_THROW(LocalMlpField(1, 0, {3}));
}

TEST(LocalModels, EvalMatchesReferenceForward) {
  for (auto [d, k, m] : {std::tuple{40, 2, 3}, std::tuple{5, 2, 1}, std::tuple{11, 0, 2}, std::tuple{13, 3, 4}}) {
    LocalBilinearField f(d, k, m, 7);
    const Mat Z = random_matrix(d, 7, 3, 2.0);
    const Mat F = eval(f, Z);
    for (int j = 0; j < Z.cols(); ++j) {
      const Vec ref = reference_local_bilinear(f.params(), k, m, Z.col(j));
      EXPECT_LT(max_abs(F.col(j) - ref), 1e-13 * std::max(1.0, max_abs(ref))) << d << " " << k << " " << m;
    }
  }
  for (auto act : {Activation::kTanh, Activation::kRelu})
    for (auto [d, k, widths] : {std::tuple{40, 2, std::vector<int>{64, 64}}, std::tuple{5, 2, std::vector<int>{3}},
                                std::tuple{17, 1, std::vector<int>{9, 17, 3}}}) {
      LocalMlpField f(d, k, widths, act, 3);
      const Mat Z = random_matrix(d, 5, 4, 2.0);
      const Mat F = eval(f, Z);
      for (int j = 0; j < Z.cols(); ++j) {
        const Vec ref = reference_local_mlp(f.params(), k, widths, act, Z.col(j));
        EXPECT_LT(max_abs(F.col(j) - ref), 1e-13 * std::max(1.0, max_abs(ref))) << d << " " << to_string(act);
      }
    }
}

// Lorenz-96 as a local bilinear field (k = 2, one product): w = -e_0 (the site itself), b = F,
// (l . x)(r . x) = (z_{i+1} - z_{i-2}) z_{i-1}, c = 1.
TEST(LocalModels, LocalBilinearRepresentsLorenz96Exactly) {
  const int d = 40;
  const double forcing = 8.0;
  Vec theta(6 * 3 + 1);
  theta << 0, 0, -1, 0, 0, forcing,  // lin: offsets -2..2, bias
      -1, 0, 0, 1, 0, 0,             // left: z_{i+1} - z_{i-2}
      0, 1, 0, 0, 0, 0,              // right: z_{i-1}
      1;                             // out
  LocalBilinearField f(d, 2, 1);
  f.set_params(theta);
  Lorenz96 lorenz(d, forcing);
  const Mat Z = random_matrix(d, 300, 5, 3.0);
  const Mat F = eval(f, Z), F_ref = eval(lorenz, Z);
  EXPECT_LT(max_abs(F - F_ref), 1e-13 * max_abs(F_ref));
  EXPECT_LT(max_abs(f.jacobian(Z.col(0)) - lorenz.jacobian(Z.col(0))), 1e-13 * 10);
}

TEST(LocalModels, VjpMatchesFiniteDifferences) {
  testing::expect_vjp_matches_finite_differences(LocalBilinearField(9, 2, 2, 1), 2.0, 1e-6);
  testing::expect_vjp_matches_finite_differences(LocalBilinearField(5, 2, 3, 2), 2.0, 1e-6);  // stencil = grid
  testing::expect_vjp_matches_finite_differences(LocalBilinearField(7, 0, 1, 3), 2.0, 1e-6);
  testing::expect_vjp_matches_finite_differences(LocalMlpField(9, 2, {8, 8}, Activation::kTanh, 1), 2.0, 1e-6);
  testing::expect_vjp_matches_finite_differences(LocalMlpField(6, 1, {5}, Activation::kTanh, 2), 2.0, 1e-6);
}

TEST(LocalModels, LocalMlpReluVjpMatchesFiniteDifferencesAwayFromKinks) {
  LocalMlpField f(8, 2, {6, 3}, Activation::kRelu, 3);
  const Mat Z = random_matrix(8, 5, 11, 1.0);  // the states of expect_vjp_matches_finite_differences
  double min_pre = std::numeric_limits<double>::infinity();
  const Vec theta = f.params();
  for (int j = 0; j < Z.cols(); ++j)
    for (int i = 0; i < 8; ++i) {
      Reader r{theta};
      Vec x = stencil_of(Z.col(j), i, 2);
      for (int w : {6, 3}) {
        const Vec pre = r.linear(x, w);
        min_pre = std::min(min_pre, pre.cwiseAbs().minCoeff());
        x = pre.cwiseMax(0.0);
      }
    }
  ASSERT_GT(min_pre, 1e-3);
  testing::expect_vjp_matches_finite_differences(f, 1.0, 1e-6);
}

// Blocks of site rows that start and end inside states: the batch is the columns one by one.
TEST(LocalModels, BatchEqualsColumnByColumn) {
  check_batch_equals_columns(LocalBilinearField(40, 2, 3, 4), 300, 3.0);
  check_batch_equals_columns(LocalBilinearField(37, 3, 2, 5), 50, 1.0);
  check_batch_equals_columns(LocalMlpField(40, 2, {16, 16}, Activation::kTanh, 6), 100, 3.0);
  check_batch_equals_columns(LocalMlpField(23, 1, {7}, Activation::kRelu, 7), 60, 1.0);
}

// f(roll z) = roll f(z), and the same for the vjp: the field commutes with translations of the grid.
TEST(LocalModels, TranslationCommutesWithTheField) {
  const LocalBilinearField a(40, 2, 3, 8);
  const LocalMlpField b(40, 2, {16, 16}, Activation::kTanh, 9);
  for (const VectorField* f : {static_cast<const VectorField*>(&a), static_cast<const VectorField*>(&b)}) {
    const Mat Z = random_matrix(40, 30, 14, 3.0), U = random_matrix(40, 30, 15, 1.0);
    const Mat F = eval(*f, Z);
    Mat Z_bar = Mat::Zero(40, 30);
    f->vjp(Z, U, Z_bar, nullptr);
    for (int shift : {1, 3, -7, 39}) {
      EXPECT_LT(max_abs(eval(*f, roll(Z, shift)) - roll(F, shift)), 1e-14 * max_abs(F)) << f->name() << shift;
      Mat Z_bar_rolled = Mat::Zero(40, 30);
      f->vjp(roll(Z, shift), roll(U, shift), Z_bar_rolled, nullptr);
      EXPECT_LT(max_abs(Z_bar_rolled - roll(Z_bar, shift)), 1e-14 * max_abs(Z_bar)) << f->name() << shift;
    }
  }
  // The plain bilinear model of the same dimension does not commute with translations.
  const BilinearField c(40, 3, 8);
  const Mat Z = random_matrix(40, 3, 14, 3.0);
  EXPECT_GT(max_abs(eval(c, roll(Z, 1)) - roll(eval(c, Z), 1)), 1e-3);
}

// ---- All

TEST(Models, SeededInitialisationIsDeterministicAndWithinTorchBounds) {
  for (const std::string& name : model_names()) {
    ModelOptions o;
    o.seed = 42;
    const Vec a = make_model(name, 5, o)->params(), b = make_model(name, 5, o)->params();
    o.seed = 43;
    const Vec c = make_model(name, 5, o)->params();
    EXPECT_EQ(a, b) << name;
    EXPECT_GT(max_abs(a - c), 0.1) << name;
    EXPECT_GT(a.cwiseAbs().minCoeff(), 0.0) << name;  // no parameter left at zero
  }
  MlpField f(3, {64, 64}, Activation::kTanh, 1);
  const Vec theta = f.params();
  for (int l = 0; l < f.num_layers(); ++l) {
    const double bound = 1 / std::sqrt(double(f.layer_inputs(l)));
    const auto layer = theta.segment(f.weight_offset(l), (f.layer_inputs(l) + 1) * f.layer_outputs(l));
    EXPECT_LE(layer.cwiseAbs().maxCoeff(), bound);
    EXPECT_GT(layer.cwiseAbs().maxCoeff(), 0.9 * bound);
  }
  BilinearField g(3, 3, 1);
  const Vec th = g.params();
  EXPECT_LE(th.segment(g.layout().trans_weight, 21).cwiseAbs().maxCoeff(), 1 / std::sqrt(6.0));
  EXPECT_GT(th.segment(g.layout().lin_weight, 12).cwiseAbs().maxCoeff(), 1 / std::sqrt(6.0));
  EXPECT_LE(th.segment(g.layout().lin_weight, 12).cwiseAbs().maxCoeff(), 1 / std::sqrt(3.0));
  g.init(2);
  EXPECT_EQ(g.params(), BilinearField(3, 3, 2).params());
  LocalBilinearField h(40, 2, 3, 1);
  EXPECT_LE(h.params().head(42).cwiseAbs().maxCoeff(), 1 / std::sqrt(5.0));
  EXPECT_GT(h.params().head(42).cwiseAbs().maxCoeff(), 0.9 / std::sqrt(5.0));
  EXPECT_LE(h.params().tail(3).cwiseAbs().maxCoeff(), 1 / std::sqrt(3.0));
  h.init(2);
  EXPECT_EQ(h.params(), LocalBilinearField(40, 2, 3, 2).params());
  EXPECT_EQ(LocalMlpField(40, 2, {8}, Activation::kTanh, 5).params(),
            MlpField(5, {8}, Activation::kTanh, 5).params().head(LocalMlpField(40, 2, {8}).num_params()));
}

TEST(Models, SetParamsRoundTripsAndChecksTheSize) {
  for (const std::string& name : model_names()) {
    auto f = make_model(name, 5);
    const Vec theta = random_matrix(f->num_params(), 1, 9, 0.3);
    const Mat Z = random_matrix(5, 4, 10, 1.0);
    f->set_params(theta);
    EXPECT_EQ(f->params(), theta) << name;
    auto g = f->clone();
    EXPECT_EQ(g->params(), theta) << name;
    EXPECT_EQ(eval(*g, Z), eval(*f, Z)) << name;
    f->set_params(Vec::Zero(f->num_params()));
    EXPECT_EQ(g->params(), theta) << name;  // clones are independent
    EXPECT_EQ(max_abs(eval(*f, Z)), 0.0) << name;
    EXPECT_THROW(f->set_params(Vec::Zero(f->num_params() + 1)), std::invalid_argument) << name;
  }
}

TEST(Models, ConcurrentEvaluationFromSeveralThreads) {
  MlpField f(3, {32, 32});
  BilinearField g;
  LocalBilinearField lb(40);
  LocalMlpField lm(40, 2, {16, 16});
  const Mat Z = random_matrix(3, 1000, 13, 3.0), Z40 = random_matrix(40, 100, 13, 3.0);
  const Mat F = eval(f, Z), G = eval(g, Z), LB = eval(lb, Z40), LM = eval(lm, Z40);
  bool ok[4] = {false, false, false, false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      bool same = true;
      for (int r = 0; r < 20; ++r)
        same = same && eval(f, Z) == F && eval(g, Z) == G && eval(lb, Z40) == LB && eval(lm, Z40) == LM;
      ok[t] = same;
    });
  for (auto& t : threads) t.join();
  for (bool b : ok) EXPECT_TRUE(b);
}

TEST(Models, FactoryAndValidation) {
  EXPECT_EQ(model_names(), (std::vector<std::string>{"bilinear", "mlp", "local-bilinear", "local-mlp"}));
  ModelOptions o;
  EXPECT_EQ(o.validation_error(), "");
  auto b = make_model("bilinear", 5, o);
  EXPECT_EQ(b->name(), "bilinear");
  EXPECT_EQ(b->dim(), 5);
  o.widths = {16, 8, 4};
  o.activation = "relu";
  auto m = make_model("mlp", 4, o);
  EXPECT_EQ(m->name(), "mlp");
  EXPECT_EQ(m->num_params(), (4 * 16 + 16) + (16 * 8 + 8) + (8 * 4 + 4) + (4 * 4 + 4));
  EXPECT_EQ(dynamic_cast<MlpField&>(*m).activation(), Activation::kRelu);

  try {
    make_model("resnet", 3, {});
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("resnet"), std::string::npos) << msg;
    EXPECT_NE(msg.find("bilinear, mlp"), std::string::npos) << msg;
  }
  EXPECT_THROW(make_model("mlp", 0, {}), std::invalid_argument);

  auto error_of = [](auto edit) {
    ModelOptions bad;
    edit(bad);
    EXPECT_THROW(make_model("mlp", 3, bad), std::invalid_argument);
    return bad.validation_error();
  };
  EXPECT_NE(error_of([](ModelOptions& x) { x.num_products = 0; }).find("num-products"), std::string::npos);
  EXPECT_NE(error_of([](ModelOptions& x) { x.widths = {}; }).find("widths"), std::string::npos);
  EXPECT_NE(error_of([](ModelOptions& x) { x.widths = {64, 0}; }).find("widths"), std::string::npos);
  EXPECT_NE(error_of([](ModelOptions& x) { x.activation = "sigmoid"; }).find("activation"), std::string::npos);
  EXPECT_NE(error_of([](ModelOptions& x) { x.stencil = -1; }).find("stencil"), std::string::npos);

  o = ModelOptions{};
  o.stencil = 1;
  o.num_products = 2;
  auto lb = make_model("local-bilinear", 12, o);
  EXPECT_EQ(lb->name(), "local-bilinear");
  EXPECT_EQ(lb->dim(), 12);
  EXPECT_EQ(dynamic_cast<LocalBilinearField&>(*lb).stencil(), 1);
  EXPECT_EQ(lb->num_params(), (3 + 1) * 5 + 2);
  o.widths = {6};
  o.activation = "relu";
  auto lm = make_model("local-mlp", 12, o);
  EXPECT_EQ(lm->name(), "local-mlp");
  EXPECT_EQ(lm->num_params(), (3 * 6 + 6) + (6 + 1));
  EXPECT_EQ(dynamic_cast<LocalMlpField&>(*lm).activation(), Activation::kRelu);
  o.stencil = 6;  // 13 sites on a grid of 12
  EXPECT_THROW(make_model("local-mlp", 12, o), std::invalid_argument);
}

}  // namespace
}  // namespace trk
