#include "trk/io/forecast_io.h"

#include <cmath>
#include <stdexcept>

#include "trk/io/hdf5_util.h"

namespace trk::io {

namespace {

constexpr const char* kFormat = "trk-forecast";

// [n, N + 1, d] in C order from per-lead dim x n matrices, and back.
std::vector<double> stack(const std::vector<Mat>& per_lead) {
  const size_t leads = per_lead.size(), d = per_lead[0].rows(), n = per_lead[0].cols();
  std::vector<double> v(n * leads * d);
  for (size_t j = 0; j < n; ++j)
    for (size_t k = 0; k < leads; ++k)
      for (size_t i = 0; i < d; ++i) v[(j * leads + k) * d + i] = per_lead[k](i, j);
  return v;
}

std::vector<Mat> unstack(const h5::Array& a) {
  const size_t n = a.shape[0], leads = a.shape[1], d = a.shape[2];
  std::vector<Mat> out(leads, Mat(d, n));
  for (size_t j = 0; j < n; ++j)
    for (size_t k = 0; k < leads; ++k)
      for (size_t i = 0; i < d; ++i) out[k](i, j) = a.values[(j * leads + k) * d + i];
  return out;
}

Vec as_vec(const std::vector<double>& v) { return Eigen::Map<const Vec>(v.data(), v.size()); }

}  // namespace

void write_forecast(const std::filesystem::path& path, const ForecastFile& f) {
  const ForecastSummary& s = f.forecast;
  if (s.predicted.empty() || s.predicted.size() != s.truth.size() || s.num_starts() == 0)
    throw std::invalid_argument(path.string() + ": an empty forecast");
  const size_t n = s.num_starts(), leads = s.predicted.size(), d = s.predicted[0].rows();
  h5::write_file_atomic(path, [&](h5::Group& root) {
    root.write_string_attribute("format", kFormat);
    root.write_int_attribute("format_version", 1);
    root.write_string_attribute("system", f.system);
    root.write_string_attribute("solver", f.solver);
    root.write_string_attribute("model", f.model);
    root.write_string_attribute("data", f.data);
    root.write_double_attribute("h", s.h);
    root.write_int_attribute("steps", s.steps);
    root.write_int_attribute("dim", static_cast<std::int64_t>(d));
    root.write_array("predicted", stack(s.predicted), {n, leads, d});
    root.write_array("truth", stack(s.truth), {n, leads, d});
    Vec lead(leads), finite(leads), trajectory(n), index(n);
    for (size_t k = 0; k < leads; ++k) lead(k) = static_cast<double>(k) * s.h, finite(k) = s.num_finite[k];
    for (size_t j = 0; j < n; ++j) trajectory(j) = s.start_trajectory[j], index(j) = s.start_index[j];
    root.write_vector("lead_time", lead);
    root.write_vector("rmse", s.rmse);
    root.write_vector("num_finite", finite);
    root.write_vector("start_time", s.start_time);
    root.write_vector("start_trajectory", trajectory);
    root.write_vector("start_index", index);
  });
}

ForecastFile read_forecast(const std::filesystem::path& path) {
  const h5::File file = h5::File::open_read(path);
  auto need_string = [&](const char* name) {
    auto v = file.read_string_attribute(name);
    if (!v) throw std::runtime_error(file.where_attribute(name) + ": missing");
    return *v;
  };
  if (need_string("format") != kFormat)
    throw std::runtime_error(file.where_attribute("format") + ": expected \"trk-forecast\"");
  if (auto v = file.read_int_attribute("format_version"); !v || *v != 1)
    throw std::runtime_error(file.where_attribute("format_version") + ": expected 1");
  ForecastFile f;
  f.system = need_string("system");
  f.solver = need_string("solver");
  f.model = need_string("model");
  f.data = file.read_string_attribute("data").value_or("");
  ForecastSummary& s = f.forecast;
  const auto h = file.read_double_attribute("h");
  const auto steps = file.read_int_attribute("steps");
  if (!h || !(*h > 0)) throw std::runtime_error(file.where_attribute("h") + ": expected a positive step");
  if (!steps || *steps < 1) throw std::runtime_error(file.where_attribute("steps") + ": expected at least 1");
  s.h = *h;
  s.steps = static_cast<int>(*steps);
  const h5::Array predicted = file.read_array("predicted"), truth = file.read_array("truth");
  for (const auto* a : {&predicted, &truth})
    if (a->rank() != 3 || a->shape[1] != static_cast<size_t>(s.steps) + 1 || a->shape[0] == 0 || a->shape[2] == 0 ||
        a->shape != predicted.shape)
      throw std::runtime_error(file.where(a == &predicted ? "predicted" : "truth") +
                               ": expected shape [starts, steps + 1, dim], the same for predicted and truth");
  s.predicted = unstack(predicted);
  s.truth = unstack(truth);
  const size_t n = predicted.shape[0], leads = predicted.shape[1];
  auto vector_of = [&](const char* name, size_t size) {
    const h5::Array a = file.read_array(name);
    if (a.rank() != 1 || a.shape[0] != size)
      throw std::runtime_error(file.where(name) + ": expected " + std::to_string(size) + " values");
    return a.values;
  };
  s.rmse = as_vec(vector_of("rmse", leads));
  s.start_time = as_vec(vector_of("start_time", n));
  for (double x : vector_of("num_finite", leads)) s.num_finite.push_back(static_cast<long>(x));
  for (double x : vector_of("start_trajectory", n)) s.start_trajectory.push_back(static_cast<int>(x));
  for (double x : vector_of("start_index", n)) s.start_index.push_back(static_cast<int>(x));
  for (size_t k = 0; k < leads; ++k) s.diverged.push_back(!std::isfinite(s.rmse(k)) || s.rmse(k) > 10.0);
  return f;
}

ForecastSummary write_forecast_of(const std::filesystem::path& path, const FlowMap& psi, const Dataset& data,
                                  const std::string& data_label, int steps, int start_every) {
  ForecastFile f;
  f.system = data.system;
  f.solver = psi.solver.name;
  f.model = psi.model;
  f.data = data_label;
  f.forecast = forecast(psi, data.test, {.steps = steps, .start_every = start_every});
  write_forecast(path, f);
  return f.forecast;
}

}  // namespace trk::io
