// The stage combinations run as fused passes over the batch (one pass per stage instead of one per term), each
// element summed in the same order as term-by-term updates `Y = Z; Y += c_0 K_0; Y += c_1 K_1; ...` with fused
// multiply-adds, which is what Eigen's `Y.noalias() += c * K` compiles to with -march=native (GCC contracts it):
// the results are bit for bit those of that form. std::fma makes the fusing explicit, so that the compiler cannot
// contract differently (e.g. s * first + c * x as fma(s, first, c * x)); without FMA hardware (TRK_NATIVE=OFF)
// both forms are a product and a sum. Terms with a zero coefficient are skipped (0 * inf is not 0).
#include "trk/solve/rk_step.h"

#include <algorithm>
#include <cmath>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace trk {
namespace {

struct Term {
  double c;
  const double* x;
};

// acc + c x, rounded once where the hardware fuses (as the compiler contracts Eigen's expression there).
inline double madd(double c, double x, double acc) {
#ifdef __FMA__
  return std::fma(c, x, acc);
#else
  return acc + c * x;
#endif
}

constexpr Eigen::Index kTile = 64;  // elements per tile: the running sums stay in registers

// One tile of fused_sum below: elements e .. e + n - 1 into dst[0 .. n - 1] (n = kTile in all but batches smaller
// than a tile).
template <bool kScale>
inline void fused_tile(const double* first, double s, const Term* terms, int num_terms, Eigen::Index e,
                       Eigen::Index n, double* dst) {
#if defined(__AVX512F__)
  if (n == kTile) {  // 8 vectors of 8 running sums, in registers
    __m512d acc[8];
    const __m512d vs = _mm512_set1_pd(s);
    for (int k = 0; k < 8; ++k) {
      acc[k] = _mm512_loadu_pd(first + e + 8 * k);
      if constexpr (kScale) acc[k] = _mm512_mul_pd(vs, acc[k]);
    }
    for (int t = 0; t < num_terms; ++t) {
      const __m512d c = _mm512_set1_pd(terms[t].c);
      const double* x = terms[t].x + e;
      for (int k = 0; k < 8; ++k) acc[k] = _mm512_fmadd_pd(c, _mm512_loadu_pd(x + 8 * k), acc[k]);
    }
    for (int k = 0; k < 8; ++k) _mm512_storeu_pd(dst + 8 * k, acc[k]);
    return;
  }
#endif
  double acc[kTile];
  for (Eigen::Index i = 0; i < n; ++i) acc[i] = kScale ? s * first[e + i] : first[e + i];
  for (int t = 0; t < num_terms; ++t) {
    const double c = terms[t].c;
    const double* x = terms[t].x + e;
    for (Eigen::Index i = 0; i < n; ++i) acc[i] = madd(c, x[i], acc[i]);
  }
  for (Eigen::Index i = 0; i < n; ++i) dst[i] = acc[i];
}

// out[e] = s * first[e] (kScale) or first[e], then out[e] += c_t x_t[e] for the terms in order; e < size.
// out may be first: the last, overlapping tile is computed before the others and written after them.
template <bool kScale>
void fused_sum(const double* first, double s, const Term* terms, int num_terms, double* out, Eigen::Index size) {
  if (size < kTile) {
    fused_tile<kScale>(first, s, terms, num_terms, 0, size, out);
    return;
  }
  double last[kTile];
  const Eigen::Index e_last = size - kTile;
  fused_tile<kScale>(first, s, terms, num_terms, e_last, kTile, last);
  for (Eigen::Index e = 0; e < e_last; e += kTile) fused_tile<kScale>(first, s, terms, num_terms, e, kTile, out + e);
  std::copy(last, last + kTile, out + e_last);
}

// The same on matrices of one shape: out = [s *] first + sum_t c_t X_t. Tape matrices are contiguous; a caller's
// strided block (first or out) is done column by column.
template <bool kScale>
void fused_sum(const ConstMatRef& first, double s, std::vector<Term>& terms, const std::vector<const Mat*>& mats,
               MatRef out) {
  const Eigen::Index rows = out.rows(), cols = out.cols();
  if (first.outerStride() == rows && out.outerStride() == rows) {
    for (size_t t = 0; t < terms.size(); ++t) terms[t].x = mats[t]->data();
    fused_sum<kScale>(first.data(), s, terms.data(), static_cast<int>(terms.size()), out.data(), rows * cols);
    return;
  }
  for (Eigen::Index j = 0; j < cols; ++j) {
    for (size_t t = 0; t < terms.size(); ++t) terms[t].x = mats[t]->col(j).data();
    fused_sum<kScale>(first.col(j).data(), s, terms.data(), static_cast<int>(terms.size()), out.col(j).data(), rows);
  }
}

}  // namespace

void StageTape::resize(int num_stages, int dim, Eigen::Index n) {
  Y.resize(num_stages);
  K.resize(num_stages);
  for (int i = 0; i < num_stages; ++i) {
    Y[i].resize(dim, n);
    K[i].resize(dim, n);
  }
}

std::size_t StageTape::bytes() const {
  Eigen::Index n = 0;
  for (const Mat& m : Y) n += m.size();
  for (const Mat& m : K) n += m.size();
  for (const FieldActivations& a : activations)
    for (const Mat& m : a.saved) n += m.size();
  return static_cast<std::size_t>(n) * sizeof(double);
}

