// Analytic floating-point operation counts (an FMA counts 2) of the MLP field and of TRK_q on it, per state.
// Counted: the affine maps (forward 2 n_l n_{l+1} per layer; reverse 2 n_l n_{l+1} for the weight gradient
// X^T G and 2 n_l n_{l+1} for G M^T), biases, sigma' products and the RK stage combinations. Not counted: tanh
// itself (a polynomial of ~30 operations per unit, reported apart as tanh_flops), loads and stores.
// The reverse pass recomputes the forward pass of the network when the step did not keep its activations
// (StageTape::kActivationBudget: kept on identify's chunks of 250 states, not on one step of 2000 MLP states);
// `recomputed` adds those flops.
#pragma once
#include <cstddef>
#include <vector>

namespace trk_bench {

inline double mlp_forward_flops(int d, const std::vector<int>& widths) {
  std::vector<int> n{d};
  n.insert(n.end(), widths.begin(), widths.end());
  n.push_back(d);
  double f = 0;
  for (std::size_t l = 0; l + 1 < n.size(); ++l) f += 2.0 * n[l] * n[l + 1] + n[l + 1];  // product + bias
  return f;
}
inline double mlp_reverse_flops(int d, const std::vector<int>& widths) {  // without the recomputed forward
  std::vector<int> n{d};
  n.insert(n.end(), widths.begin(), widths.end());
  n.push_back(d);
  double f = 0;
  for (std::size_t l = 0; l + 1 < n.size(); ++l) f += 4.0 * n[l] * n[l + 1] + n[l + 1];  // gram, G M^T, bias sum
  for (std::size_t l = 1; l + 1 < n.size(); ++l) f += 3.0 * n[l];                        // G *= 1 - x^2
  return f;
}
inline double tanh_flops(const std::vector<int>& widths) {
  double units = 0;
  for (int w : widths) units += w;
  return 30.0 * units;
}
// Stage combinations of one step: Y_i = Z + sum_j (h a_ij) K_j, Z_next = Z + sum_i (h b_i) K_i (dense A).
inline double rk_combination_flops(int d, int q) { return 2.0 * d * (q * (q - 1) / 2 + q); }
inline double mlp_step_forward_flops(int d, const std::vector<int>& widths, int q) {
  return q * mlp_forward_flops(d, widths) + rk_combination_flops(d, q);
}
// Reverse of one step: q vjps and the adjoint combinations (K_bar, Z_bar, b_bar and A_bar dot products: about
// three times the forward's).
inline double mlp_step_reverse_flops(int d, const std::vector<int>& widths, int q, bool recomputed) {
  return q * (mlp_reverse_flops(d, widths) + (recomputed ? mlp_forward_flops(d, widths) : 0.0)) +
         3 * rk_combination_flops(d, q);
}
// One training iteration of the one-step loss, per pair: forward step, loss, reverse step.
inline double mlp_iteration_flops(int d, const std::vector<int>& widths, int q, bool recomputed = false) {
  return mlp_step_forward_flops(d, widths, q) + mlp_step_reverse_flops(d, widths, q, recomputed) + 3.0 * d;
}

}  // namespace trk_bench
