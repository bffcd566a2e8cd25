// Inference with another integrator (experiment/inference.h) and the sub-steps of a flow map (flow_map.h): N
// sub-steps are N steps of h/N, checked against a hand-written RK4 on a known field; the model's field is kept and
// stepped by the solver given, at stages x N evaluations per step; tolerances default as documented; bad options
// are refused.
#include "trk/experiment/inference.h"

#include <gtest/gtest.h>

#include "trk/experiment/generate.h"
#include "trk/field/lorenz63.h"
#include "trk/tableau/named_tableaux.h"

namespace trk {
namespace {

FlowMap lorenz_flow_map(const std::string& solver, double h, int substeps = 1) {
  FlowMap psi;
  psi.solver = parse_solver(solver);
  psi.h = h;
  psi.model = "lorenz63";
  psi.field = std::make_unique<Lorenz63>();
  psi.tableau = named_tableau(solver);
  psi.substeps = substeps;
  return psi;
}

// Classical RK4 written out, one step of dt from each column of Z.
Mat rk4_by_hand(const VectorField& f, const Mat& Z, double dt) {
  const auto eval = [&](const Mat& Y) {
    Mat F(Y.rows(), Y.cols());
    f.eval(Y, F);
    return F;
  };
  const Mat k1 = eval(Z), k2 = eval(Z + 0.5 * dt * k1), k3 = eval(Z + 0.5 * dt * k2), k4 = eval(Z + dt * k3);
  return Z + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
}

Mat some_states() {
  Mat Z(3, 4);
  Z << 1.0, -5.0, 8.0, 0.5,  //
      2.0, -6.0, 9.0, -1.0,  //
      20.0, 25.0, 30.0, 15.0;
  return Z;
}

TEST(Inference, SubstepsAreStepsOfHOverN) {
  const double h = 0.12;
  const Mat Z = some_states();
  const Lorenz63 f;
  for (int n : {1, 2, 3, 5}) {
    long nfe = 0;
    const Mat out = lorenz_flow_map("rk4", h, n).apply(Z, &nfe);
    EXPECT_EQ(nfe, 4L * n * Z.cols()) << n;
    // N applications of the flow map of step h/N, bit for bit.
    const FlowMap one = lorenz_flow_map("rk4", h / n);
    Mat again = Z;
    for (int k = 0; k < n; ++k) again = one.apply(again);
    EXPECT_EQ(out, again) << n;
    // And RK4 at h/N written out, N times.
    Mat by_hand = Z;
    for (int k = 0; k < n; ++k) by_hand = rk4_by_hand(f, by_hand, h / n);
    EXPECT_LE((out - by_hand).cwiseAbs().maxCoeff(), 1e-12 * by_hand.cwiseAbs().maxCoeff()) << n;
  }
  // Sub-steps converge to the flow at fourth order: the error falls by about 2^4 per halving of the step (2^3 or
  // 2^5 would be another order).
  const FlowMap reference = lorenz_flow_map("rk4", h, 256);
  const Mat exact = reference.apply(Z);
  const double e4 = (lorenz_flow_map("rk4", h, 4).apply(Z) - exact).norm();
  const double e8 = (lorenz_flow_map("rk4", h, 8).apply(Z) - exact).norm();
  EXPECT_GT(e4 / e8, 12.0) << e4 / e8;
  EXPECT_LT(e4 / e8, 24.0) << e4 / e8;
}

TEST(Inference, SubstepsBelowOneAreRefused) {
  EXPECT_THROW(lorenz_flow_map("rk4", 0.1, 0).apply(some_states()), std::invalid_argument);
}

// A trained-scheme flow map (a TRK_2 whose tableau is not rk4's) given rk4 with 3 sub-steps: the same field
// object, rk4's tableau, 12 evaluations per step, the numbers of rk4 at h/3 three times.
TEST(Inference, StepsTheModelsFieldByTheSolverGiven) {
  FlowMap trk;
  trk.solver = parse_solver("trk2");
  trk.h = 0.1;
  trk.model = "lorenz63";
  trk.field = std::make_unique<Lorenz63>(9.0, 27.0, 2.5);
  trk.tableau = named_tableau("midpoint");
  const VectorField* field = trk.field.get();
  const FlowMap psi = with_inference_solver(std::move(trk), {.solver = "rk4", .substeps = 3});
  EXPECT_EQ(psi.field.get(), field);
  EXPECT_EQ(psi.solver.name, "rk4");
  EXPECT_EQ(psi.substeps, 3);
  EXPECT_EQ(psi.tableau.A, named_tableau("rk4").A);
  EXPECT_EQ(psi.h, 0.1);
  long nfe = 0;
  const Mat Z = some_states();
  const Mat out = psi.apply(Z, &nfe);
  EXPECT_EQ(nfe, 12L * Z.cols());
  Mat by_hand = Z;
  for (int k = 0; k < 3; ++k) by_hand = rk4_by_hand(Lorenz63(9.0, 27.0, 2.5), by_hand, 0.1 / 3);
  EXPECT_LE((out - by_hand).cwiseAbs().maxCoeff(), 1e-12 * by_hand.cwiseAbs().maxCoeff());

  // evaluate_forecasts reports stages x N per step.
  GenerateOptions g;
  g.h = 0.1;
  g.train_steps = 10;
  g.test_steps = 12;
  const Dataset d = generate(g);
  EXPECT_EQ(evaluate_forecasts(psi, d.test).inference_nfe_per_step, 12.0);
}

TEST(Inference, NoSolverIsTheModelItself) {
  FlowMap m = lorenz_flow_map("rk4", 0.1);
  const Mat before = m.apply(some_states());
  const FlowMap psi = with_inference_solver(std::move(m), {});
  EXPECT_EQ(psi.solver.name, "rk4");
  EXPECT_EQ(psi.substeps, 1);
  EXPECT_EQ(psi.apply(some_states()), before);
}

TEST(Inference, AdaptiveTolerancesDefaultToTheModelsOrToFixedValues) {
  // A fixed-step model: 1e-7 and 1e-9, the pair's own step control.
  FlowMap fixed = lorenz_flow_map("rk4", 0.1);
  fixed.adaptive.control.rtol = fixed.adaptive.control.atol = 0.5;  // not an adaptive model's: unused
  FlowMap psi = with_inference_solver(std::move(fixed), {.solver = "dopri8"});
  EXPECT_EQ(psi.solver.kind, SolverKind::kAdaptive);
  EXPECT_EQ(psi.adaptive.control.rtol, 1e-7);
  EXPECT_EQ(psi.adaptive.control.atol, 1e-9);
  EXPECT_EQ(psi.adaptive.control.convention, StepControlConvention::kAuto);
  EXPECT_EQ(psi.substeps, 1);
  // An adaptive model: its tolerances and step control, unless given.
  FlowMap adaptive = lorenz_flow_map("dopri8", 0.1);
  adaptive.adaptive.control.rtol = 1e-6;
  adaptive.adaptive.control.atol = 1e-8;
  adaptive.adaptive.control.convention = StepControlConvention::kHairer;
  psi = with_inference_solver(std::move(adaptive), {.solver = "dopri5", .atol = 1e-12});
  EXPECT_EQ(psi.solver.name, "dopri5");
  EXPECT_EQ(psi.adaptive.control.rtol, 1e-6);
  EXPECT_EQ(psi.adaptive.control.atol, 1e-12);
  EXPECT_EQ(psi.adaptive.control.convention, StepControlConvention::kHairer);
  long nfe = 0;
  const Mat out = psi.apply(some_states(), &nfe);
  EXPECT_TRUE(out.allFinite());
  EXPECT_GT(nfe, 6L * 4);
}

TEST(Inference, RefusesBadOptions) {
  struct Case {
    InferenceOptions o;
    const char* needle;
  };
  const Case cases[] = {
      {{.solver = "rk5"}, "unknown solver 'rk5'"},
      {{.solver = "trk10"}, "not an inference solver"},
      {{.solver = "sr"}, "not an inference solver"},
      {{.solver = "rk4", .substeps = 0}, "at least 1"},
      {{.solver = "rk4", .substeps = -2}, "at least 1"},
      {{.solver = "dopri8", .substeps = 2}, "adaptive"},
      {{.solver = "dopri8", .rtol = -1e-6}, "inference-rtol"},
      {{.solver = "dopri8", .atol = std::nan("")}, "inference-atol"},
      {{.solver = "rk4", .rtol = 1e-6}, "fixed-step"},
      {{.solver = "", .substeps = 2}, "give inference-solver"},
      {{.solver = "", .atol = 1e-9}, "give inference-solver"},
  };
  for (const Case& c : cases) {
    const std::string e = c.o.validation_error();
    EXPECT_NE(e.find(c.needle), std::string::npos) << c.o.solver << ": " << e;
    EXPECT_THROW(with_inference_solver(lorenz_flow_map("rk4", 0.1), c.o), std::invalid_argument) << c.needle;
  }
  InferenceOptions fine{.solver = "euler", .substeps = 7};
  EXPECT_EQ(fine.validation_error(), "");
  fine = {.solver = "dop853", .substeps = 1, .rtol = 1e-9, .atol = 1e-11};
  EXPECT_EQ(fine.validation_error(), "");
}

}  // namespace
}  // namespace trk
