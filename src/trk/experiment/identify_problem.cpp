#include "trk/experiment/identify_problem.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "trk/solve/rk_step.h"
#include "trk/tableau/composition.h"
#include "trk/tableau/named_tableaux.h"
#include "trk/train/adaptive_loss.h"
#include "trk/train/losses.h"
#include "trk/train/meet_loss.h"

namespace trk {

IdentifyProblem::IdentifyProblem(FlowMap& psi, const IdentifyOptions& o)
    : psi_(psi),
      o_(o),
      trainable_(psi.solver.kind == SolverKind::kTrainable),
      adaptive_(psi.solver.kind == SolverKind::kAdaptive),
      substeps_(trainable_ && o.continuation == "substeps" && psi.field->num_params() <= o.lm_max_parameters),
      n_theta_(psi.field->num_params()),
      threads_(o.threads > 0 ? o.threads : omp_get_max_threads()),
      lm_horizon_decay_(o.resolved_lm_horizon_decay()),
      scheme_(trainable_ ? psi.solver.stages : 1, trainable_ ? o.tableau_init : "classical"),
      // The continuation's scheme: q/2 Euler sub-steps of h/2 (meet), or m RK4 sub-steps of h; held fixed (loss()).
      half_(substeps_ ? TrainableTableau::from_tableau(trk::substeps(named_tableau("rk4"), o.continuation_substeps))
                      : TrainableTableau(std::max(1, psi.solver.stages / 2), "euler_substeps")) {
  if (trainable_) {
    scheme_.project_consistency();
    psi_.tableau = scheme_.tableau(psi_.solver.name);
  }
  half_.project_consistency();
  for (int t = 0; t < threads_; ++t) copies_.push_back(psi_.field->clone());
}

int IdentifyProblem::continuation_iterations() const {
  if (!has_continuation()) return 0;
  return substeps_ ? o_.substeps_iterations : o_.meet_iterations;
}

Vec IdentifyProblem::initial_x(bool meet) const {
  if (meet && substeps_) return psi_.field->params();
  const TrainableTableau& tab = meet ? half_ : scheme_;
  Vec x(n_theta_ + (trainable_ ? tab.params().size() : 0));
  x.head(n_theta_) = psi_.field->params();
  if (trainable_) x.tail(tab.params().size()) = tab.params();
  return x;
}

void IdentifyProblem::compose(Vec& x) {
  if (!trainable_) return;
  if (!substeps_) {
    half_.set_params(x.tail(half_.params().size()));
    scheme_ = TrainableTableau::from_tableau(two_half_steps(half_.tableau("half"), scheme_.num_stages()));
    scheme_.project_consistency();
  }
  x.conservativeResize(n_theta_ + scheme_.params().size());
  x.tail(scheme_.params().size()) = scheme_.params();
}

void IdentifyProblem::retract(Vec& x, bool meet) {
  if (!trainable_ || (meet && substeps_)) return;
  TrainableTableau& tab = meet ? half_ : scheme_;
  tab.set_params(x.tail(tab.params().size()));
  tab.project_consistency();
  x.tail(tab.params().size()) = tab.params();
}

Vec IdentifyProblem::project_gradient(Vec g) const {
  const long nb = trainable_ ? scheme_.num_stages() : 0;
  if (nb > 0) g.tail(nb).array() -= g.tail(nb).mean();
  return g;
}

void IdentifyProblem::set_flow_map(const Vec& x) {
  psi_.field->set_params(x.head(n_theta_));
  if (trainable_) {
    scheme_.set_params(x.tail(scheme_.params().size()));
    psi_.tableau = scheme_.tableau(psi_.solver.name);
  }
}

LossEval IdentifyProblem::adaptive_loss(const Pairs& p, const Vec& x, bool meet) {
  LossEval r;
  r.grad = Vec::Zero(x.size());
  Vec theta_bar;
  const AdaptiveFlowLoss l =
      meet ? adaptive_meet_mse(*copies_[0], psi_.tableau, psi_.h, p.Z0, p.targets[0], psi_.adaptive, &theta_bar)
           : adaptive_flow_mse(*copies_[0], psi_.tableau, psi_.h, p.Z0, p.targets[0], psi_.adaptive, &theta_bar);
  r.loss = l.loss;
  r.grad.head(n_theta_) = theta_bar;
  r.nfe_forward = l.num_forward_evaluations;
  r.nfe_backward = l.num_backward_evaluations;
  return r;
}

LossEval IdentifyProblem::loss(const Pairs& base, const Vec& x, const std::vector<long>& cols, bool meet) {
  const Pairs* p = &base;
  Pairs batch;
  if (!cols.empty()) {
    batch.Z0 = base.Z0(Eigen::all, cols);
    for (const Mat& t : base.targets) batch.targets.push_back(t(Eigen::all, cols));
    p = &batch;
  }
  for (auto& c : copies_) c->set_params(x.head(n_theta_));
  if (adaptive_) return adaptive_loss(*p, x, meet);
  LossEval r;
  r.grad = Vec::Zero(x.size());
  const long n = p->Z0.cols();
  Mat A = psi_.tableau.A;
  Vec b = psi_.tableau.b;
  TrainableTableau& tab = meet ? half_ : scheme_;
  if (trainable_) {
    tab.set_params(x.tail(tab.params().size()));
    A = tab.A();
    b = tab.b();
  }
  const long chunk = o_.chunk_size, num_chunks = (n + chunk - 1) / chunk;
  std::vector<double> losses(num_chunks);
  std::vector<Vec> theta_bars(num_chunks), b_bars(num_chunks);
  std::vector<Mat> A_bars(num_chunks);
  std::vector<long> nfe_f(num_chunks), nfe_b(num_chunks);
  // Dynamic: a thread that the OS deschedules does not hold up chunks another could take; each chunk's result
  // has its own slot and the sum below runs in chunk order, so the numbers do not depend on who computed what.
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads_)
  for (long c = 0; c < num_chunks; ++c) {
    const long begin = c * chunk, cols_c = std::min(chunk, n - begin);
    std::vector<Mat> targets;
    for (const Mat& t : p->targets) targets.push_back(t.middleCols(begin, cols_c));
    RolloutGradients g{.A_bar = trainable_ ? &A_bars[c] : nullptr,
                       .b_bar = trainable_ ? &b_bars[c] : nullptr,
                       .theta_bar = &theta_bars[c]};
    VectorField& f = *copies_[omp_get_thread_num()];
    const RolloutLoss l = meet ? meet_in_the_middle_mse(f, A, b, psi_.h, p->Z0.middleCols(begin, cols_c), targets[0], g)
                               : rollout_mse(f, A, b, psi_.h, p->Z0.middleCols(begin, cols_c), targets, g);
    const double w = static_cast<double>(cols_c) / n;
    losses[c] = w * l.loss;
    theta_bars[c] *= w;
    if (trainable_) {
      A_bars[c] *= w;
      b_bars[c] *= w;
    }
    nfe_f[c] = l.num_function_evaluations;
    nfe_b[c] = l.num_vjp_evaluations;
  }
  Mat A_bar = Mat::Zero(A.rows(), A.cols());
  Vec b_bar = Vec::Zero(b.size());
  for (long c = 0; c < num_chunks; ++c) {
    r.loss += losses[c];
    r.grad.head(n_theta_) += theta_bars[c];
    if (trainable_) {
      A_bar += A_bars[c];
      b_bar += b_bars[c];
    }
  }
  // The half-step scheme stays q/2 Euler sub-steps (a trainable one learns to cheat: an explicit scheme run
  // backwards is no inverse of the forward step, and the meeting point can be matched by maps far from the flow).
  if (trainable_ && !meet) r.grad.tail(tab.params().size()) = tab.pack_gradient(A_bar, b_bar);
  // NFE of the flow map per iteration: evaluations along one column's rollout (every chunk makes the same).
  r.nfe_forward = nfe_f.empty() ? 0 : nfe_f[0];
  r.nfe_backward = nfe_b.empty() ? 0 : nfe_b[0];
  return r;
}

