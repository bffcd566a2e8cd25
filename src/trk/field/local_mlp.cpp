// Local MLP field on blocks of site rows (stencil_kernels.h) through the MLP layer sweeps of mlp_kernels.h.
#include "trk/field/local_mlp.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "trk/core/rng.h"
#include "trk/field/mlp_kernels.h"
#include "trk/field/stencil_kernels.h"

namespace trk {
namespace {

constexpr Eigen::Index kBlockRows = 128;  // site rows per block: the block's activations stay in L2

using namespace field_kernels;

// Scratch space of the calling thread, blocks of kBlockRows rows (the last block of a batch uses the top rows):
// the stencils, the activations of every hidden layer, two buffers for the reverse sweep, the output and its
// gradient, the stencils' gradient.
struct Workspace {
  std::vector<Mat> X;
  Mat X0, G[2], out, X0_bar;
  void reserve(const std::vector<int>& sizes) {
    auto fit = [](Mat& A, Eigen::Index cols) {
      if (A.rows() != kBlockRows || A.cols() != cols) A.resize(kBlockRows, cols);
    };
    const int num_hidden = static_cast<int>(sizes.size()) - 2;
    X.resize(num_hidden);
    for (int l = 0; l < num_hidden; ++l) fit(X[l], sizes[l + 1]);
    const int widest = *std::max_element(sizes.begin(), sizes.end());
    fit(G[0], widest), fit(G[1], widest);
    fit(X0, sizes.front()), fit(X0_bar, sizes.front()), fit(out, 1);
  }
};
thread_local Workspace workspace;

}  // namespace

LocalMlpField::LocalMlpField(int dim, int stencil, std::vector<int> widths, Activation activation,
                             std::uint64_t seed)
    : dim_(dim), stencil_(stencil), widths_(std::move(widths)), activation_(activation) {
  if (dim < 1) throw std::invalid_argument("local-mlp: dim must be at least 1, got " + std::to_string(dim));
  if (stencil < 0 || stencil > (dim - 1) / 2)
    throw std::invalid_argument("local-mlp: stencil must be between 0 and (dim - 1) / 2 = " +
                                std::to_string((dim - 1) / 2) + " (a stencil of 2k + 1 sites within the " +
                                std::to_string(dim) + " of the grid), got " + std::to_string(stencil));
  if (widths_.empty()) throw std::invalid_argument("local-mlp: widths must list at least one hidden layer");
  for (size_t i = 0; i < widths_.size(); ++i)
    if (widths_[i] < 1)
      throw std::invalid_argument("local-mlp: widths[" + std::to_string(i) + "] must be at least 1, got " +
                                  std::to_string(widths_[i]));
  sizes_.push_back(2 * stencil + 1);
  sizes_.insert(sizes_.end(), widths_.begin(), widths_.end());
  sizes_.push_back(1);
  int offset = 0;
  for (size_t l = 0; l + 1 < sizes_.size(); ++l) {
    weight_offsets_.push_back(offset);
    offset += (sizes_[l] + 1) * sizes_[l + 1];
  }
  theta_.resize(offset);
  init(seed);
}

void LocalMlpField::init(std::uint64_t seed) {
  Rng rng(seed);
  for (size_t l = 0; l + 1 < sizes_.size(); ++l) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(sizes_[l]));
    const int count = (sizes_[l] + 1) * sizes_[l + 1];  // weight, then bias: contiguous
    for (int i = 0; i < count; ++i) theta_(weight_offsets_[l] + i) = rng.uniform(-bound, bound);
  }
}

void LocalMlpField::set_params(const ConstVecRef& theta) {
  if (theta.size() != theta_.size())
    throw std::invalid_argument("local-mlp: expected " + std::to_string(theta_.size()) + " parameters, got " +
                                std::to_string(theta.size()));
  theta_ = theta;
}

void LocalMlpField::eval(const ConstMatRef& Z, MatRef F) const {
  assert(Z.rows() == dim_ && F.rows() == dim_ && F.cols() == Z.cols());
  const MlpLayers net{theta_.data(), sizes_, weight_offsets_, activation_};
  const int L = net.num_layers() - 1;  // hidden layers
  Workspace& ws = workspace;
  ws.reserve(sizes_);
  const Eigen::Index rows = Z.cols() * dim_;
  for (Eigen::Index r0 = 0; r0 < rows; r0 += kBlockRows) {
    const Eigen::Index nr = std::min(kBlockRows, rows - r0);
    auto X0 = ws.X0.topRows(nr);
    auto out = ws.out.topRows(nr);
    gather_stencils(Z, stencil_, r0, X0);
    mlp_hidden(net, X0, ws.X.data());
    affine(ws.X[L - 1].topRows(nr), net.weight(L), net.bias(L), out);
    scatter_sites(out.data(), r0, nr, F);
  }
}

void LocalMlpField::vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Z_bar, Vec* theta_bar) const {
  assert(Z.rows() == dim_ && U.rows() == dim_ && Z_bar.rows() == dim_);
  assert(U.cols() == Z.cols() && Z_bar.cols() == Z.cols());
  assert(!theta_bar || theta_bar->size() == theta_.size());
  const MlpLayers net{theta_.data(), sizes_, weight_offsets_, activation_};
  double* tb = theta_bar ? theta_bar->data() : nullptr;
  Workspace& ws = workspace;
  ws.reserve(sizes_);
  const Eigen::Index rows = Z.cols() * dim_;
  for (Eigen::Index r0 = 0; r0 < rows; r0 += kBlockRows) {
    const Eigen::Index nr = std::min(kBlockRows, rows - r0);
    auto X0 = ws.X0.topRows(nr);
    auto X0_bar = ws.X0_bar.topRows(nr);
    gather_stencils(Z, stencil_, r0, X0);
    mlp_hidden(net, X0, ws.X.data());
    gather_sites(U, r0, nr, ws.out.data());
    mlp_reverse(net, std::as_const(ws.X0).topRows(nr), ws.X.data(), &ws.out, ws.G, tb, X0_bar);
    scatter_stencils(X0_bar, stencil_, r0, Z_bar);
  }
}

}  // namespace trk
