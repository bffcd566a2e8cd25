#include "trk/io/dataset_io.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <vector>

#include "trk/io/hdf5_util.h"
#include "trk/io/memory_limit.h"

namespace trk::io {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kSplitNames[] = {"train", "test"};

const Split& split_named(const Dataset& d, std::string_view name) { return name == "train" ? d.train : d.test; }

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  std::string message = where + ": " + what;
  for (char& ch : message)
    if (ch == '\n' || ch == '\r') ch = ' ';
  throw std::runtime_error(message);
}

// A value quoted for a message, cut short and on one line.
std::string quoted(std::string s) {
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  for (char& ch : s)
    if (ch == '\n' || ch == '\r') ch = ' ';
  return "\"" + s + "\"";
}

// "" when `text` is a JSON object (of numbers, if `numbers_only`), else what is wrong with it.
std::string json_object_error(const std::string& text, bool numbers_only) {
  const std::string expected = numbers_only ? "expected a JSON object of numbers" : "expected a JSON object";
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return expected + ", found " + quoted(text) + " (not valid JSON)";
  if (!j.is_object()) return expected + ", found " + quoted(text);
  if (numbers_only)
    for (const auto& [key, value] : j.items())
      if (!value.is_number()) return expected + ", found " + quoted(key) + ": " + value.dump();
  return "";
}

std::string split_validation_error(const Split& split, const std::string& name) {
  const std::string states = "/" + name + "/states", t = "/" + name + "/t";
  if (split.num_trajectories() < 1) return states + ": expected at least 1 trajectory, found 0";
  if (split.dim() < 1) return states + ": expected dim >= 1, found 0";
  if (split.num_times() < 2)
    return fmt::format("{}: expected at least 2 time samples, found {}", states, split.num_times());
  for (int i = 0; i < split.num_trajectories(); ++i) {
    const Mat& x = split.states[i];
    if (x.rows() != split.dim() || x.cols() != split.num_times())
      return fmt::format("{}: trajectory {} is {} x {}, expected {} x {} (dim x num_times)", states, i, x.rows(),
                         x.cols(), split.dim(), split.num_times());
  }
  for (int k = 0; k < split.num_times(); ++k) {
    if (!std::isfinite(split.t(k)))
      return fmt::format("{}: expected finite values, found {} at index {}", t, split.t(k), k);
    if (k > 0 && !(split.t(k) > split.t(k - 1)))
      return fmt::format("{}: expected strictly increasing times, found t({}) = {} after t({}) = {}", t, k,
                         split.t(k), k - 1, split.t(k - 1));
  }
  for (int i = 0; i < split.num_trajectories(); ++i) {
    const Mat& x = split.states[i];
    if (x.allFinite()) continue;
    for (Eigen::Index k = 0; k < x.cols(); ++k)
      for (Eigen::Index d = 0; d < x.rows(); ++d)
        if (!std::isfinite(x(d, k)))
          return fmt::format("{}: expected finite values, found {} at [{}, {}, {}] (trajectory, time, component)",
                             states, x(d, k), i, k, d);
  }
  return "";
}

// Reads /<name>: states as rank 3 (or rank 2 = one trajectory), t (or k h when absent; h is known by then unless
// the file has no attribute h, which is then inferred from /train/t). *t_element_size: bytes of a stored t value
// (0 when t is absent).
Split read_split(const h5::Group& root, const std::string& name, std::optional<double> h,
                 std::size_t* t_element_size) {
  if (!root.has_group(name)) fail(root.where(name), "missing group, expected the " + name + " split");
  const h5::Group g = root.open_group(name);
  if (!g.has_dataset("states"))
    fail(g.where("states"), "missing dataset, expected states [trajectories, times, dim]");
  const h5::Array states = g.read_array("states");
  if (states.rank() != 2 && states.rank() != 3)
    fail(g.where("states"), fmt::format("expected rank 2 or 3, found rank {}", states.rank()));
  const bool one = states.rank() == 2;
  const std::size_t n = one ? 1 : states.shape[0], num_times = states.shape[one ? 0 : 1],
                    dim = states.shape[one ? 1 : 2];

  Split split;
  *t_element_size = 0;
  if (g.has_dataset("t")) {
    h5::Array t = g.read_array("t");
    const bool vector_like = t.rank() == 1 || (t.rank() == 2 && (t.shape[0] == 1 || t.shape[1] == 1));
    if (!vector_like) fail(g.where("t"), fmt::format("expected rank 1, found shape [{}]", fmt::join(t.shape, ", ")));
    if (t.values.size() != num_times)
      fail(g.where("t"), fmt::format("expected {} values (the times axis of {}), found {}", num_times,
                                     g.child_path("states"), t.values.size()));
    split.t = Eigen::Map<const Vec>(t.values.data(), static_cast<Eigen::Index>(num_times));
    *t_element_size = t.element_size;
  } else {
    if (!h)
      fail(root.file_name() + ": attribute h of /",
           "missing, expected the sampling step (a finite number > 0), or /" + name + "/t to infer it from");
    split.t.resize(static_cast<Eigen::Index>(num_times));
    for (std::size_t k = 0; k < num_times; ++k) split.t(static_cast<Eigen::Index>(k)) = static_cast<double>(k) * *h;
  }
  // C order [n, num_times, dim]: block i is trajectory i stored column-major as dim x num_times.
  split.states.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    split.states.push_back(Eigen::Map<const Mat>(states.values.data() + i * num_times * dim,
                                                 static_cast<Eigen::Index>(dim), static_cast<Eigen::Index>(num_times)));
  return split;
}