void rk_step(CountedField& f, const Mat& A, const Vec& b, double h, const ConstMatRef& Z, MatRef Z_next,
             StageTape& tape, bool k1_known) {
  const int q = static_cast<int>(b.size());
  if (static_cast<int>(tape.K.size()) != q || tape.K[0].rows() != Z.rows() || tape.K[0].cols() != Z.cols()) {
    Mat k1 = k1_known ? tape.K[0] : Mat();
    tape.resize(q, static_cast<int>(Z.rows()), Z.cols());
    if (k1_known) tape.K[0] = k1;
  }
  const bool keep = tape.keep_activations &&
                    f.field().activation_size() * q * Z.cols() <= StageTape::kActivationBudget;
  tape.activations.resize(q);
  std::vector<Term> terms;
  std::vector<const Mat*> mats;
  terms.reserve(q);
  mats.reserve(q);
  for (int i = 0; i < q; ++i) {
    // Y_i = Z + sum_{j<i} (h a_ij) K_j
    terms.clear();
    mats.clear();
    for (int j = 0; j < i; ++j)
      if (A(i, j) != 0.0) terms.push_back({h * A(i, j), nullptr}), mats.push_back(&tape.K[j]);
    fused_sum<false>(Z, 1.0, terms, mats, tape.Y[i]);
    if (i == 0 && k1_known) {
      tape.activations[0].clear();  // K_1 came from elsewhere
      continue;
    }
    if (keep) {
      f.eval_saving(tape.Y[i], tape.K[i], tape.activations[i]);
    } else {
      tape.activations[i].clear();
      f.eval(tape.Y[i], tape.K[i]);
    }
  }
  // Z_next = Z + sum_i (h b_i) K_i
  terms.clear();
  mats.clear();
  for (int i = 0; i < q; ++i)
    if (b(i) != 0.0) terms.push_back({h * b(i), nullptr}), mats.push_back(&tape.K[i]);
  fused_sum<false>(Z, 1.0, terms, mats, Z_next);
}

void rk_step_reverse(CountedField& f, const Mat& A, const Vec& b, double h, const StageTape& tape,
                     const ConstMatRef& Z_next_bar, const StepGradients& out) {
  const int q = static_cast<int>(b.size());
  const Eigen::Index rows = Z_next_bar.rows(), cols = Z_next_bar.cols();
  thread_local std::vector<Mat> Y_bar;
  thread_local Mat K_bar;
  if (static_cast<int>(Y_bar.size()) < q) Y_bar.resize(q);
  K_bar.resize(rows, cols);
  std::vector<Term> terms;
  std::vector<const Mat*> mats;
  terms.reserve(q);
  mats.reserve(q);
  for (int i = q - 1; i >= 0; --i) {
    // K_bar_i = (h b_i) Z_next_bar + sum_{l>i} (h a_li) Y_bar_l
    terms.clear();
    mats.clear();
    for (int l = i + 1; l < q; ++l)
      if (A(l, i) != 0.0) terms.push_back({h * A(l, i), nullptr}), mats.push_back(&Y_bar[l]);
    fused_sum<true>(Z_next_bar, h * b(i), terms, mats, K_bar);
    Y_bar[i].setZero(rows, cols);
    if (i < static_cast<int>(tape.activations.size()) && !tape.activations[i].empty())
      f.vjp_saved(tape.Y[i], tape.activations[i], K_bar, Y_bar[i], out.theta_bar);
    else
      f.vjp(tape.Y[i], K_bar, Y_bar[i], out.theta_bar);
  }
  if (out.Z_bar) {
    // Z_bar = Z_next_bar + sum_i Y_bar_i
    terms.assign(q, {1.0, nullptr});
    mats.clear();
    for (int i = 0; i < q; ++i) mats.push_back(&Y_bar[i]);
    out.Z_bar->resize(rows, cols);
    fused_sum<false>(Z_next_bar, 1.0, terms, mats, *out.Z_bar);
  }
  if (out.b_bar) {
    // b_bar_i += h <Z_next_bar, K_i>. Eigen sums `Z_next_bar.cwiseProduct(K_i).sum()` of a strided Ref one element
    // after the other in column-major order (first product, then fused multiply-adds): one latency-bound chain per
    // stage. The q chains run here side by side, each in that order, so the sums are the same bit for bit.
    std::vector<double> dot(q);
    std::vector<const double*> K(q);
    for (int i = 0; i < q; ++i) K[i] = tape.K[i].data();
    for (Eigen::Index j = 0; j < cols; ++j) {
      const double* z = Z_next_bar.col(j).data();
      for (Eigen::Index r = 0; r < rows; ++r) {
        const Eigen::Index e = j * rows + r;
        if (e == 0)
          for (int i = 0; i < q; ++i) dot[i] = z[r] * K[i][e];
        else
          for (int i = 0; i < q; ++i) dot[i] = madd(z[r], K[i][e], dot[i]);
      }
    }
    for (int i = 0; i < q; ++i) (*out.b_bar)(i) = madd(h, dot[i], (*out.b_bar)(i));
  }
  if (out.A_bar)
    for (int l = 1; l < q; ++l)
      for (int j = 0; j < l; ++j) (*out.A_bar)(l, j) += h * (Y_bar[l].cwiseProduct(tape.K[j])).sum();
  if (out.h_bar) {
    double s = 0.0;
    for (int i = 0; i < q; ++i) s += b(i) * (Z_next_bar.cwiseProduct(tape.K[i])).sum();
    for (int l = 1; l < q; ++l)
      for (int j = 0; j < l; ++j) s += A(l, j) * (Y_bar[l].cwiseProduct(tape.K[j])).sum();
    *out.h_bar += s;
  }
}

}  // namespace trk
