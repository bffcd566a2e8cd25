// One-step MSE of an explicit RK step with the bilinear field (d = 3, m = 3), forward and reverse in one pass over
// blocks of 32 states: rollout_mse with one target, the same numbers bit for bit, 1.2-1.5x faster (results/bench.md).
//   Y_i = Z + h sum_{j<i} a_ij K_j,  K_i = f(Y_i),  Z_1 = Z + h sum_i b_i K_i,  L = ||Z_1 - Y_1||^2 / (n d),
// and its discrete adjoint (rk_step_reverse with BilinearField::vjp). Every stage of a block stays in cache from its
// forward pass to its reverse pass, instead of one pass over the batch per stage, per term and per layer.
//
// Bit for bit: each element is combined with the same fused multiply-adds in the same order as the stepwise path;
// the sums over states keep the stepwise path's order with accumulators carried from block to block:
// - theta_bar's grams (BilinearField's small_gram): per stage and entry, 8 lanes (state mod 8) over the states
//   below n - n mod 8, reduced by Eigen's packet sum, then the last n mod 8 states one by one;
// - A_bar and the loss (Eigen's `(X.cwiseProduct(Y)).sum()` and `(Z_1 - Y_1).squaredNorm()` over a d x n matrix):
//   two packets of 8 over elements 16 apart, merged, one more packet, the packet reduction, the last elements;
// - the last elements of these sums as GCC 12 compiles their scalar loops (-O3, -march=native: products four at a
//   time in a vector, then added in order; the last count mod 4 fused), which the test pins down;
// - b_bar: one chain per stage over the elements in order (rk_step_reverse).
// tests/train/fused_bilinear_mse_test.cpp checks the equality and the gradients against finite differences.
#pragma once
#include <vector>

#include "trk/train/losses.h"

namespace trk {

// The fused path when it applies: f is a BilinearField with dim 3 and 3 products, 16 <= n <= 256 states (one block
// of BilinearField's), at most 16 stages, Z0_bar not wanted, and the build is one whose stepwise sums it emulates
// (fused_bilinear_mse_available: optimised GCC 12 with AVX-512 and FMA). Returns false otherwise (nothing computed).
bool fused_bilinear_mse(const VectorField& f, const Mat& A, const Vec& b, double h, const ConstMatRef& Z0,
                        const Mat& target, const RolloutGradients& grads, RolloutLoss& out);
bool fused_bilinear_mse_available();

}  // namespace trk
