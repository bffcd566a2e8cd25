// Eigen aliases used across trk. A batch of states is a matrix with one column per state (dim x n).
#pragma once
#include <Eigen/Dense>

namespace trk {

using Vec = Eigen::VectorXd;
using Mat = Eigen::MatrixXd;
using MatRef = Eigen::Ref<Mat>;
using ConstMatRef = Eigen::Ref<const Mat>;
using VecRef = Eigen::Ref<Vec>;
using ConstVecRef = Eigen::Ref<const Vec>;
using CVec = Eigen::VectorXcd;  // Fourier coefficients

}  // namespace trk
