// Batch kernels shared by the neural fields (bilinear, mlp): moving states between the caller's layout
// (d x n, a state per column) and a block layout (nb x d, a state per row, as torch lays out a batch), small
// affine maps y = x m + 1 b^T and gradient sums g += x^T y that vectorise over the states when an inner dimension
// is at most 16. Internal to src/trk/field.
#pragma once
#include <utility>

#include "trk/core/types.h"

namespace trk::field_kernels {

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

}  // namespace trk::field_kernels
