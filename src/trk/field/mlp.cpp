// MLP field, batched: states along rows within blocks of kBlock states. With X the block's inputs of layer l
// (nb x n_l), its pre-activation is X M_l + 1 b_l^T with M_l = W_l^T (n_l x n_{l+1}), which is the memory of
// torch's row-major weight read column-major: Map<const Mat>(theta + weight_offset(l), n_l, n_{l+1}).
// Reverse mode, G = dL/d(pre-activation of layer l): M_l_bar += X^T G, b_l_bar += column sums of G,
// dL/dX = G M_l^T, and G of layer l - 1 = dL/dX * sigma'(X) with sigma' from the stored activations
// (tanh: 1 - x^2; relu: x > 0).
#include "trk/field/mlp.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "trk/core/rng.h"
#include "trk/field/batch_kernels.h"

namespace trk {
namespace {

constexpr Eigen::Index kBlock = 128;     // states per block: the block's activations stay in L2

using MapMat = Eigen::Map<Mat>;
using ConstMapMat = Eigen::Map<const Mat>;
using MapVec = Eigen::Map<Vec>;
using ConstMapVec = Eigen::Map<const Vec>;
using namespace field_kernels;

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

// H <- sigma(H + 1 b^T), column by column (a column holds one unit for the states of the block).
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


// Scratch space of the calling thread, blocks of kBlock rows (the last block of a batch uses the top rows):
// the activations of every hidden layer, two buffers for the reverse sweep, and the block's Z, U, F, Z_bar.
struct Workspace {
  std::vector<Mat> X;
  Mat G[2], Zt, Ut, Ft;
  void reserve(const std::vector<int>& sizes) {
    auto fit = [](Mat& A, Eigen::Index cols) {
      if (A.rows() != kBlock || A.cols() != cols) A.resize(kBlock, cols);
    };
    const int num_hidden = static_cast<int>(sizes.size()) - 2;
    X.resize(num_hidden);
    for (int l = 0; l < num_hidden; ++l) fit(X[l], sizes[l + 1]);
    const int widest = *std::max_element(sizes.begin(), sizes.end());
    fit(G[0], widest), fit(G[1], widest);
    fit(Zt, sizes.front()), fit(Ut, sizes.front()), fit(Ft, sizes.front());
  }
};
thread_local Workspace workspace;

}  // namespace

std::string to_string(Activation a) {
  switch (a) {
    case Activation::kTanh: return "tanh";
    case Activation::kRelu: return "relu";
  }
  return "unknown";
}

std::optional<Activation> parse_activation(std::string_view s) {
  for (auto a : {Activation::kTanh, Activation::kRelu})
    if (to_string(a) == s) return a;
  return std::nullopt;
}

void tanh_inplace(MatRef X) {
  for (Eigen::Index j = 0; j < X.cols(); ++j) {
    double* x = X.col(j).data();
#pragma omp simd
    for (Eigen::Index i = 0; i < X.rows(); ++i) x[i] = tanh_kernel(x[i]);
  }
}

MlpField::MlpField(int dim, std::vector<int> widths, Activation activation, std::uint64_t seed)
    : dim_(dim), widths_(std::move(widths)), activation_(activation) {
  if (dim < 1) throw std::invalid_argument("mlp: dim must be at least 1, got " + std::to_string(dim));
  if (widths_.empty()) throw std::invalid_argument("mlp: widths must list at least one hidden layer");
  for (size_t i = 0; i < widths_.size(); ++i)
    if (widths_[i] < 1)
      throw std::invalid_argument("mlp: widths[" + std::to_string(i) + "] must be at least 1, got " +
                                  std::to_string(widths_[i]));
  sizes_.push_back(dim);
  sizes_.insert(sizes_.end(), widths_.begin(), widths_.end());
  sizes_.push_back(dim);
  int offset = 0;
  for (int l = 0; l < num_layers(); ++l) {
    weight_offsets_.push_back(offset);
    offset += (sizes_[l] + 1) * sizes_[l + 1];
  }
  theta_.resize(offset);
  init(seed);
}

void MlpField::init(std::uint64_t seed) {
  Rng rng(seed);
  for (int l = 0; l < num_layers(); ++l) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(sizes_[l]));
    const int count = (sizes_[l] + 1) * sizes_[l + 1];  // weight, then bias: contiguous
    for (int i = 0; i < count; ++i) theta_(weight_offsets_[l] + i) = rng.uniform(-bound, bound);
  }
}

void MlpField::set_params(const ConstVecRef& theta) {
  if (theta.size() != theta_.size())
    throw std::invalid_argument("mlp: expected " + std::to_string(theta_.size()) + " parameters, got " +
                                std::to_string(theta.size()));
  theta_ = theta;
}

// Block [c, c + nb) of Z into the workspace (Zt), and the activations of the hidden layers into X[l].
void MlpField::forward_hidden(const ConstMatRef& Z, Eigen::Index c, Eigen::Index nb, Mat* X) const {
  Workspace& ws = workspace;
  load_block(Z, c, nb, ws.Zt.topRows(nb));
  for (int l = 0; l + 1 < num_layers(); ++l) {
    const ConstMapMat M(theta_.data() + weight_offset(l), sizes_[l], sizes_[l + 1]);
    auto Xl = X[l].topRows(nb);
    if (l == 0)
      affine(ws.Zt.topRows(nb), M, nullptr, Xl);
    else
      affine(X[l - 1].topRows(nb), M, nullptr, Xl);
    activate(activation_, theta_.data() + bias_offset(l), Xl);
  }
}

