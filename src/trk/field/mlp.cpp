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

namespace trk {
namespace {

constexpr Eigen::Index kBlock = 128;     // states per block: the block's activations stay in L2

using MapMat = Eigen::Map<Mat>;
using ConstMapMat = Eigen::Map<const Mat>;
using MapVec = Eigen::Map<Vec>;
using ConstMapVec = Eigen::Map<const Vec>;

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

// Between the caller's layout (d x n, a state per column) and the block's (nb x d, a state per row). Eigen's
// transpose of a d x nb block with d known only at run time loops d times per column; with d fixed the loops
// below vectorise (about 15x faster for d = 3).
template <int D>
void gather_rows(const double* z, double* x, Eigen::Index ldx, Eigen::Index nb) {
  for (Eigen::Index c = 0; c < nb; ++c)
    for (int i = 0; i < D; ++i) x[i * ldx + c] = z[c * D + i];
}
template <int D, bool kAdd>
void scatter_columns(const double* x, Eigen::Index ldx, double* z, Eigen::Index nb) {
  for (Eigen::Index c = 0; c < nb; ++c)
    for (int i = 0; i < D; ++i) {
      if constexpr (kAdd)
        z[c * D + i] += x[i * ldx + c];
      else
        z[c * D + i] = x[i * ldx + c];
    }
}
// Calls f(std::integral_constant<int, D>) if 1 <= d <= 16 (and returns true).
template <class F, int... Ds>
bool dispatch_dim(Eigen::Index d, F& f, std::integer_sequence<int, Ds...>) {
  return ((d == Ds + 1 ? (f(std::integral_constant<int, Ds + 1>{}), true) : false) || ...);
}
template <class F>
bool with_fixed_dim(Eigen::Index d, F&& f) {
  return dispatch_dim(d, f, std::make_integer_sequence<int, 16>{});
}

// y = x m + 1 b^T (b == nullptr: no bias), states along rows of x and y. For a small inner dimension K (the
// state dimension, the number of products) Eigen's products are slow; the loop below keeps the K coefficients
// of a column of m in registers and vectorises over the states.
template <int K, class X, class M, class Y>
void small_product(const X& x, const M& m, const double* b, Y& y) {
  const double* xk[K];
  for (int k = 0; k < K; ++k) xk[k] = x.col(k).data();
  const Eigen::Index nb = x.rows();
  for (Eigen::Index j = 0; j < m.cols(); ++j) {
    double c[K];
    for (int k = 0; k < K; ++k) c[k] = m(k, j);
    const double bj = b ? b[j] : 0.0;
    double* yj = y.col(j).data();
#pragma omp simd
    for (Eigen::Index i = 0; i < nb; ++i) {
      double acc = bj;
      for (int k = 0; k < K; ++k) acc += xk[k][i] * c[k];
      yj[i] = acc;
    }
  }
}
template <class X, class M, class Y>
void affine(const X& x, const M& m, const double* b, Y&& y) {
  if (with_fixed_dim(m.rows(), [&](auto K) { small_product<K()>(x, m, b, y); })) return;
  y.noalias() = x * m;
  if (b) y.rowwise() += Eigen::Map<const Eigen::RowVectorXd>(b, m.cols());
}

// g += x^T y and (if y_sum) y_sum += column sums of y: sums over the states of the block. With x or y narrow
// (at most 16 columns) one pass over each column of the other accumulates all its dot products at once.
template <int P, class X, class Y, class G>
void small_gram(const X& x, const Y& y, G& g, double* y_sum) {
  using Pack = Eigen::Array<double, 8, 1>;
  const double* xa[P];
  for (int a = 0; a < P; ++a) xa[a] = x.col(a).data();
  const Eigen::Index nb = x.rows(), n8 = nb - nb % 8;
  for (Eigen::Index b = 0; b < y.cols(); ++b) {
    const double* yb = y.col(b).data();
    Pack acc[P], sum = Pack::Zero();
    for (int a = 0; a < P; ++a) acc[a].setZero();
    for (Eigen::Index i = 0; i < n8; i += 8) {
      const Pack v = Pack::Map(yb + i);
      for (int a = 0; a < P; ++a) acc[a] += Pack::Map(xa[a] + i) * v;
      sum += v;
    }
    for (int a = 0; a < P; ++a) {
      double s = acc[a].sum();
      for (Eigen::Index i = n8; i < nb; ++i) s += xa[a][i] * yb[i];
      g(a, b) += s;
    }
    if (y_sum) {
      double s = sum.sum();
      for (Eigen::Index i = n8; i < nb; ++i) s += yb[i];
      y_sum[b] += s;
    }
  }
}
template <class X, class Y, class G>
void add_gram(const X& x, const Y& y, G&& g, double* y_sum = nullptr) {
  if (with_fixed_dim(x.cols(), [&](auto P) { small_gram<P()>(x, y, g, y_sum); })) return;
  auto gt = g.transpose();
  if (!with_fixed_dim(y.cols(), [&](auto P) { small_gram<P()>(y, x, gt, nullptr); }))
    g.noalias() += x.transpose() * y;
  if (y_sum) Eigen::Map<Eigen::RowVectorXd>(y_sum, y.cols()) += y.colwise().sum();
}

// X = Z.middleCols(c, nb)^T.
template <class X>
void load_block(const ConstMatRef& Z, Eigen::Index c, Eigen::Index nb, X&& x) {
  const bool done = Z.outerStride() == Z.rows() && with_fixed_dim(Z.rows(), [&](auto D) {
    gather_rows<D()>(Z.col(c).data(), x.data(), x.outerStride(), nb);
  });
  if (!done) x.noalias() = Z.middleCols(c, nb).transpose();
}
// F.middleCols(c, nb) = X^T, or += X^T.
template <bool kAdd, class X>
void store_block(const X& x, Eigen::Index c, MatRef F) {
  const Eigen::Index nb = x.rows();
  const bool done = F.outerStride() == F.rows() && with_fixed_dim(F.rows(), [&](auto D) {
    scatter_columns<D(), kAdd>(x.data(), x.outerStride(), F.col(c).data(), nb);
  });
  if (done) return;
  if constexpr (kAdd)
    F.middleCols(c, nb) += x.transpose();
  else
    F.middleCols(c, nb) = x.transpose();
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

// Block [c, c + nb) of Z into the workspace (Zt), and the activations of the hidden layers (X[l]).
void MlpField::forward_hidden(const ConstMatRef& Z, Eigen::Index c, Eigen::Index nb) const {
  Workspace& ws = workspace;
  load_block(Z, c, nb, ws.Zt.topRows(nb));
  for (int l = 0; l + 1 < num_layers(); ++l) {
    const ConstMapMat M(theta_.data() + weight_offset(l), sizes_[l], sizes_[l + 1]);
    auto X = ws.X[l].topRows(nb);
    if (l == 0)
      affine(ws.Zt.topRows(nb), M, nullptr, X);
    else
      affine(ws.X[l - 1].topRows(nb), M, nullptr, X);
    activate(activation_, theta_.data() + bias_offset(l), X);
  }
}

void MlpField::eval(const ConstMatRef& Z, MatRef F) const {
  assert(Z.rows() == dim_ && F.rows() == dim_ && F.cols() == Z.cols());
  const int L = num_layers() - 1;  // hidden layers
  const double* th = theta_.data();
  auto M = [&](int l) { return ConstMapMat(th + weight_offset(l), sizes_[l], sizes_[l + 1]); };
  Workspace& ws = workspace;
  ws.reserve(sizes_);
  for (Eigen::Index c = 0; c < Z.cols(); c += kBlock) {
    const Eigen::Index nb = std::min(kBlock, Z.cols() - c);
    auto Ft = ws.Ft.topRows(nb);
    forward_hidden(Z, c, nb);
    affine(ws.X[L - 1].topRows(nb), M(L), th + bias_offset(L), Ft);
    store_block<false>(Ft, c, F);
  }
}

void MlpField::vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Z_bar, Vec* theta_bar) const {
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
    forward_hidden(Z, c, nb);
    load_block(U, c, nb, ws.Ut.topRows(nb));
    // Reverse: G (in *g, n_{l+1} columns) is dL/d(pre-activation of layer l); starts as U for the output layer.
    Mat* g = &ws.Ut;
    int next = 0;
    for (int l = L; l >= 0; --l) {
      const auto G = g->topLeftCorner(nb, sizes_[l + 1]);
      if (tb) {
        const auto X = l == 0 ? ws.Zt.topRows(nb) : ws.X[l - 1].topRows(nb);
        add_gram(X, G, MapMat(tb + weight_offset(l), sizes_[l], sizes_[l + 1]), tb + bias_offset(l));
      }
      if (l > 0) {
        Mat* g_next = &ws.G[next];
        next ^= 1;
        auto G_in = g_next->topLeftCorner(nb, sizes_[l]);
        affine(G, M(l).transpose(), nullptr, G_in);
        multiply_by_derivative(activation_, ws.X[l - 1].topRows(nb), G_in);
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
