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

void IdentifyProblem::chunk_normal_equations(const Pairs& P, long begin, long cols, const VectorField& f,
                                             const Scheme& s, bool scheme_tangents, const ConstVecRef& rc, Mat& JTJ,
                                             Vec& g) const {
  constexpr long kTangentBlock = 16;  // states whose tangents go through the steps together (they stay in L2)
  const int K = static_cast<int>(P.targets.size()), q = static_cast<int>(s.b.size());
  const long d = P.Z0.rows(), nth = n_theta_;
  const long np = nth + (scheme_tangents ? TrainableTableau::num_params(q) : 0);
  const long b_row = nth + q * (q - 1) / 2;  // the row of b_0 (a_ij: nth + i (i - 1) / 2 + j)
  const double h = psi_.h, scale = 1.0 / std::sqrt(static_cast<double>(K) * P.Z0.cols() * d);
  JTJ.setZero(np, np);
  g.setZero(np);
  std::vector<Mat> Ks(q), dK(q);
  Mat Z, Y, dZ, dY, Gz, Gth;
  for (long s0 = 0; s0 < cols; s0 += kTangentBlock) {
    const long nb = std::min(kTangentBlock, cols - s0);
    Z = P.Z0.middleCols(begin + s0, nb);
    dZ.setZero(np, d * nb);
    Gz.resize(d, d * nb);
    Gth.resize(nth, d * nb);
    for (int k = 0; k < K; ++k) {
      for (int i = 0; i < q; ++i) {
        Y = Z;
        dY = dZ;
        for (int j = 0; j < i; ++j) {
          const double c = h * s.A(i, j);
          if (c == 0.0) continue;
          Y.noalias() += c * Ks[j];
          dY.noalias() += c * dK[j];
        }
        if (scheme_tangents)
          for (int j = 0; j < i; ++j)
            dY.row(nth + i * (i - 1) / 2 + j) += h * Eigen::Map<const Eigen::RowVectorXd>(Ks[j].data(), d * nb);
        Ks[i].resize(d, nb);
        f.eval_gradients(Y, Ks[i], Gz, Gth);
        Mat& dKi = dK[i];
        dKi.resize(np, d * nb);
        for (long st = 0; st < nb; ++st) {
          for (long c = 0; c < d; ++c) {
            const long col = d * st + c;
            auto out = dKi.col(col);
            out = Gz(0, col) * dY.col(d * st);
            for (long l = 1; l < d; ++l) out.noalias() += Gz(l, col) * dY.col(d * st + l);
          }
        }
        dKi.topRows(nth) += Gth;
      }
      for (int i = 0; i < q; ++i) {
        const double c = h * s.b(i);
        if (c != 0.0) {
          Z.noalias() += c * Ks[i];
          dZ.noalias() += c * dK[i];
        }
        if (scheme_tangents) dZ.row(b_row + i) += h * Eigen::Map<const Eigen::RowVectorXd>(Ks[i].data(), d * nb);
      }
      const double w = scale * std::pow(k + 1.0, -lm_horizon_decay_);
      JTJ.selfadjointView<Eigen::Lower>().rankUpdate(dZ, w * w);
      g.noalias() += w * (dZ * rc.segment(k * cols * d + s0 * d, d * nb));
    }
  }
}

void IdentifyProblem::normal_equations(const Pairs& P, const Vec& x, const Vec& r, Mat& JTJ, Vec& g,
                                       bool continuation) {
  const long chunk = o_.chunk_size, n = P.Z0.cols(), num_chunks = (n + chunk - 1) / chunk;
  const long per_col = static_cast<long>(P.targets.size()) * P.Z0.rows(), np = x.size();
  const bool forward_mode = psi_.field->has_gradients();
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
  for (auto& c : copies_) c->set_params(x.head(n_theta_));
  JTJ.setZero(np, np);
  g.setZero(np);
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
        chunk_normal_equations(P, begin, cols, f, s, scheme_tangents, rc, JTJ_c[t], g_c[t]);
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
      JTJ_c[t].setZero(np, np);
      JTJ_c[t].selfadjointView<Eigen::Lower>().rankUpdate(J.transpose());
      g_c[t].noalias() = J.transpose() * rc;
    }
    for (long t = 0; t < group; ++t) {
      JTJ.triangularView<Eigen::Lower>() += JTJ_c[t];
      g += g_c[t];
    }
  }
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
