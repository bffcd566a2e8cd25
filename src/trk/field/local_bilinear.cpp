// Local bilinear field on blocks of site rows (stencil_kernels.h); the affine maps and gradient sums are the
// kernels of batch_kernels.h, vectorised over the rows.
#include "trk/field/local_bilinear.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>
#include <string>

#include "trk/core/rng.h"
#include "trk/field/batch_kernels.h"
#include "trk/field/stencil_kernels.h"

namespace trk {
namespace {

constexpr Eigen::Index kBlockRows = 256;  // site rows per block: the block's intermediates stay in L1/L2

using ConstMapMat = Eigen::Map<const Mat>;
using MapMat = Eigen::Map<Mat>;
using namespace field_kernels;

// Scratch space of the calling thread, blocks of kBlockRows rows (the last block of a batch uses the top rows).
struct Workspace {
  Mat X, Y, G, X_bar, S_bar;
  Vec f, u, s_bar, c_bar;
  void reserve(int s, int m) {
    auto fit = [](Mat& A, Eigen::Index cols) {
      if (A.rows() != kBlockRows || A.cols() != cols) A.resize(kBlockRows, cols);
    };
    fit(X, s), fit(Y, 2 * m + 1), fit(G, 2 * m + 1), fit(X_bar, s);
    f.resize(kBlockRows), u.resize(kBlockRows);
  }
};
thread_local Workspace workspace;

}  // namespace

LocalBilinearField::LocalBilinearField(int dim, int stencil, int num_products, std::uint64_t seed)
    : dim_(dim), stencil_(stencil), num_products_(num_products) {
  if (dim < 1) throw std::invalid_argument("local-bilinear: dim must be at least 1, got " + std::to_string(dim));
  if (stencil < 0 || stencil > (dim - 1) / 2)
    throw std::invalid_argument("local-bilinear: stencil must be between 0 and (dim - 1) / 2 = " +
                                std::to_string((dim - 1) / 2) + " (a stencil of 2k + 1 sites within the " +
                                std::to_string(dim) + " of the grid), got " + std::to_string(stencil));
  if (num_products < 1)
    throw std::invalid_argument("local-bilinear: num-products must be at least 1, got " +
                                std::to_string(num_products));
  const int s = 2 * stencil + 1;
  theta_.resize((s + 1) * (2 * num_products + 1) + num_products);
  init(seed);
}

void LocalBilinearField::init(std::uint64_t seed) {
  const int s = 2 * stencil_ + 1, m = num_products_;
  Rng rng(seed);
  const double bound_maps = 1.0 / std::sqrt(static_cast<double>(s)), bound_out = 1.0 / std::sqrt(double(m));
  const int maps = (s + 1) * (2 * m + 1);
  for (int i = 0; i < maps; ++i) theta_(i) = rng.uniform(-bound_maps, bound_maps);
  for (int i = 0; i < m; ++i) theta_(maps + i) = rng.uniform(-bound_out, bound_out);
  assemble();
}

void LocalBilinearField::set_params(const ConstVecRef& theta) {
  if (theta.size() != theta_.size())
    throw std::invalid_argument("local-bilinear: expected " + std::to_string(theta_.size()) + " parameters, got " +
                                std::to_string(theta.size()));
  theta_ = theta;
  assemble();
}

void LocalBilinearField::assemble() {
  const int s = 2 * stencil_ + 1, m = num_products_;
  const ConstMapMat maps(theta_.data(), s + 1, 2 * m + 1);
  S_ = maps.topRows(s);
  s_ = maps.row(s).transpose();
  c_ = theta_.tail(m);
}

void LocalBilinearField::eval(const ConstMatRef& Z, MatRef F) const {
  assert(Z.rows() == dim_ && F.rows() == dim_ && F.cols() == Z.cols());
  const int s = 2 * stencil_ + 1, m = num_products_;
  Workspace& ws = workspace;
  ws.reserve(s, m);
  const Eigen::Index rows = Z.cols() * dim_;
  for (Eigen::Index r0 = 0; r0 < rows; r0 += kBlockRows) {
    const Eigen::Index nr = std::min(kBlockRows, rows - r0);
    auto X = ws.X.topRows(nr);
    auto Y = ws.Y.topRows(nr);
    double* f = ws.f.data();
    gather_stencils(Z, stencil_, r0, X);
    affine(X, S_, s_.data(), Y);
    std::copy_n(Y.col(0).data(), nr, f);
    for (int p = 0; p < m; ++p) {
      const double* left = Y.col(1 + p).data();
      const double* right = Y.col(1 + m + p).data();
      const double cp = c_(p);
#pragma omp simd
      for (Eigen::Index r = 0; r < nr; ++r) f[r] += cp * (left[r] * right[r]);
    }
    scatter_sites(f, r0, nr, F);
  }
}

void LocalBilinearField::vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Z_bar, Vec* theta_bar) const {
  assert(Z.rows() == dim_ && U.rows() == dim_ && Z_bar.rows() == dim_);
  assert(U.cols() == Z.cols() && Z_bar.cols() == Z.cols());
  assert(!theta_bar || theta_bar->size() == theta_.size());
  const int s = 2 * stencil_ + 1, m = num_products_;
  Workspace& ws = workspace;
  ws.reserve(s, m);
  const bool grad = theta_bar != nullptr;
  if (grad) {
    ws.S_bar.setZero(s, 2 * m + 1);
    ws.s_bar.setZero(2 * m + 1);
    ws.c_bar.setZero(m);
  }
  const Eigen::Index rows = Z.cols() * dim_;
  for (Eigen::Index r0 = 0; r0 < rows; r0 += kBlockRows) {
    const Eigen::Index nr = std::min(kBlockRows, rows - r0);
    auto X = ws.X.topRows(nr);
    auto Y = ws.Y.topRows(nr);
    auto G = ws.G.topRows(nr);
    auto X_bar = ws.X_bar.topRows(nr);
    double* u = ws.u.data();
    gather_stencils(Z, stencil_, r0, X);
    gather_sites(U, r0, nr, u);
    affine(X, S_, s_.data(), Y);
    std::copy_n(u, nr, G.col(0).data());
    for (int p = 0; p < m; ++p) {
      const double* left = Y.col(1 + p).data();
      const double* right = Y.col(1 + m + p).data();
      double* left_bar = G.col(1 + p).data();
      double* right_bar = G.col(1 + m + p).data();
      const double cp = c_(p);
      double c_sum = 0.0;
#pragma omp simd reduction(+ : c_sum)
      for (Eigen::Index r = 0; r < nr; ++r) {
        const double uc = u[r] * cp;
        left_bar[r] = uc * right[r];
        right_bar[r] = uc * left[r];
        c_sum += u[r] * (left[r] * right[r]);
      }
      if (grad) ws.c_bar(p) += c_sum;
    }
    if (grad) add_gram(X, G, ws.S_bar, ws.s_bar.data());
    affine(G, S_.transpose(), nullptr, X_bar);
    scatter_stencils(X_bar, stencil_, r0, Z_bar);
  }
  if (grad) {
    MapMat maps_bar(theta_bar->data(), s + 1, 2 * m + 1);
    maps_bar.topRows(s) += ws.S_bar;
    maps_bar.row(s) += ws.s_bar.transpose();
    theta_bar->tail(m) += ws.c_bar;
  }
}

}  // namespace trk
