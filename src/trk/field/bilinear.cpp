// Bilinear network, batched: states along rows within blocks of kBlock states. With X the block's states
// (nb x d), every layer is a product X M + 1 b^T with M the transposed weight, which is the memory of torch's
// row-major weight read column-major: Map<const Mat>(theta + weight_offset, in, out).
// Reverse mode: with G = dL/d(output) of a layer, M_bar += X^T G, b_bar += column sums of G, X_bar = G M^T.
#include "trk/field/bilinear.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "trk/core/rng.h"
#include "trk/field/batch_kernels.h"

namespace trk {
namespace {

constexpr Eigen::Index kBlock = 256;     // states per block: the block's intermediates stay in L1/L2

using MapMat = Eigen::Map<Mat>;
using ConstMapMat = Eigen::Map<const Mat>;
using MapVec = Eigen::Map<Vec>;
using ConstMapVec = Eigen::Map<const Vec>;
using namespace field_kernels;

// Scratch space of the calling thread, blocks of kBlock rows (the last block of a batch uses the top rows).
struct Workspace {
  Mat Zt, Ut, Y, X2, H, Ft, Hbar, Ybar, Zbt, S_bar;
  Vec s_bar;
  void reserve(int d, int m) {
    auto fit = [](Mat& A, Eigen::Index cols) {
      if (A.rows() != kBlock || A.cols() != cols) A.resize(kBlock, cols);
    };
    fit(Zt, d), fit(Ut, d), fit(Y, d + 2 * m), fit(X2, d + m), fit(H, d), fit(Ft, d);
    fit(Hbar, d), fit(Ybar, d + 2 * m), fit(Zbt, d);
  }
};
thread_local Workspace workspace;

}  // namespace

BilinearLayout BilinearLayout::of(int d, int m) {
  BilinearLayout l;
  l.lin_weight = 0;
  l.lin_bias = d * d;
  l.left = l.lin_bias + d;
  l.right = l.left + m * (d + 1);
  l.trans_weight = l.right + m * (d + 1);
  l.trans_bias = l.trans_weight + d * (d + m);
  l.out_weight = l.trans_bias + d;
  l.out_bias = l.out_weight + d * d;
  l.size = l.out_bias + d;
  return l;
}

BilinearField::BilinearField(int dim, int num_products, std::uint64_t seed)
    : dim_(dim), num_products_(num_products) {
  if (dim < 1) throw std::invalid_argument("bilinear: dim must be at least 1, got " + std::to_string(dim));
  if (num_products < 1)
    throw std::invalid_argument("bilinear: num-products must be at least 1, got " + std::to_string(num_products));
  layout_ = BilinearLayout::of(dim, num_products);
  theta_.resize(layout_.size);
  init(seed);
}

void BilinearField::init(std::uint64_t seed) {
  const int d = dim_, m = num_products_;
  Rng rng(seed);
  auto fill = [&](int offset, int count, int fan_in) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    for (int i = 0; i < count; ++i) theta_(offset + i) = rng.uniform(-bound, bound);
  };
  fill(layout_.lin_weight, d * d + d, d);           // weight, then bias: contiguous
  fill(layout_.left, 2 * m * (d + 1), d);           // left_0, ..., left_{m-1}, right_0, ... (weight, bias each)
  fill(layout_.trans_weight, d * (d + m) + d, d + m);
  fill(layout_.out_weight, d * d + d, d);
  assemble();
}

void BilinearField::set_params(const ConstVecRef& theta) {
  if (theta.size() != layout_.size)
    throw std::invalid_argument("bilinear: expected " + std::to_string(layout_.size) + " parameters, got " +
                                std::to_string(theta.size()));
  theta_ = theta;
  assemble();
}

