// The Levenberg-Marquardt normal equations of IdentifyProblem: J^T J and J^T r from forward mode (bilinear) against
// a Jacobian of central differences of the residuals, for every kind of solver the phases use, and independent of
// the thread count.
#include "trk/experiment/identify_problem.h"

#include <gtest/gtest.h>

#include <string>

#include "gradient_check.h"
#include "trk/experiment/generate.h"
#include "trk/field/bilinear.h"

namespace trk {
namespace {

struct Case {
  std::string solver;
  int rollout_steps;
  bool continuation;
};

Pairs lorenz_pairs(double h, int K) {
  GenerateOptions g;
  g.h = h;
  g.train_steps = 40;
  g.test_steps = 10;
  return make_pairs(generate(g).train, K);
}

FlowMap bilinear_flow_map(const std::string& solver, double h) {
  FlowMap psi;
  psi.solver = parse_solver(solver);
  psi.h = h;
  psi.model = "bilinear";
  psi.field = std::make_unique<BilinearField>(3, 3, 5);
  // Scale the output layer down: a model near the data's time scale, whose rollouts stay finite.
  Vec theta = psi.field->params();
  theta *= 0.3;
  psi.field->set_params(theta);
  if (psi.solver.kind == SolverKind::kFixed) psi.tableau = psi.solver.named();
  return psi;
}

class NormalEquations : public ::testing::TestWithParam<Case> {};

TEST_P(NormalEquations, ForwardModeMatchesFiniteDifferenceJacobian) {
  const Case c = GetParam();
  const double h = 0.1;
  const Pairs P = lorenz_pairs(h, c.rollout_steps);
  FlowMap psi = bilinear_flow_map(c.solver, h);
  IdentifyOptions o;
  o.solver = c.solver;
  o.chunk_size = 7;  // several chunks and a short last one
  o.threads = 1;
  o.continuation_substeps = 2;
  o.lm_jacobian = "forward_mode";
  IdentifyProblem problem(psi, o);
  ASSERT_TRUE(psi.field->has_gradients());
  Vec x = problem.initial_x(c.continuation && problem.substeps());
  if (problem.trainable() && !c.continuation) x(x.size() - 1) += 0.01;  // sum b != 1: the sum b row counts
  const Vec r = problem.residuals(P, x, c.continuation);
  Mat JTJ;
  Vec g;
  problem.normal_equations(P, x, r, JTJ, g, c.continuation);
  ASSERT_EQ(JTJ.rows(), x.size());

  Mat J(r.size(), x.size());
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    const double step = 1e-6 * std::max(1.0, std::abs(x(i)));
    Vec xp = x, xm = x;
    xp(i) += step;
    xm(i) -= step;
    J.col(i) = (problem.residuals(P, xp, c.continuation) - problem.residuals(P, xm, c.continuation)) / (2 * step);
  }
  const Mat JTJ_fd = J.transpose() * J;
  const Vec g_fd = J.transpose() * r;
  EXPECT_LT((JTJ - JTJ_fd).cwiseAbs().maxCoeff() / JTJ_fd.cwiseAbs().maxCoeff(), 1e-6) << c.solver;
  EXPECT_LT((g - g_fd).cwiseAbs().maxCoeff() / g_fd.cwiseAbs().maxCoeff(), 1e-6) << c.solver;
  EXPECT_EQ((JTJ - JTJ.transpose()).cwiseAbs().maxCoeff(), 0.0);

  // Two threads: the same numbers bit for bit.
  FlowMap psi2 = bilinear_flow_map(c.solver, h);
  o.threads = 2;
  IdentifyProblem problem2(psi2, o);
  Mat JTJ2;
  Vec g2;
  problem2.normal_equations(P, x, problem2.residuals(P, x, c.continuation), JTJ2, g2, c.continuation);
  EXPECT_EQ((JTJ2 - JTJ).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ((g2 - g).cwiseAbs().maxCoeff(), 0.0);
}

INSTANTIATE_TEST_SUITE_P(Solvers, NormalEquations,
                         ::testing::Values(Case{"euler", 1, false}, Case{"rk4", 4, false}, Case{"trk4", 1, false},
                                           Case{"trk10", 4, false}, Case{"trk10", 1, true}));

}  // namespace
}  // namespace trk
