// Butcher's order conditions by rooted trees (Hairer-Norsett-Wanner I, Sec. II.2; Butcher 2016, Sec. 30-31).
//
// Trees, Butcher bracket notation: "t" is the single node; "[t1,...,tm]" joins the roots of t1..tm to a new
// root (e.g. "[t]", "[t,t]", "[[t]]"); equal subtrees are repeated, children are written in list order.
//   |t| = 1 + sum |t_i|,   gamma(t) = |t| prod gamma(t_i),   sigma(t) = prod_{distinct s} sigma(s)^m_s m_s!
// Butcher product u o v: v grafted as one more child onto the root of u, so [t1..tm] = [t1..t(m-1)] o tm.
//
// Elementary weights of (A, b) through stage vectors g(t) in R^q (products elementwise, 1 = ones):
//   g(t) = 1,   g([t1..tm]) = prod_i A g(t_i),   i.e. g(u o v) = g(u) * (A g(v)),   Phi(t) = b^T g(t).
// c is never read: A 1 plays its part. Order condition of t: Phi(t) = 1/gamma(t); residual r = Phi - 1/gamma.
// A scheme has order p iff r(t) = 0 for every tree with |t| <= p.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "trk/core/types.h"
#include "trk/tableau/butcher_tableau.h"

namespace trk {

struct RootedTree {
  int order = 1;              // |t|
  std::vector<int> children;  // indices of the root's subtrees in the same list, non-decreasing
  int left = -1;              // t = trees[left] o trees[right]; both -1 for the single node
  int right = -1;
  std::int64_t gamma = 1;     // density
  std::int64_t sigma = 1;     // symmetry
  std::string label;          // bracket notation
};

// Every rooted tree of order 1..max_order, by order; within an order by right (the last child), then left.
// New trees per order 1..10: 1, 1, 2, 4, 9, 20, 48, 115, 286, 719 (cumulative to order 8: 200).
std::vector<RootedTree> rooted_trees(int max_order);

// Phi(t) for every tree in `trees` (a list from rooted_trees), O(q^2) per tree.
Vec elementary_weights(const Mat& A, const Vec& b, const std::vector<RootedTree>& trees);

// dPhi(t)/db = g(t) and dPhi(t)/dA (q x q, full: entries of A above the subdiagonal are differentiated too).
struct ElementaryWeightGradient {
  double phi = 0;
  Vec phi_b;
  Mat phi_A;
};
std::vector<ElementaryWeightGradient> elementary_weight_gradients(const Mat& A, const Vec& b,
                                                                  const std::vector<RootedTree>& trees);

// Residuals r(t) = Phi(t) - 1/gamma(t) of all trees with |t| <= max_order (rooted_trees order) and their
// Jacobian (num_trees x (q(q-1)/2 + q)) with respect to the explicit scheme's free parameters
//   x = [a_10, a_20, a_21, a_30, a_31, a_32, ..., a_(q-1)(q-2), b_0, ..., b_(q-1)]:
// a_ij (i > j) at column i(i-1)/2 + j, b_i at column q(q-1)/2 + i. c = A 1 follows A and is not a parameter.
struct OrderConditionSystem {
  Vec residual;
  Mat jacobian;
};
OrderConditionSystem order_condition_system(const ButcherTableau& tableau, int max_order);

struct OrderConditionRow {
  std::string label;
  int order = 0;
  std::int64_t gamma = 1;
  double phi = 0;
  double residual = 0;  // phi - 1/gamma
};
struct OrderConditionsSummary {
  std::string tableau_name;
  std::vector<OrderConditionRow> rows;               // rooted_trees(max_order) order
  std::vector<double> max_abs_residual_by_order;     // [k-1]: max |r(t)| over |t| = k
  std::vector<double> max_rel_residual_by_order;     // [k-1]: max gamma(t) |r(t)| over |t| = k
};
OrderConditionsSummary order_conditions(const ButcherTableau& tableau, int max_order = 8);

// Default tolerance of `order`, on the relative residual gamma(t) |Phi(t) - 1/gamma(t)| = |gamma Phi - 1|.
// DOP853's 30-digit decimals rounded to double reach 1.6e-13 at order 8 (|r| 1.7e-15, 1/gamma down to
// 2.5e-5; entries of A up to 44 cancel); 1e-10 leaves a margin of ~600 and cannot be met by a trained scheme
// that is not projected onto the conditions.
inline constexpr double kOrderConditionTol = 1e-10;

// Largest p <= max_order with gamma(t) |r(t)| <= tol for all |t| <= p; 0 when even sum b = 1 fails.
int order(const ButcherTableau& tableau, double tol = kOrderConditionTol, int max_order = 10);

// The embedded solution b_hat = b - error_weights as a tableau of its own (order field = embedded_order).
// Throws std::invalid_argument when the tableau has no error weights.
ButcherTableau embedded_solution(const ButcherTableau& tableau);

}  // namespace trk