Eigen::Index MlpField::activation_size() const {
  Eigen::Index s = 0;
  for (int w : widths_) s += w;
  return s;
}

// act (when given): for block k (states [k kBlock, (k + 1) kBlock)), act->saved[k L + l] holds X[l], kBlock rows,
// exactly the workspace's layout, so that the reverse pass runs the same kernels on the same shapes.
void MlpField::eval_impl(const ConstMatRef& Z, MatRef F, FieldActivations* act) const {
  assert(Z.rows() == dim_ && F.rows() == dim_ && F.cols() == Z.cols());
  const int L = num_layers() - 1;  // hidden layers
  const double* th = theta_.data();
  auto M = [&](int l) { return ConstMapMat(th + weight_offset(l), sizes_[l], sizes_[l + 1]); };
  Workspace& ws = workspace;
  ws.reserve(sizes_);
  if (act) {
    const Eigen::Index num_blocks = (Z.cols() + kBlock - 1) / kBlock;
    act->resize(num_blocks * L);
    for (Eigen::Index k = 0; k < num_blocks; ++k)
      for (int l = 0; l < L; ++l) act->at(k * L + l, kBlock, sizes_[l + 1]);
    act->num_states = Z.cols();
  }
  for (Eigen::Index c = 0; c < Z.cols(); c += kBlock) {
    const Eigen::Index nb = std::min(kBlock, Z.cols() - c);
    auto Ft = ws.Ft.topRows(nb);
    Mat* X = act ? &act->saved[(c / kBlock) * L] : ws.X.data();
    forward_hidden(Z, c, nb, X);
    affine(X[L - 1].topRows(nb), M(L), th + bias_offset(L), Ft);
    store_block<false>(Ft, c, F);
  }
}

void MlpField::eval(const ConstMatRef& Z, MatRef F) const { eval_impl(Z, F, nullptr); }

void MlpField::eval_saving(const ConstMatRef& Z, MatRef F, FieldActivations& act) const { eval_impl(Z, F, &act); }

void MlpField::vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Z_bar, Vec* theta_bar) const {
  vjp_impl(Z, nullptr, U, Z_bar, theta_bar);
}

void MlpField::vjp_saved(const ConstMatRef& Z, const FieldActivations& act, const ConstMatRef& U, MatRef Z_bar,
                         Vec* theta_bar) const {
  const bool usable = !act.empty() && act.num_states == Z.cols() &&
                      static_cast<Eigen::Index>(act.saved.size()) ==
                          ((Z.cols() + kBlock - 1) / kBlock) * (num_layers() - 1);
  vjp_impl(Z, usable ? &act : nullptr, U, Z_bar, theta_bar);
}

void MlpField::vjp_impl(const ConstMatRef& Z, const FieldActivations* act, const ConstMatRef& U, MatRef Z_bar,
                        Vec* theta_bar) const {
  assert(Z.rows() == dim_ && U.rows() == dim_ && Z_bar.rows() == dim_);
  assert(U.cols() == Z.cols() && Z_bar.cols() == Z.cols());
  assert(!theta_bar || theta_bar->size() == theta_.size());
  const int L = num_layers() - 1;
  const double* th = theta_.data();
  double* tb = theta_bar ? theta_bar->data() : nullptr;
  auto M = [&](int l) { return ConstMapMat(th + weight_offset(l), sizes_[l], sizes_[l + 1]); };
  Workspace& ws = workspace;
  ws.reserve(sizes_);
  for (Eigen::Index c = 0; c < Z.cols(); c += kBlock) {
    const Eigen::Index nb = std::min(kBlock, Z.cols() - c);
    const Mat* X;
    if (act) {
      X = &act->saved[(c / kBlock) * L];
      load_block(Z, c, nb, ws.Zt.topRows(nb));
    } else {
      forward_hidden(Z, c, nb, ws.X.data());
      X = ws.X.data();
    }
    load_block(U, c, nb, ws.Ut.topRows(nb));
    // Reverse: G (in *g, n_{l+1} columns) is dL/d(pre-activation of layer l); starts as U for the output layer.
    Mat* g = &ws.Ut;
    int next = 0;
    for (int l = L; l >= 0; --l) {
      const auto G = g->topLeftCorner(nb, sizes_[l + 1]);
      if (tb) {
        const auto Xin = l == 0 ? std::as_const(ws.Zt).topRows(nb) : X[l - 1].topRows(nb);
        add_gram(Xin, G, MapMat(tb + weight_offset(l), sizes_[l], sizes_[l + 1]), tb + bias_offset(l));
      }
      if (l > 0) {
        Mat* g_next = &ws.G[next];
        next ^= 1;
        auto G_in = g_next->topLeftCorner(nb, sizes_[l]);
        affine(G, M(l).transpose(), nullptr, G_in);
        multiply_by_derivative(activation_, X[l - 1].topRows(nb), G_in);
        g = g_next;
      } else {
        auto Zbt = ws.Ft.topRows(nb);
        affine(G, M(0).transpose(), nullptr, Zbt);
        store_block<true>(Zbt, c, Z_bar);
      }
    }
  }
}

}  // namespace trk
