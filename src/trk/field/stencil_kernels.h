// Site rows of a local (translation-invariant) field on a periodic 1-D grid of d sites: for a batch Z (d x n, a
// state per column), row r = c d + i holds the stencil of state c about site i,
//   x_r = (z_{i-k}, ..., z_{i+k}) of column c, indices mod d   (s = 2k + 1 values; column j is the offset j - k),
// so that a map g: R^s -> R shared by the sites becomes a map of rows, batched over sites and states alike (the
// rows of a block are contiguous in every column: the kernels of batch_kernels.h vectorise over them). A block is
// rows [r0, r0 + nr) of the n d rows; it may start and end inside a state. Internal to src/trk/field.
#pragma once
#include <algorithm>

#include "trk/core/types.h"

namespace trk::field_kernels {

// Calls run(c, i0, len, row): the sites [i0, i0 + len) of column c are rows [row, row + len) of the block.
template <class Run>
void for_each_state_run(Eigen::Index d, Eigen::Index r0, Eigen::Index nr, Run&& run) {
  for (Eigen::Index r = r0; r < r0 + nr;) {
    const Eigen::Index c = r / d, i0 = r % d, len = std::min(d - i0, r0 + nr - r);
    run(c, i0, len, r - r0);
    r += len;
  }
}

// x.row(r - r0) = x_r for the block's rows (x is nr x (2k + 1)). Requires 2k + 1 <= d.
template <class X>
void gather_stencils(const ConstMatRef& Z, int k, Eigen::Index r0, X&& x) {
  const Eigen::Index d = Z.rows();
  for_each_state_run(d, r0, x.rows(), [&](Eigen::Index c, Eigen::Index i0, Eigen::Index len, Eigen::Index row) {
    const double* z = Z.col(c).data();
    for (int j = 0; j <= 2 * k; ++j) {
      double* out = x.col(j).data() + row;
      const Eigen::Index from = ((i0 + j - k) % d + d) % d, first = std::min(len, d - from);
      std::copy_n(z + from, first, out);
      std::copy_n(z, len - first, out + first);
    }
  });
}

// Z_bar(i + j - k mod d, c) += x_bar(r - r0, j) for the block's rows: the transpose of gather_stencils.
template <class X>
void scatter_stencils(const X& x_bar, int k, Eigen::Index r0, MatRef Z_bar) {
  const Eigen::Index d = Z_bar.rows();
  for_each_state_run(d, r0, x_bar.rows(), [&](Eigen::Index c, Eigen::Index i0, Eigen::Index len, Eigen::Index row) {
    double* z = Z_bar.col(c).data();
    for (int j = 0; j <= 2 * k; ++j) {
      const double* in = x_bar.col(j).data() + row;
      const Eigen::Index from = ((i0 + j - k) % d + d) % d, first = std::min(len, d - from);
      for (Eigen::Index t = 0; t < first; ++t) z[from + t] += in[t];
      for (Eigen::Index t = first; t < len; ++t) z[t - first] += in[t];
    }
  });
}

// y[r - r0] = Z(i, c) for the block's rows (the value at each row's own site).
inline void gather_sites(const ConstMatRef& Z, Eigen::Index r0, Eigen::Index nr, double* y) {
  for_each_state_run(Z.rows(), r0, nr, [&](Eigen::Index c, Eigen::Index i0, Eigen::Index len, Eigen::Index row) {
    std::copy_n(Z.col(c).data() + i0, len, y + row);
  });
}

// F(i, c) = y[r - r0] for the block's rows.
inline void scatter_sites(const double* y, Eigen::Index r0, Eigen::Index nr, MatRef F) {
  for_each_state_run(F.rows(), r0, nr, [&](Eigen::Index c, Eigen::Index i0, Eigen::Index len, Eigen::Index row) {
    std::copy_n(y + row, len, F.col(c).data() + i0);
  });
}

}  // namespace trk::field_kernels