void BilinearField::assemble() {
  const int d = dim_, m = num_products_;
  S_.resize(d, d + 2 * m);
  s_.resize(d + 2 * m);
  S_.leftCols(d) = ConstMapMat(theta_.data() + layout_.lin_weight, d, d);
  s_.head(d) = ConstMapVec(theta_.data() + layout_.lin_bias, d);
  const ConstMapMat left(theta_.data() + layout_.left, d + 1, m), right(theta_.data() + layout_.right, d + 1, m);
  S_.middleCols(d, m) = left.topRows(d);
  S_.rightCols(m) = right.topRows(d);
  s_.segment(d, m) = left.row(d).transpose();
  s_.tail(m) = right.row(d).transpose();
}

void BilinearField::eval(const ConstMatRef& Z, MatRef F) const {
  assert(Z.rows() == dim_ && F.rows() == dim_ && F.cols() == Z.cols());
  const int d = dim_, m = num_products_;
  const double* th = theta_.data();
  const ConstMapMat Tt(th + layout_.trans_weight, d + m, d), Ot(th + layout_.out_weight, d, d);
  const double *bt = th + layout_.trans_bias, *bo = th + layout_.out_bias;
  Workspace& ws = workspace;
  ws.reserve(d, m);
  for (Eigen::Index c = 0; c < Z.cols(); c += kBlock) {
    const Eigen::Index nb = std::min(kBlock, Z.cols() - c);
    auto Zt = ws.Zt.topRows(nb);
    auto Y = ws.Y.topRows(nb);
    auto H = ws.H.topRows(nb);
    auto Ft = ws.Ft.topRows(nb);
    load_block(Z, c, nb, Zt);
    affine(Zt, S_, s_.data(), Y);                          // [a | left | right]
    Y.middleCols(d, m).array() *= Y.rightCols(m).array();  // [a | p | right]
    affine(Y.leftCols(d + m), Tt, bt, H);
    affine(H, Ot, bo, Ft);
    store_block<false>(Ft, c, F);
  }
}

// act->saved[3 k + 0, 1, 2] = Y, X2, H of block k (kBlock rows, the workspace's layout): the reverse pass runs the
// same kernels on the same shapes as when it recomputes them.
void BilinearField::eval_saving(const ConstMatRef& Z, MatRef F, FieldActivations& act) const {
  assert(Z.rows() == dim_ && F.rows() == dim_ && F.cols() == Z.cols());
  const int d = dim_, m = num_products_;
  const double* th = theta_.data();
  const ConstMapMat Tt(th + layout_.trans_weight, d + m, d), Ot(th + layout_.out_weight, d, d);
  const double *bt = th + layout_.trans_bias, *bo = th + layout_.out_bias;
  Workspace& ws = workspace;
  ws.reserve(d, m);
  const Eigen::Index num_blocks = (Z.cols() + kBlock - 1) / kBlock;
  act.resize(3 * num_blocks);
  act.num_states = Z.cols();
  for (Eigen::Index c = 0; c < Z.cols(); c += kBlock) {
    const Eigen::Index nb = std::min(kBlock, Z.cols() - c), k = c / kBlock;
    auto Zt = ws.Zt.topRows(nb);
    auto Y = act.at(3 * k, kBlock, d + 2 * m).topRows(nb);
    auto X2 = act.at(3 * k + 1, kBlock, d + m).topRows(nb);
    auto H = act.at(3 * k + 2, kBlock, d).topRows(nb);
    auto Ft = ws.Ft.topRows(nb);
    load_block(Z, c, nb, Zt);
    affine(Zt, S_, s_.data(), Y);  // [a | left | right]
    X2.leftCols(d) = Y.leftCols(d);
    X2.rightCols(m) = Y.middleCols(d, m).cwiseProduct(Y.rightCols(m));  // [a | p]
    affine(X2, Tt, bt, H);
    affine(H, Ot, bo, Ft);
    store_block<false>(Ft, c, F);
  }
}

void BilinearField::vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Z_bar, Vec* theta_bar) const {
  vjp_impl(Z, nullptr, U, Z_bar, theta_bar);
}

