#include "trk/solve/rk_step.h"

namespace trk {

void StageTape::resize(int num_stages, int dim, Eigen::Index n) {
  Y.resize(num_stages);
  K.resize(num_stages);
  for (int i = 0; i < num_stages; ++i) {
    Y[i].resize(dim, n);
    K[i].resize(dim, n);
  }
}

void rk_step(CountedField& f, const Mat& A, const Vec& b, double h, const ConstMatRef& Z, MatRef Z_next,
             StageTape& tape, bool k1_known) {
  const int q = static_cast<int>(b.size());
  if (static_cast<int>(tape.K.size()) != q || tape.K[0].rows() != Z.rows() || tape.K[0].cols() != Z.cols()) {
    Mat k1 = k1_known ? tape.K[0] : Mat();
    tape.resize(q, static_cast<int>(Z.rows()), Z.cols());
    if (k1_known) tape.K[0] = k1;
  }
  for (int i = 0; i < q; ++i) {
    Mat& Y = tape.Y[i];
    Y = Z;
    for (int j = 0; j < i; ++j)
      if (A(i, j) != 0.0) Y.noalias() += (h * A(i, j)) * tape.K[j];
    if (i == 0 && k1_known) continue;
    f.eval(Y, tape.K[i]);
  }
  Z_next = Z;
  for (int i = 0; i < q; ++i)
    if (b(i) != 0.0) Z_next.noalias() += (h * b(i)) * tape.K[i];
}

void rk_step_reverse(CountedField& f, const Mat& A, const Vec& b, double h, const StageTape& tape,
                     const ConstMatRef& Z_next_bar, const StepGradients& out) {
  const int q = static_cast<int>(b.size());
  std::vector<Mat> Y_bar(q);
  Mat K_bar(Z_next_bar.rows(), Z_next_bar.cols());
  for (int i = q - 1; i >= 0; --i) {
    K_bar = (h * b(i)) * Z_next_bar;
    for (int l = i + 1; l < q; ++l)
      if (A(l, i) != 0.0) K_bar.noalias() += (h * A(l, i)) * Y_bar[l];
    Y_bar[i] = Mat::Zero(Z_next_bar.rows(), Z_next_bar.cols());
    f.vjp(tape.Y[i], K_bar, Y_bar[i], out.theta_bar);
  }
  if (out.Z_bar) {
    *out.Z_bar = Z_next_bar;
    for (int i = 0; i < q; ++i) *out.Z_bar += Y_bar[i];
  }
  if (out.b_bar)
    for (int i = 0; i < q; ++i) (*out.b_bar)(i) += h * (Z_next_bar.cwiseProduct(tape.K[i])).sum();
  if (out.A_bar)
    for (int l = 1; l < q; ++l)
      for (int j = 0; j < l; ++j) (*out.A_bar)(l, j) += h * (Y_bar[l].cwiseProduct(tape.K[j])).sum();
  if (out.h_bar) {
    double s = 0.0;
    for (int i = 0; i < q; ++i) s += b(i) * (Z_next_bar.cwiseProduct(tape.K[i])).sum();
    for (int l = 1; l < q; ++l)
      for (int j = 0; j < l; ++j) s += A(l, j) * (Y_bar[l].cwiseProduct(tape.K[j])).sum();
    *out.h_bar += s;
  }
}

}  // namespace trk
