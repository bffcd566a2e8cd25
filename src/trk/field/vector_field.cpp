#include "trk/field/vector_field.h"

#include <utility>

namespace trk {
namespace {

// Matrices returned by FieldActivations on this thread, at most kPoolDoubles in all (beyond that they are freed).
constexpr Eigen::Index kPoolDoubles = Eigen::Index{16} << 20;  // 128 MiB
struct Pool {
  std::vector<Mat> mats;
  Eigen::Index doubles = 0;
  ~Pool();
};
thread_local bool pool_destroyed = false;  // trivially destructible: readable while the pool is torn down
Pool::~Pool() { pool_destroyed = true; }
thread_local Pool pool;

Mat take(Eigen::Index rows, Eigen::Index cols) {
  if (!pool_destroyed)
    for (std::size_t k = pool.mats.size(); k-- > 0;)
      if (pool.mats[k].size() == rows * cols) {
        Mat m = std::move(pool.mats[k]);
        pool.mats[k] = std::move(pool.mats.back());
        pool.mats.pop_back();
        pool.doubles -= m.size();
        m.resize(rows, cols);  // same number of coefficients: no reallocation
        return m;
      }
  return Mat(rows, cols);
}

void give_back(Mat&& m) {
  if (pool_destroyed || m.size() == 0 || pool.doubles + m.size() > kPoolDoubles) return;
  pool.doubles += m.size();
  pool.mats.push_back(std::move(m));
}

}  // namespace

Mat& FieldActivations::at(std::size_t i, Eigen::Index rows, Eigen::Index cols) {
  Mat& m = saved.at(i);
  if (m.rows() != rows || m.cols() != cols) {
    give_back(std::move(m));
    m = take(rows, cols);
  }
  return m;
}

void FieldActivations::resize(std::size_t count) {
  while (saved.size() > count) {
    give_back(std::move(saved.back()));
    saved.pop_back();
  }
  saved.resize(count);
}

Mat VectorField::jacobian(const ConstVecRef& z) const {
  const int d = dim();
  Mat Z = z.replicate(1, d);
  Mat J = Mat::Zero(d, d);
  Mat U = Mat::Identity(d, d);
  // Column i of Z_bar is (df/dz)^T e_i = row i of J.
  Mat Z_bar = Mat::Zero(d, d);
  vjp(Z, U, Z_bar, nullptr);
  J = Z_bar.transpose();
  return J;
}

}  // namespace trk
