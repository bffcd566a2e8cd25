// Fused one-step MSE for the bilinear field (see the header for what it computes and why it equals rollout_mse).
// Layout within a block of kB states: SoA (x[r][u], state u, component r) for the field, whose per-state maps then
// vectorise over states; AoS (x[u d + r], the caller's layout) for the sums whose reference order runs over the
// elements of a d x n matrix (A_bar, b_bar, the loss). Notation of BilinearField: Y = [a | left | right] = S^T z + s,
// p = left * right, H = T^T [a; p] + t, f = O^T H + o (S, T, O the transposed weights as bilinear.cpp maps them).
#include "trk/train/fused_bilinear_mse.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <immintrin.h>

#include "trk/field/bilinear.h"

namespace trk {

// Where the stepwise path's sums are known to compile as emulated here (see the header): optimised GCC 12 with
// AVX-512 and FMA. Elsewhere rollout_mse keeps the stepwise path.
#if defined(EIGEN_VECTORIZE_AVX512) && defined(__FMA__) && defined(__OPTIMIZE__) && defined(__GNUC__) && \
    !defined(__clang__) && __GNUC__ == 12
#define TRK_FUSED_BILINEAR 1
#endif

#ifdef TRK_FUSED_BILINEAR
namespace {

constexpr int kL = 8;   // lanes of the reference sums: Eigen's packet of doubles with AVX-512
constexpr int kB = 32;  // states per block: four groups of kL (with two, one stage waiting for the last binds)
constexpr int kG = kB / kL;
constexpr int kMaxStages = 16;  // b_bar's chains run side by side in two vectors
using Pack = Eigen::Array<double, kL, 1>;

// acc + x y, rounded once. This file compiles with -ffp-contract=off: every fused multiply-add is written out, and
// a product followed by a sum is rounded twice.
inline double madd(double x, double y, double acc) { return std::fma(x, y, acc); }

// The last elements of a sum, added one by one to s, as GCC 12 compiles the scalar tail loops of the stepwise
// path at -O3 (Eigen's reduction, small_gram): in groups of four the products are computed as one vector, rounded,
// and added in order; the last (count mod 4) are fused multiply-adds. (Checked by fused_bilinear_mse_test over
// every tail length: a compiler that does otherwise fails it.)
template <class X, class Y>
double tail_sum(double s, int count, X x, Y y) {
  int e = 0;
  for (; e + 4 <= count; e += 4) {
    double p[4];
    for (int k = 0; k < 4; ++k) p[k] = x(e + k) * y(e + k);
    for (int k = 0; k < 4; ++k) s = s + p[k];
  }
  for (; e < count; ++e) s = madd(x(e), y(e), s);
  return s;
}

// Sum of x_e y_e over the elements e = 0 .. n-1 of a d x n matrix (n >= 16) in the order of Eigen 3.4's linear
// vectorised reduction with AVX-512 packets of 8, `(X.cwiseProduct(Y)).sum()` (Redux.h): lanes r0 over the packets
// 0, 2, 4, ... and r1 over 1, 3, 5, ... (a product, then fused multiply-adds), r0 + r1, one more packet when
// n mod 16 >= 8 (fused), the packet reduction ((r0 + r4) + (r1 + r5)) + ((r2 + r6) + (r3 + r7)) (predux), then the
// last n mod 8 elements (tail_sum). The loss `(Z_1 - Y_1).squaredNorm()` sums the same way.
// Fed in pieces, each starting at an element multiple of 16.
struct PacketSum {
  alignas(64) double r0[kL], r1[kL];