void BilinearField::vjp_saved(const ConstMatRef& Z, const FieldActivations& act, const ConstMatRef& U, MatRef Z_bar,
                              Vec* theta_bar) const {
  const bool usable = !act.empty() && act.num_states == Z.cols() &&
                      static_cast<Eigen::Index>(act.saved.size()) == 3 * ((Z.cols() + kBlock - 1) / kBlock);
  vjp_impl(Z, usable ? &act : nullptr, U, Z_bar, theta_bar);
}

void BilinearField::vjp_impl(const ConstMatRef& Z, const FieldActivations* act, const ConstMatRef& U, MatRef Z_bar,
                             Vec* theta_bar) const {
  assert(Z.rows() == dim_ && U.rows() == dim_ && Z_bar.rows() == dim_);
  assert(U.cols() == Z.cols() && Z_bar.cols() == Z.cols());
  assert(!theta_bar || theta_bar->size() == layout_.size);
  const int d = dim_, m = num_products_;
  const double* th = theta_.data();
  const ConstMapMat Tt(th + layout_.trans_weight, d + m, d), Ot(th + layout_.out_weight, d, d);
  const double* bt = th + layout_.trans_bias;
  Workspace& ws = workspace;
  ws.reserve(d, m);
  double* tb = theta_bar ? theta_bar->data() : nullptr;
  ws.S_bar.setZero(d, d + 2 * m);  // gradient of (S, s), summed over the blocks
  ws.s_bar.setZero(d + 2 * m);
  for (Eigen::Index c = 0; c < Z.cols(); c += kBlock) {
    const Eigen::Index nb = std::min(kBlock, Z.cols() - c), k = c / kBlock;
    auto Zt = ws.Zt.topRows(nb);
    auto Ut = ws.Ut.topRows(nb);
    // Forward: Y = [a | left | right], X2 = [a | p], H (kept by eval_saving, or computed here).
    const Mat& Ym = act ? act->saved[3 * k] : ws.Y;
    const Mat& X2m = act ? act->saved[3 * k + 1] : ws.X2;
    const Mat& Hm = act ? act->saved[3 * k + 2] : ws.H;
    auto Y = Ym.topRows(nb);
    auto X2 = X2m.topRows(nb);
    auto Hbar = ws.Hbar.topRows(nb);
    auto Ybar = ws.Ybar.topRows(nb);
    auto Zbt = ws.Zbt.topRows(nb);
    load_block(Z, c, nb, Zt);
    load_block(U, c, nb, Ut);
    if (!act) {
      auto Yw = ws.Y.topRows(nb);
      auto X2w = ws.X2.topRows(nb);
      affine(Zt, S_, s_.data(), Yw);
      X2w.leftCols(d) = Yw.leftCols(d);
      X2w.rightCols(m) = Yw.middleCols(d, m).cwiseProduct(Yw.rightCols(m));
      if (tb) {
        auto Hw = ws.H.topRows(nb);
        affine(X2w, Tt, bt, Hw);
      }
    }
    if (tb) add_gram(Hm.topRows(nb), Ut, MapMat(tb + layout_.out_weight, d, d), tb + layout_.out_bias);
    // Reverse through out and trans.
    affine(Ut, Ot.transpose(), nullptr, Hbar);
    if (tb) {
      add_gram(X2, Hbar, MapMat(tb + layout_.trans_weight, d + m, d), tb + layout_.trans_bias);
    }
    affine(Hbar, Tt.transpose(), nullptr, Ybar.leftCols(d + m));  // [a_bar | p_bar]
    // Reverse through the products: left_bar = p_bar * right, right_bar = p_bar * left.
    Ybar.rightCols(m) = Ybar.middleCols(d, m).cwiseProduct(Y.middleCols(d, m));
    Ybar.middleCols(d, m).array() *= Y.rightCols(m).array();
    if (tb) add_gram(Zt, Ybar, ws.S_bar, ws.s_bar.data());
    affine(Ybar, S_.transpose(), nullptr, Zbt);
    store_block<true>(Zbt, c, Z_bar);
  }
  if (tb) {
    MapMat(tb + layout_.lin_weight, d, d) += ws.S_bar.leftCols(d);
    MapVec(tb + layout_.lin_bias, d) += ws.s_bar.head(d);
    MapMat left(tb + layout_.left, d + 1, m), right(tb + layout_.right, d + 1, m);
    left.topRows(d) += ws.S_bar.middleCols(d, m);
    left.row(d) += ws.s_bar.segment(d, m).transpose();
    right.topRows(d) += ws.S_bar.rightCols(m);
    right.row(d) += ws.s_bar.tail(m).transpose();
  }
}

