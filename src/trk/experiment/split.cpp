#include "trk/experiment/split.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace trk {

std::string SplitFractions::validation_error() const {
  if (!(train > 0) || !(validation >= 0) || !(test > 0))
    return "split fractions: expected train > 0, validation >= 0, test > 0";
  if (std::abs(train + validation + test - 1.0) > 1e-9) return "split fractions: expected a sum of 1";
  return "";
}

namespace {

// Samples [first, first + count) of every trajectory.
Split block(const Split& s, long first, long count) {
  Split out;
  if (count == 0) return out;
  out.t = s.t.segment(first, count);
  for (const Mat& z : s.states) out.states.push_back(z.middleCols(first, count));
  return out;
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) out += ch == '"' || ch == '\\' ? std::string("\\") + ch : std::string(1, ch);
  return out + "\"";
}

}  // namespace

Dataset split_trajectory(const Dataset& source, const SplitFractions& f, const std::string& source_label) {
  if (auto e = f.validation_error(); !e.empty()) throw std::invalid_argument(e);
  if (source.train.num_trajectories() != 1)
    throw std::invalid_argument(source_label + ": /train/states: expected exactly one trajectory to split, found " +
                                std::to_string(source.train.num_trajectories()));
  if (source.test.num_trajectories() > 0 || source.validation.num_trajectories() > 0)
    throw std::invalid_argument(source_label + ": has a /test or /validation split already; --split cuts a file "
                                "with only a training trajectory");
  const long n = source.train.num_times();
  const long n_train = std::lround(f.train * n);
  const long n_val = f.validation > 0 ? std::lround(f.validation * n) : 0;
  const long n_test = n - n_train - n_val;
  auto need = [&](const char* name, long count) {
    if (count < 2)
      throw std::invalid_argument(source_label + ": " + std::to_string(n) + " samples leave " +
                                  std::to_string(count) + " for the " + name + " split, expected at least 2");
  };
  need("train", n_train);
  if (f.validation > 0) need("validation", n_val);
  need("test", n_test);
  Dataset d;
  d.system = source.system;
  d.h = source.h;
  d.seed = source.seed;
  d.parameters = source.parameters;
  d.train = block(source.train, 0, n_train);
  d.validation = block(source.train, n_train, n_val);
  d.test = block(source.train, n_train + n_val, n_test);
  char fractions[128];
  std::snprintf(fractions, sizeof fractions, "[%.17g,%.17g,%.17g]", f.train, f.validation, f.test);
  d.generator_json = "{\"program\":\"trk generate --from --split\",\"split_from\":" + quote(source_label) +
                     ",\"split_fractions\":" + fractions + ",\"split_samples\":[" + std::to_string(n_train) + "," +
                     std::to_string(n_val) + "," + std::to_string(n_test) +
                     "],\"source_generator\":" + source.generator_json + "}";
  return d;
}

Dataset hold_out_validation(const Dataset& data, double fraction) {
  const long n = data.train.num_times();
  const long n_val = std::max<long>(5, std::lround(fraction * n));
  if (n - n_val < 2)
    throw std::invalid_argument("the training split has " + std::to_string(n) + " samples: too few to hold out a " +
                                "validation split (it needs 5 samples and 2 left for training)");
  Dataset d = data;
  d.train = block(data.train, 0, n - n_val);
  d.validation = block(data.train, n - n_val, n_val);
  return d;
}

}  // namespace trk