  void pairs(const double* x, const double* y, long num_pairs, bool first) {
    double a[kL], c[kL];  // local: the lanes vectorise (x, y cannot alias them)
    for (int u = 0; u < kL; ++u) a[u] = r0[u], c[u] = r1[u];
    for (long k = 0; k < num_pairs; ++k, x += 2 * kL, y += 2 * kL) {
      if (first && k == 0) {
        for (int u = 0; u < kL; ++u) a[u] = x[u] * y[u], c[u] = x[kL + u] * y[kL + u];
      } else {
        for (int u = 0; u < kL; ++u) a[u] = madd(x[u], y[u], a[u]), c[u] = madd(x[kL + u], y[kL + u], c[u]);
      }
    }
    for (int u = 0; u < kL; ++u) r0[u] = a[u], r1[u] = c[u];
  }
  // The rest (fewer than 16 elements at x, y) and the sum.
  double finish(const double* x, const double* y, int rest) {
    for (int u = 0; u < kL; ++u) r0[u] = r0[u] + r1[u];
    if (rest >= kL) {
      for (int u = 0; u < kL; ++u) r0[u] = madd(x[u], y[u], r0[u]);
      x += kL, y += kL, rest -= kL;
    }
    double s = ((r0[0] + r0[4]) + (r0[1] + r0[5])) + ((r0[2] + r0[6]) + (r0[3] + r0[7]));
    return tail_sum(s, rest, [&](int e) { return x[e]; }, [&](int e) { return y[e]; });
  }
  // A piece of count elements from element e0 (a multiple of 16) of n; the sum is written when the piece ends at n.
  void piece(const double* x, const double* y, long e0, int count, long n, double* sum) {
    const int num_pairs = count / (2 * kL);
    pairs(x, y, num_pairs, e0 == 0);
    if (e0 + count == n) *sum = finish(x + 2 * kL * num_pairs, y + 2 * kL * num_pairs, count - 2 * kL * num_pairs);
  }
};

template <int D, int M>
struct Weights {
  double S[D][D + 2 * M], s[D + 2 * M];  // S[k][j]: weight of z_k in Y_j
  double T[D + M][D], t[D];              // T[k][j]: weight of [a; p]_k in H_j
  double O[D][D], o[D];                  // O[k][j]: weight of H_k in f_j
  Weights(const Vec& th, const BilinearLayout& l) {
    for (int k = 0; k < D; ++k) {
      for (int j = 0; j < D; ++j) S[k][j] = th(l.lin_weight + k + D * j);
      for (int j = 0; j < M; ++j) {
        S[k][D + j] = th(l.left + k + (D + 1) * j);
        S[k][D + M + j] = th(l.right + k + (D + 1) * j);
      }
    }
    for (int j = 0; j < D; ++j) s[j] = th(l.lin_bias + j);
    for (int j = 0; j < M; ++j) {
      s[D + j] = th(l.left + D + (D + 1) * j);
      s[D + M + j] = th(l.right + D + (D + 1) * j);
    }
    for (int k = 0; k < D + M; ++k)
      for (int j = 0; j < D; ++j) T[k][j] = th(l.trans_weight + k + (D + M) * j);
    for (int k = 0; k < D; ++k)
      for (int j = 0; j < D; ++j) O[k][j] = th(l.out_weight + k + D * j);
    for (int j = 0; j < D; ++j) t[j] = th(l.trans_bias + j), o[j] = th(l.out_bias + j);
  }
};

// One stage of one block: what its reverse pass needs, and its cotangent.
template <int D, int M>
struct StageBlock {
  double Y[D][kB];             // stage input
  double act[D + 2 * M][kB];   // [a | left | right]
  double p[M][kB];             // left * right
  double H[D][kB];
  double K[D][kB], K_aos[D * kB];
  double Y_bar[D][kB], Y_bar_aos[D * kB];
};

// theta_bar's sums of one stage, 8 lanes each: grams of the output layer (H, K_bar), the transfer layer
// ([a; p], H_bar) and the first layer (Y, Y_bar), and the column sums of K_bar, H_bar, Y_bar (the biases).
template <int D, int M>
struct StageSums {
  double out[D][D][kL], out_bias[D][kL];
  double trans[D + M][D][kL], trans_bias[D][kL];
  double first[D][D + 2 * M][kL], first_bias[D + 2 * M][kL];
};
// The same quantities at one of the last n mod 8 states, summed one by one after the lanes.
template <int D, int M>
struct TailState {
  double H[D], K_bar[D], X2[D + M], H_bar[D], Y[D], Y_bar[D + 2 * M];
};

using V = __m512d;  // the lanes of one group of kL states
inline V load(const double* p) { return _mm512_loadu_pd(p); }
inline void store(double* p, V v) { _mm512_storeu_pd(p, v); }
inline V broadcast(double x) { return _mm512_set1_pd(x); }
inline V fmadd(V x, V y, V acc) { return _mm512_fmadd_pd(x, y, acc); }

// Between a block's SoA (x[r][u]) and AoS (x[u D + r]) layouts. For D = 3 with two permutes per vector: element
// w of AoS vector o is component (8 o + w) mod 3 of state (8 o + w) / 3.
struct Permutes {
  alignas(64) long long aos1[3][kL], aos2[3][kL], soa1[3][kL], soa2[3][kL];
  constexpr Permutes() : aos1(), aos2(), soa1(), soa2() {
    for (int o = 0; o < 3; ++o)
      for (int w = 0; w < kL; ++w) {
        const int e = kL * o + w, s = e / 3, r = e % 3;
        aos1[o][w] = r == 0 ? s : kL + s;  // x or y
        aos2[o][w] = r == 2 ? kL + s : w;  // z, or the first step's
      }
    for (int r = 0; r < 3; ++r)
      for (int s = 0; s < kL; ++s) {
        const int e = 3 * s + r, o = e / kL, w = e % kL;
        soa1[r][s] = o == 0 ? w : kL + w;  // a0 or a1
        soa2[r][s] = o == 2 ? kL + w : s;  // a2, or the first step's
      }
  }
};
constexpr Permutes kPermutes;
template <int D>
void to_aos(const double (*soa)[kB], double* aos) {
  if constexpr (D == 3) {
    for (int g = 0; g < kB; g += kL) {
      const V x = load(&soa[0][g]), y = load(&soa[1][g]), z = load(&soa[2][g]);
      for (int o = 0; o < 3; ++o) {
        const V xy = _mm512_permutex2var_pd(x, _mm512_load_si512(kPermutes.aos1[o]), y);
        store(aos + 3 * g + kL * o, _mm512_permutex2var_pd(xy, _mm512_load_si512(kPermutes.aos2[o]), z));
      }
    }
  } else {
    for (int u = 0; u < kB; ++u)
      for (int r = 0; r < D; ++r) aos[u * D + r] = soa[r][u];
  }
}
template <int D>
void to_soa(const double* aos, double (*soa)[kB]) {
  if constexpr (D == 3) {
    for (int g = 0; g < kB; g += kL) {
      const V a0 = load(aos + 3 * g), a1 = load(aos + 3 * g + kL), a2 = load(aos + 3 * g + 2 * kL);
      for (int r = 0; r < 3; ++r) {
        const V lo = _mm512_permutex2var_pd(a0, _mm512_load_si512(kPermutes.soa1[r]), a1);
        store(&soa[r][g], _mm512_permutex2var_pd(lo, _mm512_load_si512(kPermutes.soa2[r]), a2));
      }
    }
  } else {
    for (int u = 0; u < kB; ++u)
      for (int r = 0; r < D; ++r) soa[r][u] = aos[u * D + r];
  }
}

inline double lane_sum(const double* acc) {
  const Pack v = Pack::Map(acc);
  return v.sum();  // as small_gram's Pack::sum()
}

struct Term {  // c K_index (or c Y_bar_index) in a stage combination
  int index;
  double c;
};

// Per thread, kept from call to call (no allocation per chunk once grown).
template <int D, int M>
struct Scratch {
  std::vector<std::vector<Term>> y_terms, k_bar_terms;
  std::vector<Term> z_terms;
  std::vector<StageBlock<D, M>> stages;
  std::vector<StageSums<D, M>> sums;
  std::vector<std::vector<TailState<D, M>>> tails;
  std::vector<PacketSum> a_dots;
  std::vector<double> a_sums;
  alignas(64) double K_by_element[D * kB][kMaxStages];  // K_i at the block's element e, stage after stage (b_bar)
  alignas(64) double b_dots[kMaxStages];
};

template <int D, int M>
void run(const BilinearField& field, const Mat& A, const Vec& b, double h, const ConstMatRef& Z0, const Mat& target,
         const RolloutGradients& grads, RolloutLoss& out) {
  constexpr int P = D + 2 * M;
  const int q = static_cast<int>(b.size());
  const long n = Z0.cols(), n8 = n - n % kL, size = D * n;
  const BilinearLayout& lay = field.layout();
  const Weights<D, M> w(field.params(), lay);
  const bool want = grads.A_bar || grads.b_bar || grads.theta_bar;
  const bool want_theta = grads.theta_bar != nullptr;

  thread_local Scratch<D, M> sc;
  // Coefficients of the stage combinations, zero terms skipped (as rk_step and rk_step_reverse).
  auto& y_terms = sc.y_terms;
  auto& k_bar_terms = sc.k_bar_terms;
  auto& z_terms = sc.z_terms;
  y_terms.resize(q), k_bar_terms.resize(q), z_terms.clear();
  for (int i = 0; i < q; ++i) y_terms[i].clear(), k_bar_terms[i].clear();
  for (int i = 0; i < q; ++i) {
    for (int j = 0; j < i; ++j)
      if (A(i, j) != 0.0) y_terms[i].push_back({j, h * A(i, j)});
    for (int l = i + 1; l < q; ++l)
      if (A(l, i) != 0.0) k_bar_terms[i].push_back({l, h * A(l, i)});
    if (b(i) != 0.0) z_terms.push_back({i, h * b(i)});
  }
  const double scale = 1.0 / static_cast<double>(size), cotangent_scale = 2 * scale;

  sc.stages.resize(q);
  sc.sums.assign(q, StageSums<D, M>{});
  sc.tails.resize(q);
  for (auto& t : sc.tails) t.clear();
  const int num_a = q * (q - 1) / 2;
  sc.a_dots.resize(num_a);
  sc.a_sums.assign(num_a, 0.0);
  std::fill(std::begin(sc.b_dots), std::end(sc.b_dots), 0.0);
  for (auto& row : sc.K_by_element) std::fill(std::begin(row), std::end(row), 0.0);
  PacketSum loss_sum;
  double squared_norm = 0.0;

  for (long c0 = 0; c0 < n; c0 += kB) {
    const int nb = static_cast<int>(std::min<long>(kB, n - c0)), count = D * nb;
    const long e0 = D * c0;
    alignas(64) double Z[D][kB], Z_aos[D * kB];
    if (nb == kB && Z0.outerStride() == D) {
      std::copy(Z0.data() + D * c0, Z0.data() + D * (c0 + kB), Z_aos);
    } else {
      for (int u = 0; u < kB; ++u)
        for (int r = 0; r < D; ++r) Z_aos[u * D + r] = u < nb ? Z0(r, c0 + u) : 0.0;
    }
    to_soa<D>(Z_aos, Z);

    // Forward: the stages.
    for (int i = 0; i < q; ++i) {
      StageBlock<D, M>& st = sc.stages[i];
      {  // the D x kG running sums side by side (each element's terms in order)
        V y[D][kG];
        for (int r = 0; r < D; ++r)
          for (int g = 0; g < kG; ++g) y[r][g] = load(&Z[r][kL * g]);
        for (const Term& t : y_terms[i]) {
          const V c = broadcast(t.c);
          const StageBlock<D, M>& sj = sc.stages[t.index];
          for (int r = 0; r < D; ++r)
            for (int g = 0; g < kG; ++g) y[r][g] = fmadd(c, load(&sj.K[r][kL * g]), y[r][g]);
        }
        for (int r = 0; r < D; ++r)
          for (int g = 0; g < kG; ++g) store(&st.Y[r][kL * g], y[r][g]);
      }
      for (int g = 0; g < kB; g += kL) {
        V y[D], act[P], p[M], H[D];
        for (int k = 0; k < D; ++k) y[k] = load(&st.Y[k][g]);
        for (int j = 0; j < P; ++j) {
          V acc = broadcast(w.s[j]);
          for (int k = 0; k < D; ++k) acc = fmadd(y[k], broadcast(w.S[k][j]), acc);
          act[j] = acc;
          store(&st.act[j][g], acc);
        }
        for (int j = 0; j < M; ++j) store(&st.p[j][g], p[j] = _mm512_mul_pd(act[D + j], act[D + M + j]));
        for (int j = 0; j < D; ++j) {
          V acc = broadcast(w.t[j]);
          for (int k = 0; k < D; ++k) acc = fmadd(act[k], broadcast(w.T[k][j]), acc);
          for (int k = 0; k < M; ++k) acc = fmadd(p[k], broadcast(w.T[D + k][j]), acc);
          store(&st.H[j][g], H[j] = acc);
        }
        for (int j = 0; j < D; ++j) {
          V acc = broadcast(w.o[j]);
          for (int k = 0; k < D; ++k) acc = fmadd(H[k], broadcast(w.O[k][j]), acc);
          store(&st.K[j][g], acc);
        }
      }
      to_aos<D>(st.K, st.K_aos);
      if (grads.b_bar)
        for (int e = 0; e < D * kB; ++e) sc.K_by_element[e][i] = st.K_aos[e];
    }

    // Z_1, the loss and its cotangent dL/dZ_1 (the block's elements; the padding is zero).
    alignas(64) double diff[D * kB], Z_bar_aos[D * kB], Z_bar[D][kB];
    const double* Y1 = target.data() + e0;
    V z_next[D * kG];
    for (int v = 0; v < D * kG; ++v) z_next[v] = load(Z_aos + kL * v);
    for (const Term& t : z_terms)
      for (int v = 0; v < D * kG; ++v) z_next[v] = fmadd(broadcast(t.c), load(sc.stages[t.index].K_aos + kL * v), z_next[v]);
    for (int e = 0; e < D * kB; e += kL) {
      const V z = z_next[e / kL];
      V y;
      if (e + kL <= count) {
        y = _mm512_loadu_pd(Y1 + e);
      } else {
        alignas(64) double part[kL] = {};
        for (int u = 0; e + u < count; ++u) part[u] = Y1[e + u];
        y = load(part);
      }
      V dv = _mm512_sub_pd(z, y);
      if (e + kL > count) dv = _mm512_maskz_mov_pd(static_cast<__mmask8>((1u << std::max(0, count - e)) - 1), dv);
      store(diff + e, dv);
      store(Z_bar_aos + e, _mm512_mul_pd(broadcast(cotangent_scale), dv));
    }
    loss_sum.piece(diff, diff, e0, count, size, &squared_norm);
    if (!want) continue;
    to_soa<D>(Z_bar_aos, Z_bar);
    if (grads.b_bar) {  // b_dot_i = sum_e Z_bar_e K_i,e, one chain per stage in element order (rk_step_reverse)
      V dot[2] = {load(sc.b_dots), load(sc.b_dots + kL)};
      for (int e = 0; e < count; ++e) {
        const V z = broadcast(Z_bar_aos[e]);
        for (int h2 = 0; h2 < 2; ++h2) {
          const V k = load(sc.K_by_element[e] + kL * h2);
          dot[h2] = e0 + e == 0 ? _mm512_mul_pd(z, k) : fmadd(z, k, dot[h2]);
        }
      }
      store(sc.b_dots, dot[0]), store(sc.b_dots + kL, dot[1]);
    }

    // Reverse: the stages, last first; both groups of the block side by side (theta_bar's lane sums are read and
    // written once per block).
    for (int i = q - 1; i >= 0; --i) {
      StageBlock<D, M>& st = sc.stages[i];
      StageSums<D, M>& sum = sc.sums[i];
      const V cb = broadcast(h * b(i));
      V K_bar[D][kG], H_bar[D][kG], Y_bar[P][kG];
      for (int r = 0; r < D; ++r)
        for (int g = 0; g < kG; ++g) K_bar[r][g] = _mm512_mul_pd(cb, load(&Z_bar[r][kL * g]));
      for (const Term& t : k_bar_terms[i]) {
        const V c = broadcast(t.c);
        const StageBlock<D, M>& sl = sc.stages[t.index];
        for (int r = 0; r < D; ++r)
          for (int g = 0; g < kG; ++g) K_bar[r][g] = fmadd(c, load(&sl.Y_bar[r][kL * g]), K_bar[r][g]);
      }
      for (int j = 0; j < D; ++j)
        for (int g = 0; g < kG; ++g) {
          V acc = _mm512_setzero_pd();
          for (int k = 0; k < D; ++k) acc = fmadd(K_bar[k][g], broadcast(w.O[j][k]), acc);
          H_bar[j][g] = acc;
        }
      for (int j = 0; j < D + M; ++j)
        for (int g = 0; g < kG; ++g) {
          V acc = _mm512_setzero_pd();
          for (int k = 0; k < D; ++k) acc = fmadd(H_bar[k][g], broadcast(w.T[j][k]), acc);
          Y_bar[j][g] = acc;
        }
      for (int j = 0; j < M; ++j)
        for (int g = 0; g < kG; ++g) {
          Y_bar[D + M + j][g] = _mm512_mul_pd(Y_bar[D + j][g], load(&st.act[D + j][kL * g]));
          Y_bar[D + j][g] = _mm512_mul_pd(Y_bar[D + j][g], load(&st.act[D + M + j][kL * g]));
        }
      for (int j = 0; j < D; ++j)
        for (int g = 0; g < kG; ++g) {
          V acc = _mm512_setzero_pd();
          for (int k = 0; k < P; ++k) acc = fmadd(Y_bar[k][g], broadcast(w.S[j][k]), acc);
          // rk_step_reverse adds the vjp to a zeroed Y_bar_i
          store(&st.Y_bar[j][kL * g], _mm512_add_pd(_mm512_setzero_pd(), acc));
        }
      to_aos<D>(st.Y_bar, st.Y_bar_aos);
      if (!want_theta) continue;
      // theta_bar's sums: groups below n8 into the lanes, the states n8 .. n-1 kept for the tail.
      int full = 0;
      while (full < kG && c0 + kL * (full + 1) <= n8) ++full;
      if (full > 0) {
        // The layers' inputs of the full groups, in locals (the lane sums cannot alias them).
        V H[D][kG], X2[D + M][kG], Y[D][kG];
        for (int g = 0; g < full; ++g) {
          for (int r = 0; r < D; ++r) {
            H[r][g] = load(&st.H[r][kL * g]), X2[r][g] = load(&st.act[r][kL * g]), Y[r][g] = load(&st.Y[r][kL * g]);
          }
          for (int j = 0; j < M; ++j) X2[D + j][g] = load(&st.p[j][kL * g]);
        }
        auto lanes = [full](double* acc, const V* x, const V* y) {
          V a = load(acc);
          for (int g = 0; g < full; ++g) a = fmadd(x[g], y[g], a);
          store(acc, a);
        };
        auto lane_sums = [full](double* acc, const V* y) {
          V a = load(acc);
          for (int g = 0; g < full; ++g) a = _mm512_add_pd(a, y[g]);
          store(acc, a);
        };
        for (int bc = 0; bc < D; ++bc) {
          for (int a = 0; a < D; ++a) lanes(sum.out[a][bc], H[a], K_bar[bc]);
          lane_sums(sum.out_bias[bc], K_bar[bc]);
          for (int a = 0; a < D + M; ++a) lanes(sum.trans[a][bc], X2[a], H_bar[bc]);
          lane_sums(sum.trans_bias[bc], H_bar[bc]);
        }
        for (int bc = 0; bc < P; ++bc) {
          for (int a = 0; a < D; ++a) lanes(sum.first[a][bc], Y[a], Y_bar[bc]);
          lane_sums(sum.first_bias[bc], Y_bar[bc]);
        }
      }
      for (int g = full; g < kG && c0 + kL * g < n; ++g) {
        alignas(64) double kb[D][kL], hb[D][kL], yb[P][kL];
        for (int r = 0; r < D; ++r) store(kb[r], K_bar[r][g]), store(hb[r], H_bar[r][g]);
        for (int j = 0; j < P; ++j) store(yb[j], Y_bar[j][g]);
        for (int l = 0; l < kL && c0 + kL * g + l < n; ++l) {
          const int u = kL * g + l;
          TailState<D, M> ts;
          for (int r = 0; r < D; ++r) {
            ts.H[r] = st.H[r][u], ts.K_bar[r] = kb[r][l], ts.H_bar[r] = hb[r][l], ts.Y[r] = st.Y[r][u];
            ts.X2[r] = st.act[r][u];
          }
          for (int j = 0; j < M; ++j) ts.X2[D + j] = st.p[j][u];
          for (int j = 0; j < P; ++j) ts.Y_bar[j] = yb[j][l];
          sc.tails[i].push_back(ts);
        }
      }
    }
    if (grads.A_bar) {  // a_dot_lj = <Y_bar_l, K_j> in PacketSum's order: whole blocks here, the last in piece()
      int k = 0;
      for (int l = 1; l < q; ++l)
        for (int j = 0; j < l; ++j, ++k) {
          PacketSum& ps = sc.a_dots[k];
          const double *x = sc.stages[l].Y_bar_aos, *y = sc.stages[j].K_aos;
          if (count == D * kB && e0 + count < size) {
            V r0 = load(ps.r0), r1 = load(ps.r1);
            for (int e = 0; e < D * kB; e += 2 * kL) {
              if (e0 + e == 0) {
                r0 = _mm512_mul_pd(load(x), load(y)), r1 = _mm512_mul_pd(load(x + kL), load(y + kL));
              } else {
                r0 = fmadd(load(x + e), load(y + e), r0), r1 = fmadd(load(x + e + kL), load(y + e + kL), r1);
              }
            }
            store(ps.r0, r0), store(ps.r1, r1);
          } else {
            ps.piece(x, y, e0, count, size, &sc.a_sums[k]);
          }
        }
    }
  }

  out.num_function_evaluations = q;
  out.num_vjp_evaluations = want ? q : 0;
  double loss = 0.0;
  loss += squared_norm;
  out.loss = loss * scale;
  const bool finite = std::isfinite(out.loss);
  if (!finite) out.loss = std::numeric_limits<double>::infinity();
  if (grads.A_bar) grads.A_bar->setZero(q, q);
  if (grads.b_bar) grads.b_bar->setZero(q);
  if (grads.theta_bar) grads.theta_bar->setZero(lay.size);
  if (!want || !finite) return;

  if (want_theta) {
    double* tb = grads.theta_bar->data();
    // One stage's gram entry: the lanes, then the tail states in order (small_gram).
    auto entry = [](const double* lanes, const auto& tail, auto x, auto y) {
      return tail_sum(lane_sum(lanes), static_cast<int>(tail.size()), [&](int e) { return x(tail[e]); },
                      [&](int e) { return y(tail[e]); });
    };
    auto bias = [](const double* lanes, const auto& tail, auto y) {
      double s = lane_sum(lanes);
      for (const auto& ts : tail) s += y(ts);
      return s;
    };
    for (int i = q - 1; i >= 0; --i) {
      const StageSums<D, M>& sum = sc.sums[i];
      const auto& tail = sc.tails[i];
      using TS = TailState<D, M>;
      for (int bc = 0; bc < D; ++bc) {
        for (int a = 0; a < D; ++a)
          tb[lay.out_weight + a + D * bc] +=
              entry(sum.out[a][bc], tail, [&](const TS& t) { return t.H[a]; }, [&](const TS& t) { return t.K_bar[bc]; });
        tb[lay.out_bias + bc] += bias(sum.out_bias[bc], tail, [&](const TS& t) { return t.K_bar[bc]; });
      }
      for (int bc = 0; bc < D; ++bc) {
        for (int a = 0; a < D + M; ++a)
          tb[lay.trans_weight + a + (D + M) * bc] += entry(
              sum.trans[a][bc], tail, [&](const TS& t) { return t.X2[a]; }, [&](const TS& t) { return t.H_bar[bc]; });
        tb[lay.trans_bias + bc] += bias(sum.trans_bias[bc], tail, [&](const TS& t) { return t.H_bar[bc]; });
      }
      // The first layer's gram goes through a zeroed (S_bar, s_bar) into theta's blocks (BilinearField::vjp).
      double S_bar[D][P], s_bar[P];
      for (int bc = 0; bc < P; ++bc) {
        for (int a = 0; a < D; ++a)
          S_bar[a][bc] = 0.0 + entry(sum.first[a][bc], tail, [&](const TS& t) { return t.Y[a]; },
                                     [&](const TS& t) { return t.Y_bar[bc]; });
        s_bar[bc] = 0.0 + bias(sum.first_bias[bc], tail, [&](const TS& t) { return t.Y_bar[bc]; });
      }
      for (int a = 0; a < D; ++a)
        for (int bc = 0; bc < D; ++bc) tb[lay.lin_weight + a + D * bc] += S_bar[a][bc];
      for (int bc = 0; bc < D; ++bc) tb[lay.lin_bias + bc] += s_bar[bc];
      for (int k = 0; k < M; ++k) {
        for (int a = 0; a < D; ++a) {
          tb[lay.left + a + (D + 1) * k] += S_bar[a][D + k];
          tb[lay.right + a + (D + 1) * k] += S_bar[a][D + M + k];
        }
        tb[lay.left + D + (D + 1) * k] += s_bar[D + k];
        tb[lay.right + D + (D + 1) * k] += s_bar[D + M + k];
      }
    }
  }
  if (grads.b_bar)
    for (int i = 0; i < q; ++i) (*grads.b_bar)(i) = madd(h, sc.b_dots[i], (*grads.b_bar)(i));
  if (grads.A_bar) {
    int k = 0;
    for (int l = 1; l < q; ++l)
      for (int j = 0; j < l; ++j, ++k) (*grads.A_bar)(l, j) += h * sc.a_sums[k];
  }
}

}  // namespace
#endif  // TRK_FUSED_BILINEAR

bool fused_bilinear_mse_available() {
#ifdef TRK_FUSED_BILINEAR
  return true;
#else
  return false;
#endif
}

bool fused_bilinear_mse(const VectorField& f, const Mat& A, const Vec& b, double h, const ConstMatRef& Z0,
                        const Mat& target, const RolloutGradients& grads, RolloutLoss& out) {
#ifdef TRK_FUSED_BILINEAR
  const auto* field = dynamic_cast<const BilinearField*>(&f);
  if (!field || field->dim() != 3 || field->num_products() != 3 || grads.Z0_bar) return false;
  if (b.size() > kMaxStages || Z0.cols() < 16 || Z0.cols() > 256 || Z0.rows() != 3 || target.rows() != 3 ||
      target.cols() != Z0.cols())
    return false;
  run<3, 3>(*field, A, b, h, Z0, target, grads, out);
  return true;
#else
  return false;
#endif
}

}  // namespace trk
