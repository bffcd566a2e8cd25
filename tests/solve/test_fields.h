// Test-only problems with exact solutions.
#pragma once
#include <cmath>

#include "trk/field/vector_field.h"

namespace trk::testing {

// Kepler problem q'' = -q / |q|^3, z = (q1, q2, p1, p2), on the orbit of eccentricity e from pericentre:
// with E - e sin E = t,  q = (cos E - e, sqrt(1-e^2) sin E),  p = (-sin E, sqrt(1-e^2) cos E) / (1 - e cos E).
class Kepler final : public VectorField {
 public:
  std::string name() const override { return "kepler"; }
  int dim() const override { return 4; }
  void eval(const ConstMatRef& Z, MatRef F) const override {
    const auto r2 = Z.row(0).array().square() + Z.row(1).array().square();
    const auto r3 = r2 * r2.sqrt();
    F.row(0) = Z.row(2);
    F.row(1) = Z.row(3);
    F.row(2).array() = -Z.row(0).array() / r3;
    F.row(3).array() = -Z.row(1).array() / r3;
  }
  void vjp(const ConstMatRef&, const ConstMatRef&, MatRef, Vec*) const override {}
  std::unique_ptr<VectorField> clone() const override { return std::make_unique<Kepler>(*this); }
  static Vec exact(double t, double e = 0.5) {
    double E = t;
    for (int i = 0; i < 50; ++i) E -= (E - e * std::sin(E) - t) / (1 - e * std::cos(E));
    const double s = std::sqrt(1 - e * e), d = 1 - e * std::cos(E);
    return Vec{{std::cos(E) - e, s * std::sin(E), -std::sin(E) / d, s * std::cos(E) / d}};
  }
};

// Counts its own evaluations, independently of the solvers' CountedField.
class SelfCountingField final : public VectorField {
 public:
  explicit SelfCountingField(const VectorField& f) : f_(f) {}
  std::string name() const override { return f_.name(); }
  int dim() const override { return f_.dim(); }
  void eval(const ConstMatRef& Z, MatRef F) const override {
    ++calls;
    f_.eval(Z, F);
  }
  void vjp(const ConstMatRef& Z, const ConstMatRef& U, MatRef Zb, Vec* tb) const override { f_.vjp(Z, U, Zb, tb); }
  std::unique_ptr<VectorField> clone() const override { return nullptr; }
  mutable long calls = 0;

 private:
  const VectorField& f_;
};

}  // namespace trk::testing
