#include "trk/io/checkpoint_io.h"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <type_traits>

#include "trk/io/hdf5_util.h"

namespace trk::io {

namespace {

constexpr const char* kFormat = "trk-checkpoint";
constexpr int kFormatVersion = 5;  // 2: data_hash; 3: states by visit_state; 4: phase records; 5: the refit

template <class T>
Vec to_vec(const std::vector<T>& v) {
  Vec out(static_cast<Eigen::Index>(v.size()));
  for (size_t i = 0; i < v.size(); ++i) out(static_cast<Eigen::Index>(i)) = static_cast<double>(v[i]);
  return out;
}

Mat rows_of(const std::vector<Vec>& vs) {
  Mat m(static_cast<Eigen::Index>(vs.size()), vs.empty() ? 0 : vs.front().size());
  for (size_t i = 0; i < vs.size(); ++i) m.row(static_cast<Eigen::Index>(i)) = vs[i].transpose();
  return m;
}

[[noreturn]] void fail(const std::string& where, const std::string& what) { throw std::runtime_error(where + ": " + what); }

// Writes a state through its visit_state into a group.
struct Writer {
  h5::Group& g;
  template <class T>
  void operator()(const char* name, T& v) {
    if constexpr (NamedEnum<T>) {
      g.write_fixed_string_attribute(name, to_string(v));
    } else if constexpr (std::is_same_v<T, std::string>) {
      g.write_fixed_string_attribute(name, v);
    } else if constexpr (std::is_integral_v<T>) {  // bool and integers
      g.write_int_attribute(name, static_cast<std::int64_t>(v));
    } else if constexpr (std::is_floating_point_v<T>) {
      g.write_double_attribute(name, v);
    } else if constexpr (std::is_same_v<T, Vec>) {
      g.write_vector(name, v);
    } else if constexpr (std::is_same_v<T, std::vector<Vec>>) {
      g.write_matrix(name, rows_of(v));
    } else {
      g.write_vector(name, to_vec(v));  // std::vector of numbers
    }
  }
  template <class S>
  void group(const char* name, S& s) {
    h5::Group sub = g.create_group(name);
    visit_state(s, Writer{sub});
  }
  template <class S>
  void list(const char* name, std::vector<S>& items) {
    h5::Group sub = g.create_group(name);
    sub.write_int_attribute("size", static_cast<std::int64_t>(items.size()));
    for (size_t i = 0; i < items.size(); ++i) Writer{sub}.group(std::to_string(i).c_str(), items[i]);
  }
};

// Reads a state through its visit_state from a group; every field is required, errors name file and field.
struct Reader {
  const h5::Group& g;
  std::int64_t integer(const char* name) const {
    auto v = g.read_int_attribute(name);
    if (!v) fail(g.where_attribute(name), "missing");
    return *v;
  }
  std::string text(const char* name) const {
    auto v = g.read_string_attribute(name);
    if (!v) fail(g.where_attribute(name), "missing");
    return *v;
  }
  Vec vec(const char* name) const {
    const h5::Array a = g.read_array(name);
    if (a.rank() != 1) fail(g.where(name), "expected rank 1");
    return Eigen::Map<const Vec>(a.values.data(), static_cast<Eigen::Index>(a.values.size()));
  }
  template <class T>
  void operator()(const char* name, T& v) const {
    if constexpr (NamedEnum<T>) {
      const std::string s = text(name);
      const auto e = parse_enum<T>(s);
      if (!e) fail(g.where_attribute(name), "unknown value '" + s + "' (" + enum_choices<T>() + ")");
      v = *e;
    } else if constexpr (std::is_same_v<T, std::string>) {
      v = text(name);
    } else if constexpr (std::is_same_v<T, bool>) {
      v = integer(name) != 0;
    } else if constexpr (std::is_integral_v<T>) {
      v = static_cast<T>(integer(name));
    } else if constexpr (std::is_floating_point_v<T>) {
      auto d = g.read_double_attribute(name);
      if (!d) fail(g.where_attribute(name), "missing");
      v = *d;
    } else if constexpr (std::is_same_v<T, Vec>) {
      v = vec(name);
    } else if constexpr (std::is_same_v<T, std::vector<Vec>>) {
      const h5::Array a = g.read_array(name);
      if (a.rank() != 2) fail(g.where(name), "expected rank 2");
      v.clear();
      for (size_t i = 0; i < a.shape[0]; ++i)
        v.emplace_back(Eigen::Map<const Vec>(a.values.data() + i * a.shape[1], static_cast<Eigen::Index>(a.shape[1])));
    } else {
      const Vec x = vec(name);
      v.resize(static_cast<size_t>(x.size()));
      for (Eigen::Index i = 0; i < x.size(); ++i) v[static_cast<size_t>(i)] = static_cast<typename T::value_type>(x(i));
    }
  }
  template <class S>
  void group(const char* name, S& s) const {
    const h5::Group sub = g.open_group(name);
    visit_state(s, Reader{sub});
  }
  template <class S>
  void list(const char* name, std::vector<S>& items) const {
    const h5::Group sub = g.open_group(name);
    const std::int64_t n = Reader{sub}.integer("size");
    if (n < 0 || n > 1000000) fail(sub.where_attribute("size"), "expected 0 to 1000000");
    items.assign(static_cast<size_t>(n), S{});
    for (size_t i = 0; i < items.size(); ++i) Reader{sub}.group(std::to_string(i).c_str(), items[i]);
  }
};

void write_header(h5::Group& root, const char* command, const json& configuration, std::uint64_t data_hash) {
  root.write_fixed_string_attribute("format", kFormat);
  root.write_int_attribute("format_version", kFormatVersion);
  root.write_fixed_string_attribute("command", command);
  root.write_fixed_string_attribute("configuration", configuration.dump());
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(data_hash));
  root.write_fixed_string_attribute("data_hash", hex);
}

template <class State>
void write_checkpoint(const std::filesystem::path& path, const char* command, const State& state,
                      const json& configuration, std::uint64_t data_hash) {
  h5::write_file_atomic(path, [&](h5::Group& root) {
    write_header(root, command, configuration, data_hash);
    State copy = state;  // visit_state takes its fields by reference
    visit_state(copy, Writer{root});
  });
}

template <class File>
File read_checkpoint(const std::filesystem::path& path, const char* command) {
  const h5::File file = h5::File::open_read(path);
  const Reader r{file};
  if (r.text("format") != kFormat) fail(file.where_attribute("format"), "expected \"trk-checkpoint\"");
  const std::int64_t version = r.integer("format_version");
  if (version > kFormatVersion)
    fail(file.where_attribute("format_version"), "written by a newer trk, this build reads version " + std::to_string(kFormatVersion));
  if (version < kFormatVersion)
    fail(file.where_attribute("format_version"),
         "version " + std::to_string(version) + ", written by an older trk, cannot be resumed by this one; remove "
         "it to start again, or finish the run with the trk that wrote it");
  if (r.text("command") != command) fail(file.where_attribute("command"), std::string("expected a checkpoint of trk ") + command);
  File f;
  try {
    f.configuration = json::parse(r.text("configuration"));
  } catch (const json::exception&) {
    fail(file.where_attribute("configuration"), "expected a JSON object");
  }
  const std::string hex = r.text("data_hash");
  if (hex.size() != 16 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
    fail(file.where_attribute("data_hash"), "expected 16 hexadecimal digits");
  f.data_hash = static_cast<std::uint64_t>(std::strtoull(hex.c_str(), nullptr, 16));
  visit_state(f.state, r);
  return f;
}

}  // namespace

void write_identify_checkpoint(const std::filesystem::path& path, const IdentifyCheckpoint& state,
                               const json& configuration, std::uint64_t data_hash) {
  write_checkpoint(path, "identify", state, configuration, data_hash);
}

IdentifyCheckpointFile read_identify_checkpoint(const std::filesystem::path& path) {
  return read_checkpoint<IdentifyCheckpointFile>(path, "identify");
}

void write_fit_checkpoint(const std::filesystem::path& path, const FitCheckpoint& state, const json& configuration,
                          std::uint64_t data_hash) {
  write_checkpoint(path, "fit", state, configuration, data_hash);
}

FitCheckpointFile read_fit_checkpoint(const std::filesystem::path& path) {
  return read_checkpoint<FitCheckpointFile>(path, "fit");
}

}  // namespace trk::io
