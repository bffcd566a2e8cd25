// Outputs of `trk report stability` and `trk report order` (tableau/scheme_analysis.h), writers and readers side
// by side.
//   DIR/stability.json  scheme, stages, real_axis_interval, imag_axis_interval (numbers, or "inf"),
//                       stability_polynomial [gamma_0 .. gamma_q], grid {file, dataset, layout, re [min, max, n],
//                       im [min, max, n]}, boundary_curves (count), tableau {name, A, b, c}
//   DIR/stability.h5    format "trk-stability" (version 1), scheme; re [num_re], im [num_im],
//                       abs_R [num_im, num_re] (abs_R[i][j] = |R(re[j] + i im[i])|), boundary/curve_<k> [points, 2]
//   DIR/order.json      scheme, order, max_order_checked, tolerance {value, on}, residuals_by_order [{order,
//                       num_conditions, max_abs_residual, max_rel_residual, trees [{tree, gamma, phi, residual}]}],
//                       tableau {name, A, b, c}
// Every file written to a temporary name and renamed. Readers throw std::runtime_error naming the file and field.
#pragma once
#include <filesystem>

#include "trk/tableau/scheme_analysis.h"

namespace trk::io {

void write_stability(const std::filesystem::path& dir, const StabilityAnalysis& s);
StabilityAnalysis read_stability(const std::filesystem::path& dir);

void write_order(const std::filesystem::path& dir, const OrderAnalysis& a);
OrderAnalysis read_order(const std::filesystem::path& dir);

}  // namespace trk::io