// Training steps by h from state to state, so t must be uniform with that spacing: every t(k+1) - t(k) within
// 1e-6 h of h, plus the rounding of the stored values (unit roundoff u of float32 or float64: u (|t(k)| + |t(k+1)|),
// doubled). "" when it is, else the message (the object named).
std::string uniform_times_error(const Split& split, const std::string& name, double h, std::size_t element_size,
                                bool h_given) {
  if (element_size == 0) return "";  // no t in the file: made from h
  const double u = element_size <= 4 ? 0x1p-24 : 0x1p-53;
  for (Eigen::Index k = 0; k + 1 < split.t.size(); ++k) {
    const double a = split.t(k), b = split.t(k + 1), step = b - a;
    if (std::abs(step - h) <= 1e-6 * h + 2 * u * (std::abs(a) + std::abs(b))) continue;
    return fmt::format("/{}/t: expected uniform times with the step {} ({}), found t({}) - t({}) = {}", name, h,
                       h_given ? "attribute h of /" : "inferred from /train/t, the file has no attribute h", k + 1, k,
                       step);
  }
  return "";
}

// The most bytes the states and times of all splits take once read (the file's array and the trajectories: two copies of
// every float64, and per trajectory its own block, the allocator's header and its entry: 128 bytes), refused beyond
// memory_limit() before anything is allocated (an 18 kB file can declare 50M x 3 unwritten values, or 2e6
// trajectories of 2 samples).
void check_declared_size(const h5::File& file) {
  double bytes = 0, largest = -1;
  std::string largest_name;
  h5::ArrayShape largest_shape;
  // Every array the reader allocates: states and t of every split, /validation included.
  for (const char* name : {"train", "validation", "test"}) {
    if (!file.has_group(name)) continue;
    const h5::Group g = file.open_group(name);
    for (const char* array : {"states", "t"}) {
      if (!g.has_dataset(array)) continue;
      const h5::ArrayShape shape = g.read_shape(array);
      bytes += 2 * 8 * shape.count();
      if (std::string_view(array) == "states" && !shape.shape.empty())
        bytes += 128.0 * static_cast<double>(shape.shape[0]);
      if (shape.count() > largest) largest = shape.count(), largest_name = g.where(array), largest_shape = shape;
    }
  }
  const double limit = static_cast<double>(memory_limit());
  if (bytes <= limit) return;
  fail(largest_name, fmt::format("declares [{}] values, {} to read (all splits), more than the {} of {}",
                                 fmt::join(largest_shape.shape, ", "), format_bytes(bytes), format_bytes(limit),
                                 memory_limit_source()));
}

}  // namespace

std::string dataset_validation_error(const Dataset& d) {
  if (!(std::isfinite(d.h) && d.h > 0))
    return fmt::format("attribute h of /: expected a finite sampling step > 0, found {}", d.h);
  for (const auto& [key, value] : d.parameters)
    if (!std::isfinite(value))
      return fmt::format("attribute parameters of /: expected finite numbers, found {} = {}", quoted(key), value);
  if (std::string e = json_object_error(d.generator_json, false); !e.empty()) return "attribute generator of /: " + e;
  for (const char* name : kSplitNames) {
    const Split& split = split_named(d, name);
    if (std::string e = split_validation_error(split, name); !e.empty()) return e;
  }
  if (d.test.dim() != d.train.dim())
    return fmt::format("/test/states: expected dim {} as in /train/states, found {}", d.train.dim(), d.test.dim());
  // Optional /validation: checked like the others when present.
  if (d.validation.num_trajectories() > 0) {
    if (std::string e = split_validation_error(d.validation, "validation"); !e.empty()) return e;
    if (d.validation.dim() != d.train.dim())
      return fmt::format("/validation/states: expected dim {} as in /train/states, found {}", d.train.dim(),
                         d.validation.dim());
  }
  return "";
}

void write_dataset(const fs::path& path, const Dataset& d) {
  if (std::string e = dataset_validation_error(d); !e.empty()) fail(path.string(), "cannot write, " + e);
  json parameters = json::object();
  for (const auto& [key, value] : d.parameters) parameters[key] = value;
  h5::write_file_atomic(path, [&](h5::Group& root) {
    root.write_fixed_string_attribute("format", kDatasetFormat);
    root.write_int_attribute("format_version", kDatasetFormatVersion);
    root.write_fixed_string_attribute("system", d.system);
    root.write_double_attribute("h", d.h);
    root.write_int_attribute("seed", d.seed);
    root.write_fixed_string_attribute("parameters", parameters.dump());
    root.write_fixed_string_attribute("generator", d.generator_json);
    for (const char* name : {"train", "validation", "test"}) {
      const Split& split = std::string_view(name) == "validation" ? d.validation : split_named(d, name);
      if (split.states.empty()) continue;  // only an absent /validation (train and test were validated)
      const std::size_t n = split.states.size(), num_times = split.num_times(), dim = split.dim();
      std::vector<double> states(n * num_times * dim);
      for (std::size_t i = 0; i < n; ++i)  // column-major dim x num_times = C-order block [num_times, dim]
        std::memcpy(states.data() + i * num_times * dim, split.states[i].data(), num_times * dim * sizeof(double));
      h5::Group g = root.create_group(name);
      g.write_array("states", states, {n, num_times, dim});
      g.write_vector("t", split.t);
    }
  });
}

