// Lorenz-96: dz_i = (z_{i+1} - z_{i-2}) z_{i-1} - z_i + F, indices cyclic mod n. theta = (F).
#pragma once
#include "trk/field/vector_field.h"

namespace trk {

class Lorenz96 final : public VectorField {
 public:
  explicit Lorenz96(int n = 40, double forcing = 8.0) : n_(n), forcing_(forcing) {}
  std::string name() const override { return "lorenz96"; }
  int dim() const override { return n_; }
  int num_params() const override { return 1; }
  Vec params() const override { return Vec::Constant(1, forcing_); }
  void set_params(const ConstVecRef& theta) override { forcing_ = theta(0); }
  void eval(const ConstMatRef& Z, MatRef F) const override;
  void vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Z_bar, Vec* theta_bar) const override;
  std::unique_ptr<VectorField> clone() const override { return std::make_unique<Lorenz96>(*this); }

 private:
  int n_;
  double forcing_;
};

}  // namespace trk
