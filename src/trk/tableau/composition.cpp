#include "trk/tableau/composition.h"

#include <stdexcept>

namespace trk {

ButcherTableau two_half_steps(const ButcherTableau& half, int q) {
  const int qh = half.num_stages();
  if (q < 2 * qh) throw std::invalid_argument("two half steps of " + std::to_string(qh) + " stages need " +
                                              std::to_string(2 * qh) + " stages, not " + std::to_string(q));
  ButcherTableau t;
  t.A = Mat::Zero(q, q);
  t.b = Vec::Zero(q);
  t.A.topLeftCorner(qh, qh) = 0.5 * half.A;
  t.A.block(qh, qh, qh, qh) = 0.5 * half.A;
  t.A.block(qh, 0, qh, qh) = 0.5 * Vec::Ones(qh) * half.b.transpose();
  t.b.head(qh) = 0.5 * half.b;
  t.b.segment(qh, qh) = 0.5 * half.b;
  t.c = t.A.rowwise().sum();
  return t;
}

ButcherTableau substeps(const ButcherTableau& t, int m) {
  if (m < 1) throw std::invalid_argument("substeps: m must be at least 1");
  const int qs = t.num_stages(), q = m * qs;
  ButcherTableau s;
  s.name = t.name + "x" + std::to_string(m);
  s.A = Mat::Zero(q, q);
  s.b = Vec::Zero(q);
  for (int k = 0; k < m; ++k) {
    s.A.block(k * qs, k * qs, qs, qs) = t.A / m;
    for (int l = 0; l < k; ++l) s.A.block(k * qs, l * qs, qs, qs) = Vec::Ones(qs) * t.b.transpose() / m;
    s.b.segment(k * qs, qs) = t.b / m;
  }
  s.c = s.A.rowwise().sum();
  return s;
}

}  // namespace trk
