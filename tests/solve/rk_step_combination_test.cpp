// The fused stage combinations of rk_step / rk_step_reverse against the term-by-term Eigen form they replace
// (`Y = Z; Y += (h a_ij) K_j; ...`, `(Z_next_bar.cwiseProduct(K_i)).sum()` on a strided Ref), bit for bit, and the
// reverse pass with and without the field's kept activations, bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "gradient_check.h"
#include "trk/field/bilinear.h"
#include "trk/field/mlp.h"
#include "trk/solve/rk_step.h"

namespace trk {
namespace {

using testing::random_matrix;

bool same_bits(const Mat& a, const Mat& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

// A dense explicit scheme with a few zero coefficients (skipped terms).
void scheme(int q, Mat& A, Vec& b) {
  const Mat R = random_matrix(q, q + 1, 11, 0.3);
  A = Mat::Zero(q, q);
  b = R.col(q);
  for (int i = 1; i < q; ++i)
    for (int j = 0; j < i; ++j) A(i, j) = (i + j) % 5 == 3 ? 0.0 : R(i, j);
  b(q / 2) = 0.0;
}

// The term-by-term forms.
void reference_step(const VectorField& f, const Mat& A, const Vec& b, double h, const Mat& Z, Mat& Z_next,
                    StageTape& tape) {
  const int q = static_cast<int>(b.size());
  tape.resize(q, static_cast<int>(Z.rows()), Z.cols());
  for (int i = 0; i < q; ++i) {
    tape.Y[i] = Z;
    for (int j = 0; j < i; ++j)
      if (A(i, j) != 0.0) tape.Y[i].noalias() += (h * A(i, j)) * tape.K[j];
    f.eval(tape.Y[i], tape.K[i]);
  }
  Z_next = Z;
  for (int i = 0; i < q; ++i)
    if (b(i) != 0.0) Z_next.noalias() += (h * b(i)) * tape.K[i];
}
void reference_reverse(const VectorField& f, const Mat& A, const Vec& b, double h, const StageTape& tape,
                       const ConstMatRef& Z_next_bar, Mat& Z_bar, Vec& theta_bar, Mat& A_bar, Vec& b_bar) {
  const int q = static_cast<int>(b.size());
  std::vector<Mat> Y_bar(q);
  Mat K_bar;
  for (int i = q - 1; i >= 0; --i) {
    K_bar = (h * b(i)) * Z_next_bar;
    for (int l = i + 1; l < q; ++l)
      if (A(l, i) != 0.0) K_bar.noalias() += (h * A(l, i)) * Y_bar[l];
    Y_bar[i] = Mat::Zero(Z_next_bar.rows(), Z_next_bar.cols());
    f.vjp(tape.Y[i], K_bar, Y_bar[i], &theta_bar);
  }
  Z_bar = Z_next_bar;
  for (int i = 0; i < q; ++i) Z_bar += Y_bar[i];
  // Eigen sums a strided Ref's coefficients one after the other in column-major order; where the compiler fuses
  // products and sums into FMAs is its choice, so the form is written out as the library's build of
  // `b_bar(i) += h * (Z_next_bar.cwiseProduct(K_i)).sum()` computed it: the first product, then fused multiply-adds,
  // then b_bar + h s fused (with FMA hardware, as here with -march=native).
  for (int i = 0; i < q; ++i) {
    double s = 0.0;
    for (Eigen::Index j = 0; j < Z_next_bar.cols(); ++j)
      for (Eigen::Index r = 0; r < Z_next_bar.rows(); ++r)
        s = (j == 0 && r == 0) ? Z_next_bar(r, j) * tape.K[i](r, j) : std::fma(Z_next_bar(r, j), tape.K[i](r, j), s);
    b_bar(i) = std::fma(h, s, b_bar(i));
  }
  for (int l = 1; l < q; ++l)
    for (int j = 0; j < l; ++j) A_bar(l, j) += h * (Y_bar[l].cwiseProduct(tape.K[j])).sum();
}

void expect_same_as_reference(const VectorField& f, int q) {
  Mat A;
  Vec b;
  scheme(q, A, b);
  const double h = 0.05;
  for (Eigen::Index n : {1, 20, 21, 22, 250, 700}) {
    SCOPED_TRACE("q = " + std::to_string(q) + ", n = " + std::to_string(n));
    const int d = f.dim();
    const Mat Z = random_matrix(d, static_cast<int>(n), 1, 2.0), W = random_matrix(d, static_cast<int>(n), 2, 1.0);
    CountedField cf(f);
    StageTape tape, ref_tape;
    Mat Z_next(d, n), Z_ref;
    rk_step(cf, A, b, h, Z, Z_next, tape);
    reference_step(f, A, b, h, Z, Z_ref, ref_tape);
    EXPECT_TRUE(same_bits(Z_next, Z_ref));
    for (int i = 0; i < q; ++i) EXPECT_TRUE(same_bits(tape.Y[i], ref_tape.Y[i]) && same_bits(tape.K[i], ref_tape.K[i]));
    // Reverse, accumulating into non-zero outputs, with the kept activations (tape) and without (a copy that has none).
    const Vec theta0 = random_matrix(f.num_params(), 1, 3, 1.0), b0 = random_matrix(q, 1, 4, 1.0);
    const Mat A0 = random_matrix(q, q, 5, 1.0).triangularView<Eigen::StrictlyLower>();
    Mat Z_bar, Z_bar_ref, Z_bar_plain;
    Vec theta_bar = theta0, theta_bar_ref = theta0, theta_bar_plain = theta0, b_bar = b0, b_bar_ref = b0;
    Mat A_bar = A0, A_bar_ref = A0;
    const Eigen::Map<const Mat> W_ref(W.data(), d, n);  // the reverse pass reads Z_next_bar through a Ref
    rk_step_reverse(cf, A, b, h, tape, W, {.Z_bar = &Z_bar, .theta_bar = &theta_bar, .A_bar = &A_bar, .b_bar = &b_bar});
    reference_reverse(f, A, b, h, ref_tape, W_ref, Z_bar_ref, theta_bar_ref, A_bar_ref, b_bar_ref);
    EXPECT_TRUE(same_bits(Z_bar, Z_bar_ref));
    EXPECT_TRUE(same_bits(theta_bar, theta_bar_ref));
    // A_bar's dot products are Eigen reductions in the library as in the reference, whose FMA contraction the compiler
    // may choose differently in this file: rounding level here (the library's code for them is unchanged).
    EXPECT_LE((A_bar - A_bar_ref).cwiseAbs().maxCoeff(), 1e-14 * (1.0 + A_bar_ref.cwiseAbs().maxCoeff()));
    EXPECT_TRUE(same_bits(b_bar, b_bar_ref));
    StageTape plain = tape;
    for (auto& a : plain.activations) a.clear();
    rk_step_reverse(cf, A, b, h, plain, W, {.Z_bar = &Z_bar_plain, .theta_bar = &theta_bar_plain});
    EXPECT_TRUE(same_bits(Z_bar_plain, Z_bar_ref));
    EXPECT_TRUE(same_bits(theta_bar_plain, theta_bar_ref));
  }
}

TEST(RkStepCombinations, BilinearMatchesTermByTermForm) {
  for (int q : {1, 4, 10, 13}) expect_same_as_reference(BilinearField(3, 3, 1), q);
}
TEST(RkStepCombinations, MlpMatchesTermByTermForm) {
  expect_same_as_reference(MlpField(3, {32, 32}, Activation::kTanh, 1), 10);
}
TEST(RkStepCombinations, ActivationsKeptOnlyWithinTheBudget) {
  const MlpField f(3, {64, 64}, Activation::kTanh, 1);
  Mat A;
  Vec b;
  scheme(10, A, b);
  CountedField cf(f);
  for (Eigen::Index n : {250, 2000}) {
    const Mat Z = random_matrix(3, static_cast<int>(n), 1, 1.0);
    Mat Z_next(3, n);
    StageTape tape;
    rk_step(cf, A, b, 0.1, Z, Z_next, tape);
    const bool within = f.activation_size() * 10 * n <= StageTape::kActivationBudget;
    EXPECT_EQ(!tape.activations[3].empty(), within) << n;
    tape.keep_activations = false;
    rk_step(cf, A, b, 0.1, Z, Z_next, tape);
    EXPECT_TRUE(tape.activations[3].empty());
  }
}

}  // namespace
}  // namespace trk
