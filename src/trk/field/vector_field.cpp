#include "trk/field/vector_field.h"

namespace trk {

Mat VectorField::jacobian(const ConstVecRef& z) const {
  const int d = dim();
  Mat Z = z.replicate(1, d);
  Mat J = Mat::Zero(d, d);
  Mat U = Mat::Identity(d, d);
  // Column i of Z_bar is (df/dz)^T e_i = row i of J.
  Mat Z_bar = Mat::Zero(d, d);
  vjp(Z, U, Z_bar, nullptr);
  J = Z_bar.transpose();
  return J;
}

}  // namespace trk