IdentifyProblem::Scheme IdentifyProblem::scheme_at(const Vec& x) {
  if (!trainable_) return Scheme{psi_.tableau.A, psi_.tableau.b};
  scheme_.set_params(x.tail(scheme_.params().size()));
  return Scheme{scheme_.A(), scheme_.b()};
}

void IdentifyProblem::chunk_residuals(const Pairs& P, long begin, long cols, VectorField& f, const Scheme& s,
                                      Vec& r) const {
  const int K = static_cast<int>(P.targets.size());
  const long dim = P.Z0.rows();
  const double scale = 1.0 / std::sqrt(static_cast<double>(K) * P.Z0.cols() * dim);
  CountedField cf(f);
  StageTape tape;
  Mat Z = P.Z0.middleCols(begin, cols), Zn(dim, cols);
  r.resize(K * cols * dim);
  for (int k = 0; k < K; ++k) {
    rk_step(cf, s.A, s.b, psi_.h, Z, Zn, tape);
    Z.swap(Zn);
    Eigen::Map<Mat>(r.data() + k * cols * dim, dim, cols) =
        (scale * std::pow(k + 1.0, -lm_horizon_decay_)) * (Z - P.targets[k].middleCols(begin, cols));
  }
}

Vec IdentifyProblem::residuals(const Pairs& P, const Vec& x, bool continuation) {
  const long chunk = o_.chunk_size, n = P.Z0.cols(), num_chunks = (n + chunk - 1) / chunk;
  const long per_col = static_cast<long>(P.targets.size()) * P.Z0.rows();
  const bool sum_b_row = trainable_ && !continuation;
  const Scheme s = continuation ? Scheme{half_.A(), half_.b()} : scheme_at(x);
  for (auto& c : copies_) c->set_params(x.head(n_theta_));
  Vec r(n * per_col + (sum_b_row ? 1 : 0));
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads_)
  for (long c = 0; c < num_chunks; ++c) {
    const long begin = c * chunk, cols = std::min(chunk, n - begin);
    Vec rc;
    chunk_residuals(P, begin, cols, *copies_[omp_get_thread_num()], s, rc);
    r.segment(begin * per_col, cols * per_col) = rc;
  }
  if (sum_b_row) r(r.size() - 1) = 1e3 * (s.b.sum() - 1.0);
  return r;
}

