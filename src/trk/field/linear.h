// Linear field dz/dt = M z; theta = entries of M in column-major order. Exact flow: z(t) = exp(M t) z(0).
#pragma once
#include "trk/field/vector_field.h"

namespace trk {

class LinearField final : public VectorField {
 public:
  explicit LinearField(Mat M) : M_(std::move(M)) {}
  std::string name() const override { return "linear"; }
  int dim() const override { return static_cast<int>(M_.rows()); }
  int num_params() const override { return static_cast<int>(M_.size()); }
  Vec params() const override { return M_.reshaped(); }
  void set_params(const ConstVecRef& theta) override { M_ = theta.reshaped(M_.rows(), M_.cols()); }
  const Mat& matrix() const { return M_; }
  void eval(const ConstMatRef& Z, MatRef F) const override { F.noalias() = M_ * Z; }
  void vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Z_bar, Vec* theta_bar) const override {
    Z_bar.noalias() += M_.transpose() * U;
    if (theta_bar) *theta_bar += (U * Z.transpose()).reshaped();
  }
  Mat jacobian(const ConstVecRef&) const override { return M_; }
  std::unique_ptr<VectorField> clone() const override { return std::make_unique<LinearField>(*this); }

 private:
  Mat M_;
};

}  // namespace trk
