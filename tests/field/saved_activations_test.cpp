// eval_saving / vjp_saved (the activations kept from the forward pass) give exactly what eval / vjp give, bit for
// bit, for the networks, on batches that end with a partial block and with accumulating outputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "gradient_check.h"
#include "trk/field/bilinear.h"
#include "trk/field/mlp.h"

namespace trk {
namespace {

using testing::random_matrix;

bool same_bits(const Mat& a, const Mat& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::equal(a.data(), a.data() + a.size(), b.data(),
                    [](double x, double y) { return std::memcmp(&x, &y, sizeof x) == 0; });
}

void expect_saved_equals_recomputed(const VectorField& f) {
  const int d = f.dim();
  ASSERT_GT(f.activation_size(), 0);
  for (Eigen::Index n : {1, 7, 128, 130, 300, 513}) {
    SCOPED_TRACE("n = " + std::to_string(n));
    const Mat Z = random_matrix(d, static_cast<int>(n), 1, 3.0), U = random_matrix(d, static_cast<int>(n), 2, 1.0);
    Mat F(d, n), F_saved(d, n);
    FieldActivations act;
    f.eval(Z, F);
    f.eval_saving(Z, F_saved, act);
    EXPECT_FALSE(act.empty());
    EXPECT_TRUE(same_bits(F, F_saved));
    // Accumulating outputs start non-zero.
    Mat Z_bar = random_matrix(d, static_cast<int>(n), 3, 1.0), Z_bar_saved = Z_bar;
    Vec theta_bar = random_matrix(f.num_params(), 1, 4, 1.0), theta_bar_saved = theta_bar;
    f.vjp(Z, U, Z_bar, &theta_bar);
    f.vjp_saved(Z, act, U, Z_bar_saved, &theta_bar_saved);
    EXPECT_TRUE(same_bits(Z_bar, Z_bar_saved));
    EXPECT_TRUE(same_bits(theta_bar, theta_bar_saved));
    // Without theta_bar, and with activations of another batch size (ignored: recomputed).
    Mat Z_bar2 = Mat::Zero(d, n), Z_bar2_saved = Mat::Zero(d, n);
    f.vjp(Z, U, Z_bar2, nullptr);
    f.vjp_saved(Z, act, U, Z_bar2_saved, nullptr);
    EXPECT_TRUE(same_bits(Z_bar2, Z_bar2_saved));
    FieldActivations other;
    Mat F_other(d, n + 1);
    f.eval_saving(random_matrix(d, static_cast<int>(n + 1), 5, 1.0), F_other, other);
    Mat Z_bar3 = Mat::Zero(d, n);
    f.vjp_saved(Z, other, U, Z_bar3, nullptr);
    EXPECT_TRUE(same_bits(Z_bar2, Z_bar3));
  }
}

TEST(SavedActivations, Bilinear) { expect_saved_equals_recomputed(BilinearField(3, 3, 1)); }
TEST(SavedActivations, BilinearWiderState) { expect_saved_equals_recomputed(BilinearField(5, 2, 2)); }
TEST(SavedActivations, MlpTanh) { expect_saved_equals_recomputed(MlpField(3, {64, 64}, Activation::kTanh, 1)); }
TEST(SavedActivations, MlpRelu) { expect_saved_equals_recomputed(MlpField(3, {16, 8, 16}, Activation::kRelu, 2)); }

}  // namespace
}  // namespace trk
