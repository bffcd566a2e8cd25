// MLP field, batched: states along rows within blocks of kBlock states, each block through the layer sweeps of
// mlp_kernels.h (X M_l + 1 b_l^T forward, M_l = W_l^T being torch's row-major weight read column-major; the
// reverse sweep from the stored activations).
#include "trk/field/mlp.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "trk/core/rng.h"
#include "trk/field/mlp_kernels.h"

namespace trk {
namespace {

constexpr Eigen::Index kBlock = 128;     // states per block: the block's activations stay in L2

using ConstMapMat = Eigen::Map<const Mat>;
using namespace field_kernels;

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

field_kernels::MlpLayers MlpField::layers() const { return {theta_.data(), sizes_, weight_offsets_, activation_}; }

// Block [c, c + nb) of Z into the workspace (Zt), and the activations of the hidden layers into X[l].
void MlpField::forward_hidden(const ConstMatRef& Z, Eigen::Index c, Eigen::Index nb, Mat* X) const {
  Workspace& ws = workspace;
  load_block(Z, c, nb, ws.Zt.topRows(nb));
  mlp_hidden(layers(), ws.Zt.topRows(nb), X);
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
  double* tb = theta_bar ? theta_bar->data() : nullptr;
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
    auto Zbt = ws.Ft.topRows(nb);
    mlp_reverse(layers(), std::as_const(ws.Zt).topRows(nb), X, &ws.Ut, ws.G, tb, Zbt);
    store_block<true>(Zbt, c, Z_bar);
  }
}

}  // namespace trk
