// Kernels of a multilayer perceptron on a block of rows (one input per row, torch's layout), shared by the mlp
// and local-mlp fields: the activations (tanh, relu) and their derivatives, and the forward and reverse sweeps
// through the layers of an MLP read from theta in torch's order (mlp.h). With X the rows entering layer l
// (nb x n_l) and M_l = W_l^T (n_l x n_{l+1}, torch's row-major weight read column-major):
//   forward:  X_{l+1} = sigma(X_l M_l + 1 b_l^T) for the hidden layers, X_0 the block's inputs;
//   reverse:  G = dL/d(pre-activation of layer l):  M_l_bar += X_l^T G,  b_l_bar += column sums of G,
//             dL/dX_l = G M_l^T,  and G of layer l - 1 = dL/dX_l * sigma'(X_l) (tanh: 1 - x^2; relu: x > 0).
// Internal to src/trk/field.
#pragma once
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "trk/field/batch_kernels.h"
#include "trk/field/mlp.h"

namespace trk::field_kernels {

// tanh(x) = sign(x) (-e) / (2 + e), e = expm1(y), y = -2 min(|x|, 20) = k ln2 + r with |r| <= ln2 / 2:
// e = 2^k (expm1(r) + 1) - 1 = 2^k expm1(r) + (2^k - 1). For k = 0 (|x| < 0.174) e = expm1(r) keeps full
// relative accuracy; otherwise |e| >= 0.29 and the sum is benign. 2 + e lies in (1, 2]. tanh(20) = 1 in double.
// Written branch-free so that loops over it vectorise.
inline double tanh_kernel(double x) {
  constexpr double kInvLn2 = 0x1.71547652b82fep0;
  constexpr double kLn2Hi = 0x1.62e42fefa3800p-1, kLn2Lo = 0x1.ef35793c7673p-45;
  constexpr double kShifter = 0x1.8p52;  // t = v + kShifter rounds v to an integer held in t's low bits
  const double a = std::min(std::fabs(x), 20.0);  // NaN stays NaN
  const double y = -2.0 * a;
  const double t = y * kInvLn2 + kShifter;
  const double k = t - kShifter;  // in [-58, 0]
  const double r = (y - k * kLn2Hi) - k * kLn2Lo;
  // expm1(r) = r + r^2 (1/2! + r/3! + ... + r^11/13!): truncation below 2e-17 relative for |r| <= ln2 / 2.
  double q = 1.0 / 6227020800.0;
  q = q * r + 1.0 / 479001600.0;
  q = q * r + 1.0 / 39916800.0;
  q = q * r + 1.0 / 3628800.0;
  q = q * r + 1.0 / 362880.0;
  q = q * r + 1.0 / 40320.0;
  q = q * r + 1.0 / 5040.0;
  q = q * r + 1.0 / 720.0;
  q = q * r + 1.0 / 120.0;
  q = q * r + 1.0 / 24.0;
  q = q * r + 1.0 / 6.0;
  q = q * r + 0.5;
  const double expm1_r = (q * r) * r + r;
  // 2^k: k's low 12 bits (two's complement, from t) moved to the exponent field, plus the bias 1023.
  const double two_k = std::bit_cast<double>((std::bit_cast<std::uint64_t>(t) << 52) + (std::uint64_t{1023} << 52));
  const double e = two_k * expm1_r + (two_k - 1.0);
  return std::copysign(e / (-2.0 - e), x);
}

// H <- sigma(H + 1 b^T), column by column (a column holds one unit for the rows of the block).
template <class H>
void activate(Activation a, const double* b, H&& h) {
  const Eigen::Index rows = h.rows();
  for (Eigen::Index j = 0; j < h.cols(); ++j) {
    double* x = h.col(j).data();
    const double bj = b[j];
    if (a == Activation::kTanh) {
#pragma omp simd
      for (Eigen::Index i = 0; i < rows; ++i) x[i] = tanh_kernel(x[i] + bj);
    } else {
#pragma omp simd
      for (Eigen::Index i = 0; i < rows; ++i) {
        const double v = x[i] + bj;
        x[i] = v < 0.0 ? 0.0 : v;  // NaN stays NaN
      }
    }
  }
}

// G <- G * sigma'(pre-activation), from the activations X = sigma(pre-activation).
template <class G, class X>
void multiply_by_derivative(Activation a, const X& x, G&& g) {
  if (a == Activation::kTanh)
    g.array() *= 1.0 - x.array().square();
  else
    g = (x.array() > 0.0).select(g, 0.0);
}

// The layers of an MLP in theta: sizes n_0, ..., n_{L+1}; layer l's weight at weight_offsets[l], its bias after it.
struct MlpLayers {
  const double* theta;
  const std::vector<int>& sizes;
  const std::vector<int>& weight_offsets;
  Activation activation;

  int num_layers() const { return static_cast<int>(sizes.size()) - 1; }  // affine maps, output layer included
  Eigen::Map<const Mat> weight(int l) const { return {theta + weight_offsets[l], sizes[l], sizes[l + 1]}; }
  int bias_offset(int l) const { return weight_offsets[l] + sizes[l] * sizes[l + 1]; }
  const double* bias(int l) const { return theta + bias_offset(l); }
};

// X[l].topRows(nb) = the activations of hidden layer l for the rows x0 (nb x n_0).
template <class X0>
void mlp_hidden(const MlpLayers& net, const X0& x0, Mat* X) {
  const Eigen::Index nb = x0.rows();
  for (int l = 0; l + 1 < net.num_layers(); ++l) {
    auto Xl = X[l].topRows(nb);
    if (l == 0)
      affine(x0, net.weight(l), nullptr, Xl);
    else
      affine(X[l - 1].topRows(nb), net.weight(l), nullptr, Xl);
    activate(net.activation, net.bias(l), Xl);
  }
}

// Reverse sweep for the rows x0 (nb x n_0) with hidden activations X (mlp_hidden): *g holds dL/d(output) in its
// top-left nb x n_{L+1}; gbuf[0], gbuf[1] (at least nb x the widest layer) carry the gradient between layers.
// Adds the parameters' gradient to tb (when given) and writes dL/dx0 into x0_bar (nb x n_0).
template <class X0, class X0Bar>
void mlp_reverse(const MlpLayers& net, const X0& x0, const Mat* X, Mat* g, Mat* gbuf, double* tb, X0Bar&& x0_bar) {
  using MapMat = Eigen::Map<Mat>;
  const Eigen::Index nb = x0.rows();
  const auto& n = net.sizes;
  int next = 0;
  for (int l = net.num_layers() - 1; l >= 0; --l) {
    const auto G = g->topLeftCorner(nb, n[l + 1]);
    if (tb) {
      MapMat M_bar(tb + net.weight_offsets[l], n[l], n[l + 1]);
      if (l == 0)
        add_gram(x0, G, M_bar, tb + net.bias_offset(l));
      else
        add_gram(X[l - 1].topRows(nb), G, M_bar, tb + net.bias_offset(l));
    }
    if (l > 0) {
      Mat* g_next = &gbuf[next];
      next ^= 1;
      auto G_in = g_next->topLeftCorner(nb, n[l]);
      affine(G, net.weight(l).transpose(), nullptr, G_in);
      multiply_by_derivative(net.activation, X[l - 1].topRows(nb), G_in);
      g = g_next;
    } else {
      affine(G, net.weight(0).transpose(), nullptr, x0_bar);
    }
  }
}

}  // namespace trk::field_kernels