void BilinearField::eval_gradients(const ConstMatRef& Z, MatRef F, MatRef Gz, MatRef Gtheta) const {
  assert(Z.rows() == dim_ && F.rows() == dim_ && F.cols() == Z.cols());
  assert(Gz.rows() == dim_ && Gz.cols() == dim_ * Z.cols());
  assert(Gtheta.rows() == layout_.size && Gtheta.cols() == dim_ * Z.cols());
  const int d = dim_, m = num_products_;
  const BilinearLayout& L = layout_;
  const double* th = theta_.data();
  const ConstMapMat Tt(th + L.trans_weight, d + m, d), Ot(th + L.out_weight, d, d);
  const ConstMapVec bt(th + L.trans_bias, d), bo(th + L.out_bias, d);
  const Mat G = (Tt * Ot).transpose();  // W_out W_trans
  Vec y(d + 2 * m), x(d + m), hid(d), v(d + 2 * m);
  for (Eigen::Index s = 0; s < Z.cols(); ++s) {
    const auto z = Z.col(s);
    y.noalias() = S_.transpose() * z;
    y += s_;
    x.head(d) = y.head(d);
    x.tail(m) = y.segment(d, m).cwiseProduct(y.tail(m));
    hid.noalias() = Tt.transpose() * x;
    hid += bt;
    F.col(s).noalias() = Ot.transpose() * hid;
    F.col(s) += bo;
    auto Gt = Gtheta.middleCols(d * s, d);
    Gt.setZero();
    for (int i = 0; i < d; ++i) {
      // v = df_i/dy, y = [a | left | right]
      v.head(d) = G.row(i).head(d).transpose();
      for (int k = 0; k < m; ++k) {
        v(d + k) = G(i, d + k) * y(d + m + k);
        v(d + m + k) = G(i, d + k) * y(d + k);
      }
      Gz.col(d * s + i).noalias() = S_ * v;
      auto g = Gt.col(i);
      for (int j = 0; j < d; ++j) g(L.out_weight + i * d + j) = hid(j);
      g(L.out_bias + i) = 1.0;
      for (int k = 0; k < d; ++k) {
        const double o = Ot(k, i);  // W_out(i, k)
        for (int j = 0; j < d + m; ++j) g(L.trans_weight + k * (d + m) + j) = o * x(j);
        g(L.trans_bias + k) = o;
      }
      for (int j = 0; j < d; ++j) {
        for (int l = 0; l < d; ++l) g(L.lin_weight + j * d + l) = v(j) * z(l);
        g(L.lin_bias + j) = v(j);
      }
      for (int k = 0; k < m; ++k) {
        for (int l = 0; l < d; ++l) {
          g(L.left + k * (d + 1) + l) = v(d + k) * z(l);
          g(L.right + k * (d + 1) + l) = v(d + m + k) * z(l);
        }
        g(L.left + k * (d + 1) + d) = v(d + k);
        g(L.right + k * (d + 1) + d) = v(d + m + k);
      }
    }
  }
}

}  // namespace trk
