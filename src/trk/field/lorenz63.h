// Lorenz-63: dz1 = sigma (z2 - z1), dz2 = z1 (rho - z3) - z2, dz3 = z1 z2 - beta z3. theta = (sigma, rho, beta).
#pragma once
#include "trk/field/vector_field.h"

namespace trk {

class Lorenz63 final : public VectorField {
 public:
  explicit Lorenz63(double sigma = 10.0, double rho = 28.0, double beta = 8.0 / 3.0)
      : sigma_(sigma), rho_(rho), beta_(beta) {}
  std::string name() const override { return "lorenz63"; }
  int dim() const override { return 3; }
  int num_params() const override { return 3; }
  Vec params() const override { return Vec{{sigma_, rho_, beta_}}; }
  void set_params(const ConstVecRef& theta) override;
  void eval(const ConstMatRef& Z, MatRef F) const override;
  void vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Z_bar, Vec* theta_bar) const override;
  Mat jacobian(const ConstVecRef& z) const override;
  std::unique_ptr<VectorField> clone() const override { return std::make_unique<Lorenz63>(*this); }

 private:
  double sigma_, rho_, beta_;
};

}  // namespace trk