std::uint64_t content_hash(const Dataset& d) {
  static_assert(std::endian::native == std::endian::little, "content_hash hashes little-endian bytes");
  std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a 64: offset basis, prime 0x100000001b3
  auto bytes = [&](const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) hash = (hash ^ p[i]) * 0x100000001b3ULL;
  };
  auto integer = [&](std::int64_t v) { bytes(&v, sizeof v); };
  bytes(&d.h, sizeof d.h);
  for (const Split* s : {&d.train, &d.test}) {
    integer(s->t.size());
    bytes(s->t.data(), sizeof(double) * static_cast<size_t>(s->t.size()));
    integer(s->num_trajectories());
    for (const Mat& m : s->states) {
      integer(m.rows());
      integer(m.cols());
      bytes(m.data(), sizeof(double) * static_cast<size_t>(m.size()));
    }
  }
  return hash;
}

Dataset read_dataset(const fs::path& path, bool require_test) {
  const h5::File file = h5::File::open_read(path);
  const std::string attr = path.string() + ": attribute ";
  Dataset d;

  if (auto format = file.read_string_attribute("format"); format && *format != kDatasetFormat)
    fail(attr + "format of /", fmt::format("expected \"{}\", found {}", kDatasetFormat, quoted(*format)));
  if (auto version = file.read_int_attribute("format_version")) {
    if (*version > kDatasetFormatVersion)
      fail(attr + "format_version of /",
           fmt::format("written by a newer trk (format version {}), this build reads version {}", *version,
                       kDatasetFormatVersion));
    if (*version != kDatasetFormatVersion)
      fail(attr + "format_version of /", fmt::format("expected {}, found {}", kDatasetFormatVersion, *version));
  }
  d.system = file.read_string_attribute("system").value_or("unknown");
  const std::optional<double> h = file.read_double_attribute("h");
  if (h && !(std::isfinite(*h) && *h > 0))
    fail(attr + "h of /", fmt::format("expected a finite sampling step > 0, found {}", *h));
  d.seed = file.read_int_attribute("seed").value_or(0);
  if (auto text = file.read_string_attribute("parameters")) {
    if (std::string e = json_object_error(*text, true); !e.empty()) fail(attr + "parameters of /", e);
    const json parameters = json::parse(*text);
    for (const auto& [key, value] : parameters.items()) d.parameters[key] = value.get<double>();
  }
  if (auto text = file.read_string_attribute("generator")) {
    if (std::string e = json_object_error(*text, false); !e.empty()) fail(attr + "generator of /", e);
    d.generator_json = *text;
  }
  check_declared_size(file);
  std::size_t train_t_size = 0, test_t_size = 0, validation_t_size = 0;
  d.train = read_split(file, "train", h, &train_t_size);
  if (h) {
    d.h = *h;
  } else {  // h5py writes t and no h: the step is the spacing of /train/t
    if (std::string e = split_validation_error(d.train, "train"); !e.empty()) fail(path.string(), e);
    d.h = (d.train.t(d.train.num_times() - 1) - d.train.t(0)) / (d.train.num_times() - 1);
  }
  // Without /test (require_test = false) the checks run with the train split in its place.
  const bool has_test = require_test || file.has_group("test");
  d.test = has_test ? read_split(file, "test", d.h, &test_t_size) : d.train;
  const bool has_validation = file.has_group("validation");
  if (has_validation) d.validation = read_split(file, "validation", d.h, &validation_t_size);
  if (has_validation && d.validation.num_trajectories() == 0)  // not taken as absent
    fail(path.string(), "/validation/states: expected at least 1 trajectory, found 0 (remove /validation to hold "
                        "out the end of the training trajectories instead)");
  if (std::string e = dataset_validation_error(d); !e.empty()) fail(path.string(), e);
  if (std::string e = uniform_times_error(d.train, "train", d.h, train_t_size, h.has_value()); !e.empty())
    fail(path.string(), e);
  if (has_test)
    if (std::string e = uniform_times_error(d.test, "test", d.h, test_t_size, h.has_value()); !e.empty())
      fail(path.string(), e);
  if (has_validation)
    if (std::string e = uniform_times_error(d.validation, "validation", d.h, validation_t_size, h.has_value());
        !e.empty())
      fail(path.string(), e);
  if (!has_test) d.test = Split{};
  return d;
}

}  // namespace trk::io