namespace {

constexpr int kTangentRows = 8;    // tangent rows carried through a step together (one vector register)
constexpr long kTangentStates = 16;  // states whose stage values and gradients are kept together

// Forward mode through one step of (A, b, h) for the states of a block, tangent rows in groups of kTangentRows.
// dZ (rows padded to a multiple of kTangentRows, column dim s + l: the tangent of component l of state s) is
// advanced in place:  dY_i = dZ + h sum_j a_ij dK_j (+ h K_j on the row of a_ij),
//   dK_i = (df/dz)(Y_i) dY_i + df/dtheta (Y_i),   dZ <- dZ + h sum_i b_i dK_i (+ h K_i on the row of b_i).
// Ks[i], Gz[i], Gth[i]: the primal stage values and the field's gradients at Y_i (eval_gradients; Gth with the
// padded rows, zero below theta). a_row: the row of a_10 (then a_ij at a_row + i (i - 1) / 2 + j), b_row the row
// of b_0; < 0: no scheme rows. D: the dimension when known at compile time, else 0 (then dim).
template <int D>
void tangent_step(double h, const Mat& hA, const Vec& hb, long a_row, long b_row, const std::vector<Mat>& Ks,
                  const std::vector<Mat>& Gz, const std::vector<Mat>& Gth, long nb, int dim, Mat& dZ,
                  std::vector<double>& scratch) {
  constexpr int R = kTangentRows;
  constexpr int DD = D > 0 ? D : Eigen::Dynamic;
  using Rows = Eigen::Matrix<double, R, DD>;  // column l: rows r0.. of the tangent of component l
  using Col = Eigen::Matrix<double, R, 1>;
  using Grad = Eigen::Matrix<double, DD, 1>;
  const int d = D > 0 ? D : dim, q = static_cast<int>(hb.size());
  const long rows = dZ.rows();
  scratch.resize(static_cast<size_t>(q * d * R));
  Rows dz(R, d), dY(R, d);
  for (long st = 0; st < nb; ++st) {
    for (long r0 = 0; r0 < rows; r0 += R) {
      for (int l = 0; l < d; ++l) dz.col(l) = dZ.col(d * st + l).segment<R>(r0);
      for (int i = 0; i < q; ++i) {
        dY = dz;
        for (int j = 0; j < i; ++j) {
          const double c = hA(i, j);
          if (c != 0.0) dY.noalias() += c * Eigen::Map<const Rows>(scratch.data() + j * d * R, R, d);
        }
        if (a_row >= 0 && i > 0) {  // the rows of a_ij, j < i, inside this group
          const long first = a_row + i * (i - 1) / 2;
          for (long j = std::max(0L, r0 - first); j < std::min<long>(i, r0 + R - first); ++j)
            dY.row(first + j - r0) += h * Ks[j].col(st).transpose();
        }
        Eigen::Map<Rows> dKi(scratch.data() + i * d * R, R, d);
        for (int c = 0; c < d; ++c)
          dKi.col(c).noalias() = Gth[i].col(d * st + c).segment<R>(r0) +
                                 dY * Eigen::Map<const Grad>(Gz[i].data() + (d * st + c) * d, d);
      }
      for (int i = 0; i < q; ++i)
        if (hb(i) != 0.0) dz.noalias() += hb(i) * Eigen::Map<const Rows>(scratch.data() + i * d * R, R, d);
      if (b_row >= 0)  // the rows of b_i inside this group
        for (long i = std::max(0L, r0 - b_row); i < std::min<long>(q, r0 + R - b_row); ++i)
          dz.row(b_row + i - r0) += h * Ks[i].col(st).transpose();
      for (int l = 0; l < d; ++l) dZ.col(d * st + l).segment<R>(r0) = dz.col(l);
    }
  }
}

}  // namespace

