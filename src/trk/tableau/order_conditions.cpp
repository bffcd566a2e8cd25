// Rooted trees by Butcher products, elementary weights by stage vectors g(u o v) = g(u) * (A g(v)), and
// their gradients by reverse sweeps over the same products.
#include "trk/tableau/order_conditions.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace trk {
namespace {

// Stage vectors g(t) (column t of G) and A g(t) (column t of AG).
struct StageVectors {
  Mat G, AG;
};

StageVectors stage_vectors(const Mat& A, const std::vector<RootedTree>& trees) {
  const Eigen::Index q = A.rows(), n = static_cast<Eigen::Index>(trees.size());
  StageVectors s{Mat(q, n), Mat(q, n)};
  for (Eigen::Index k = 0; k < n; ++k) {
    const RootedTree& t = trees[k];
    if (t.left < 0)
      s.G.col(k).setOnes();
    else
      s.G.col(k) = s.G.col(t.left).cwiseProduct(s.AG.col(t.right));
    s.AG.col(k).noalias() = A * s.G.col(k);
  }
  return s;
}

// Adds d(g_bar^T g(t))/dA to A_bar.
void add_stage_vector_vjp(int k, const Vec& g_bar, const Mat& A, const std::vector<RootedTree>& trees,
                          const StageVectors& s, Mat& A_bar) {
  const RootedTree& t = trees[k];
  if (t.left < 0) return;
  const Vec w_bar = g_bar.cwiseProduct(s.G.col(t.left));  // w = A g(right)
  A_bar.noalias() += w_bar * s.G.col(t.right).transpose();
  add_stage_vector_vjp(t.left, g_bar.cwiseProduct(s.AG.col(t.right)), A, trees, s, A_bar);
  add_stage_vector_vjp(t.right, A.transpose() * w_bar, A, trees, s, A_bar);
}

void check_shapes(const Mat& A, const Vec& b) {
  if (A.rows() != b.size() || A.cols() != b.size())
    throw std::invalid_argument("order conditions: A is " + std::to_string(A.rows()) + "x" +
                                std::to_string(A.cols()) + ", b has " + std::to_string(b.size()) + " entries");
}

}  // namespace

std::vector<RootedTree> rooted_trees(int max_order) {
  std::vector<RootedTree> trees;
  if (max_order < 1) return trees;
  trees.push_back(RootedTree{1, {}, -1, -1, 1, 1, "t"});
  std::vector<int> first(max_order + 2, 0);  // first[n]: index of the first tree of order n
  first[2] = 1;
  for (int n = 2; n <= max_order; ++n) {
    first[n] = static_cast<int>(trees.size());
    for (int v = 0; v < first[n]; ++v) {
      const int nu = n - trees[v].order;
      for (int u = first[nu]; u < first[nu + 1]; ++u) {
        if (!trees[u].children.empty() && trees[u].children.back() > v) continue;  // v must be the last child
        RootedTree t;
        t.order = n;
        t.children = trees[u].children;
        t.children.push_back(v);
        t.left = u;
        t.right = v;
        const auto m = std::count(t.children.begin(), t.children.end(), v);
        t.gamma = trees[u].gamma / trees[u].order * trees[v].gamma * n;
        t.sigma = trees[u].sigma * trees[v].sigma * m;
        const std::string& lu = trees[u].label;
        t.label = u == 0 ? "[" + trees[v].label + "]" : lu.substr(0, lu.size() - 1) + "," + trees[v].label + "]";
        trees.push_back(std::move(t));
      }
    }
  }
  return trees;
}

Vec elementary_weights(const Mat& A, const Vec& b, const std::vector<RootedTree>& trees) {
  check_shapes(A, b);
  return stage_vectors(A, trees).G.transpose() * b;
}

std::vector<ElementaryWeightGradient> elementary_weight_gradients(const Mat& A, const Vec& b,
                                                                  const std::vector<RootedTree>& trees) {
  check_shapes(A, b);
  const StageVectors s = stage_vectors(A, trees);
  std::vector<ElementaryWeightGradient> out(trees.size());
  for (std::size_t k = 0; k < trees.size(); ++k) {
    out[k].phi_b = s.G.col(k);
    out[k].phi = b.dot(out[k].phi_b);
    out[k].phi_A = Mat::Zero(A.rows(), A.cols());
    add_stage_vector_vjp(static_cast<int>(k), b, A, trees, s, out[k].phi_A);
  }
  return out;
}

OrderConditionSystem order_condition_system(const ButcherTableau& tableau, int max_order) {
  const auto trees = rooted_trees(max_order);
  const auto grads = elementary_weight_gradients(tableau.A, tableau.b, trees);
  const int q = tableau.num_stages(), num_a = q * (q - 1) / 2;
  OrderConditionSystem sys{Vec(trees.size()), Mat(trees.size(), num_a + q)};
  for (std::size_t k = 0; k < trees.size(); ++k) {
    sys.residual(k) = grads[k].phi - 1.0 / static_cast<double>(trees[k].gamma);
    for (int i = 1; i < q; ++i)
      for (int j = 0; j < i; ++j) sys.jacobian(k, i * (i - 1) / 2 + j) = grads[k].phi_A(i, j);
    sys.jacobian.row(k).tail(q) = grads[k].phi_b.transpose();
  }
  return sys;
}

OrderConditionsSummary order_conditions(const ButcherTableau& tableau, int max_order) {
  const auto trees = rooted_trees(max_order);
  const Vec phi = elementary_weights(tableau.A, tableau.b, trees);
  OrderConditionsSummary s;
  s.tableau_name = tableau.name;
  s.max_abs_residual_by_order.assign(std::max(max_order, 0), 0.0);
  s.max_rel_residual_by_order.assign(std::max(max_order, 0), 0.0);
  for (std::size_t k = 0; k < trees.size(); ++k) {
    const RootedTree& t = trees[k];
    const double r = phi(k) - 1.0 / static_cast<double>(t.gamma);
    s.rows.push_back({t.label, t.order, t.gamma, phi(k), r});
    // std::max would drop a NaN residual; keep it visible.
    double& abs_max = s.max_abs_residual_by_order[t.order - 1];
    double& rel_max = s.max_rel_residual_by_order[t.order - 1];
    if (!(std::abs(r) <= abs_max)) abs_max = std::abs(r);
    if (!(t.gamma * std::abs(r) <= rel_max)) rel_max = t.gamma * std::abs(r);
  }
  return s;
}

int order(const ButcherTableau& tableau, double tol, int max_order) {
  const OrderConditionsSummary s = order_conditions(tableau, max_order);
  int p = 0;
  while (p < max_order && s.max_rel_residual_by_order[p] <= tol) ++p;
  return p;
}

ButcherTableau embedded_solution(const ButcherTableau& tableau) {
  if (!tableau.error_weights)
    throw std::invalid_argument("tableau '" + tableau.name + "' has no error weights (no embedded solution)");
  ButcherTableau e = tableau;
  e.name = tableau.name + "_embedded";
  e.b = tableau.b - *tableau.error_weights;
  e.error_weights.reset();
  e.secondary_error_weights.reset();
  e.order = tableau.embedded_order;
  e.embedded_order = 0;
  return e;
}

}  // namespace trk