void IdentifyProblem::chunk_normal_equations(const Pairs& P, long begin, long cols, const VectorField& f,
                                             const Scheme& s, double h, int substeps, bool scheme_tangents,
                                             const ConstVecRef& rc, Mat& JTJ, Vec& g) const {
  const int K = static_cast<int>(P.targets.size()), q = static_cast<int>(s.b.size());
  const long d = P.Z0.rows(), nth = n_theta_;
  const long np = nth + (scheme_tangents ? TrainableTableau::num_params(q) : 0);
  const long rows = (np + kTangentRows - 1) / kTangentRows * kTangentRows;
  const long a_row = scheme_tangents ? nth : -1, b_row = scheme_tangents ? nth + q * (q - 1) / 2 : -1;
  const double scale = 1.0 / std::sqrt(static_cast<double>(K) * P.Z0.cols() * d);
  const Mat hA = h * s.A;
  const Vec hb = h * s.b;
  Mat J(rows, K * cols * d);  // column (k cols + s) d + l: the weighted tangent of residual (k, s, l)
  std::vector<Mat> Ks(q), Gz(q, Mat(d, d * kTangentStates)), Gth(q, Mat::Zero(rows, d * kTangentStates));
  std::vector<double> scratch;
  Mat Z, Y, dZ;
  for (long s0 = 0; s0 < cols; s0 += kTangentStates) {
    const long nb = std::min(kTangentStates, cols - s0);
    Z = P.Z0.middleCols(begin + s0, nb);
    dZ.setZero(rows, d * nb);
    for (int k = 0; k < K; ++k) {
      for (int m = 0; m < substeps; ++m) {
        for (int i = 0; i < q; ++i) {
          Y = Z;
          for (int j = 0; j < i; ++j)
            if (hA(i, j) != 0.0) Y.noalias() += hA(i, j) * Ks[j];
          Ks[i].resize(d, nb);
          f.eval_gradients(Y, Ks[i], Gz[i].leftCols(d * nb), Gth[i].topLeftCorner(nth, d * nb));
        }
        switch (d) {
          case 1: tangent_step<1>(h, hA, hb, a_row, b_row, Ks, Gz, Gth, nb, 1, dZ, scratch); break;
          case 2: tangent_step<2>(h, hA, hb, a_row, b_row, Ks, Gz, Gth, nb, 2, dZ, scratch); break;
          case 3: tangent_step<3>(h, hA, hb, a_row, b_row, Ks, Gz, Gth, nb, 3, dZ, scratch); break;
          case 4: tangent_step<4>(h, hA, hb, a_row, b_row, Ks, Gz, Gth, nb, 4, dZ, scratch); break;
          default: tangent_step<0>(h, hA, hb, a_row, b_row, Ks, Gz, Gth, nb, static_cast<int>(d), dZ, scratch);
        }
        for (int i = 0; i < q; ++i)
          if (hb(i) != 0.0) Z.noalias() += hb(i) * Ks[i];
      }
      const double w = scale * std::pow(k + 1.0, -lm_horizon_decay_);
      J.middleCols((k * cols + s0) * d, d * nb) = w * dZ;
    }
  }
  JTJ.setZero(np, np);
  JTJ.selfadjointView<Eigen::Lower>().rankUpdate(J.topRows(np));
  g.noalias() = J.topRows(np) * rc;
}

void IdentifyProblem::normal_equations(const Pairs& P, const Vec& x, const Vec& r, Mat& JTJ, Vec& g,
                                       bool continuation) {
  const long chunk = o_.chunk_size, n = P.Z0.cols(), num_chunks = (n + chunk - 1) / chunk;
  const long per_col = static_cast<long>(P.targets.size()) * P.Z0.rows(), np = x.size();
  const bool forward_mode = o_.lm_jacobian == "forward_mode" && psi_.field->has_gradients();
  const bool scheme_tangents = trainable_ && !continuation;
  Vec step(np);
  std::vector<Scheme> shifted(np);  // the scheme at x + step_i e_i (forward differences)
  for (long i = 0; i < np; ++i) {
    step(i) = 1e-7 * std::max(1.0, std::abs(x(i)));
    if (i < n_theta_ || forward_mode) continue;
    Vec xp = x;
    xp(i) += step(i);
    shifted[i] = scheme_at(xp);
  }
  const Scheme s = continuation ? Scheme{half_.A(), half_.b()} : scheme_at(x);
  // Forward mode steps the continuation's scheme as its m RK4 sub-steps of h/m, not as one composed tableau.
  struct {
    Scheme scheme;
    double h;
    int substeps;
  } fm{s, psi_.h, 1};
  if (forward_mode && continuation) {
    const ButcherTableau rk4 = named_tableau("rk4");
    fm = {Scheme{rk4.A, rk4.b}, psi_.h / o_.continuation_substeps, o_.continuation_substeps};
  }
  for (auto& c : copies_) c->set_params(x.head(n_theta_));
  JTJ.setZero(np, np);
  g.setZero(np);
  if (scheme_tangents && !forward_mode) {  // the sum b row
    Vec row = Vec::Zero(np);
    for (long i = n_theta_; i < np; ++i) row(i) = (1e3 * (shifted[i].b.sum() - 1.0) - r(r.size() - 1)) / step(i);
    JTJ.noalias() += row * row.transpose();
    g += row * r(r.size() - 1);
  }
  // Chunks in groups of `threads`: each thread differentiates one chunk, then the group is added in order.
  std::vector<Mat> JTJ_c(threads_);
  std::vector<Vec> g_c(threads_);
  for (long first = 0; first < num_chunks; first += threads_) {
    const long group = std::min<long>(threads_, num_chunks - first);
#pragma omp parallel for schedule(static, 1) num_threads(threads_)
    for (long t = 0; t < group; ++t) {
      const long c = first + t, begin = c * chunk, cols = std::min(chunk, n - begin);
      VectorField& f = *copies_[omp_get_thread_num()];
      const auto rc = r.segment(begin * per_col, cols * per_col);
      if (forward_mode) {
        chunk_normal_equations(P, begin, cols, f, fm.scheme, fm.h, fm.substeps, scheme_tangents, rc, JTJ_c[t],
                               g_c[t]);
        continue;
      }
      Mat J(cols * per_col, np);
      Vec theta = x.head(n_theta_), rp;
      for (long i = 0; i < np; ++i) {
        if (i < n_theta_) {
          theta(i) += step(i);
          f.set_params(theta);
          chunk_residuals(P, begin, cols, f, s, rp);
          theta(i) = x(i);
          f.set_params(theta);
        } else {
          chunk_residuals(P, begin, cols, f, shifted[i], rp);
        }
        J.col(i) = (rp - rc) / step(i);
      }
      JTJ_c[t].noalias() = J.transpose() * J;
      g_c[t].noalias() = J.transpose() * rc;
    }
    for (long t = 0; t < group; ++t) {
      if (forward_mode)
        JTJ.triangularView<Eigen::Lower>() += JTJ_c[t];
      else
        JTJ += JTJ_c[t];
      g += g_c[t];
    }
  }
  if (!forward_mode) return;
  if (scheme_tangents) {  // the sum b row 1e3 (sum b - 1): 1e3 on the rows of b
    const long q = s.b.size();
    Vec row = Vec::Zero(np);
    row.tail(q).setConstant(1e3);
    JTJ.selfadjointView<Eigen::Lower>().rankUpdate(row);
    g += row * r(r.size() - 1);
  }
  Mat full = JTJ.selfadjointView<Eigen::Lower>();
  JTJ.swap(full);
}

}  // namespace trk
