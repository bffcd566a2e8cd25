#include "trk/io/checkpoint_io.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "trk/io/hdf5_util.h"

namespace trk::io {

namespace {

constexpr const char* kFormat = "trk-checkpoint";
constexpr int kFormatVersion = 2;  // 2: data_hash

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

// Reading side: every field is required; errors name the file and the field.
class Reader {
 public:
  explicit Reader(const std::filesystem::path& path, const std::string& command)
      : file_(h5::File::open_read(path)) {
    if (string("format") != kFormat) fail(file_.where_attribute("format"), "expected \"trk-checkpoint\"");
    const std::int64_t version = integer("format_version");
    if (version > kFormatVersion)
      fail(file_.where_attribute("format_version"), "written by a newer trk, this build reads versions 1 and 2");
    if (string("command") != command)
      fail(file_.where_attribute("command"), "expected a checkpoint of trk " + command);
    try {
      configuration = json::parse(string("configuration"));
    } catch (const json::exception&) {
      fail(file_.where_attribute("configuration"), "expected a JSON object");
    }
    if (version >= 2) {
      const std::string hex = string("data_hash");
      if (hex.size() != 16 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
        fail(file_.where_attribute("data_hash"), "expected 16 hexadecimal digits");
      data_hash = static_cast<std::uint64_t>(std::strtoull(hex.c_str(), nullptr, 16));
    }
  }
  std::string string(const char* name) const {
    auto v = file_.read_string_attribute(name);
    if (!v) fail(file_.where_attribute(name), "missing");
    return *v;
  }
  std::int64_t integer(const char* name) const {
    auto v = file_.read_int_attribute(name);
    if (!v) fail(file_.where_attribute(name), "missing");
    return *v;
  }
  double number(const char* name) const {
    auto v = file_.read_double_attribute(name);
    if (!v) fail(file_.where_attribute(name), "missing");
    return *v;
  }
  Vec vec(const char* name) const {
    const h5::Array a = file_.read_array(name);
    if (a.rank() != 1) fail(file_.where(name), "expected rank 1");
    return Eigen::Map<const Vec>(a.values.data(), static_cast<Eigen::Index>(a.values.size()));
  }
  template <class T>
  std::vector<T> list(const char* name) const {
    return list_in<T>(file_, name);
  }
  template <class T>
  static std::vector<T> list_in(const h5::Group& g, const std::string& name) {
    const h5::Array a = g.read_array(name);
    if (a.rank() != 1) fail(g.where(name), "expected rank 1");
    const Vec v = Eigen::Map<const Vec>(a.values.data(), static_cast<Eigen::Index>(a.values.size()));
    std::vector<T> out(static_cast<size_t>(v.size()));
    for (Eigen::Index i = 0; i < v.size(); ++i) out[static_cast<size_t>(i)] = static_cast<T>(v(i));
    return out;
  }
  std::vector<Vec> vectors(const char* name) const {
    const h5::Array a = file_.read_array(name);
    if (a.rank() != 2) fail(file_.where(name), "expected rank 2");
    std::vector<Vec> out;
    for (size_t i = 0; i < a.shape[0]; ++i)
      out.emplace_back(Eigen::Map<const Vec>(a.values.data() + i * a.shape[1], static_cast<Eigen::Index>(a.shape[1])));
    return out;
  }
  h5::Group group(const char* name) const { return file_.open_group(name); }
  json configuration;
  std::optional<std::uint64_t> data_hash;

 private:
  [[noreturn]] static void fail(const std::string& where, const std::string& what) {
    throw std::runtime_error(where + ": " + what);
  }
  h5::File file_;
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

}  // namespace

void write_identify_checkpoint(const std::filesystem::path& path, const IdentifyCheckpoint& c,
                               const json& configuration, std::uint64_t data_hash) {
  h5::write_file_atomic(path, [&](h5::Group& root) {
    write_header(root, "identify", configuration, data_hash);
    root.write_fixed_string_attribute("phase", c.phase);
    root.write_int_attribute("iteration", c.iteration);
    root.write_int_attribute("adam_t", c.adam_t);
    root.write_int_attribute("bad_in_a_row", c.bad_in_a_row);
    root.write_double_attribute("learning_rate", c.learning_rate);
    root.write_int_attribute("rng_draws", static_cast<std::int64_t>(c.rng_draws));
    root.write_double_attribute("loss", c.loss);
    root.write_int_attribute("phase_accepted", c.phase_accepted);
    root.write_double_attribute("mu", c.mu);
    root.write_fixed_string_attribute("status", c.status);
    root.write_int_attribute("iterations", c.iterations);
    root.write_int_attribute("meet_iterations", c.meet_iterations);
    root.write_int_attribute("refine_iterations", c.refine_iterations);
    root.write_int_attribute("learning_rate_halvings", c.learning_rate_halvings);
    root.write_double_attribute("train_seconds", c.train_seconds);
    root.write_vector("x", c.x);
    root.write_vector("last_good", c.last_good);
    root.write_vector("adam_m", c.adam_m);
    root.write_vector("adam_v", c.adam_v);
    root.write_vector("gradient", c.gradient);
    root.write_vector("residuals", c.residuals);
    root.write_matrix("s_memory", rows_of(c.s_memory));
    root.write_matrix("y_memory", rows_of(c.y_memory));
    root.write_vector("loss_history", to_vec(c.loss_history));
    root.write_vector("meet_loss_history", to_vec(c.meet_loss_history));
    root.write_vector("refine_loss_history", to_vec(c.refine_loss_history));
    root.write_vector("nfe_forward_history", to_vec(c.nfe_forward_history));
    root.write_vector("nfe_backward_history", to_vec(c.nfe_backward_history));
  });
}

IdentifyCheckpointFile read_identify_checkpoint(const std::filesystem::path& path) {
  const Reader r(path, "identify");
  IdentifyCheckpointFile f;
  f.configuration = r.configuration;
  f.data_hash = r.data_hash;
  IdentifyCheckpoint& c = f.state;
  c.phase = r.string("phase");
  c.iteration = static_cast<int>(r.integer("iteration"));
  c.adam_t = r.integer("adam_t");
  c.bad_in_a_row = static_cast<int>(r.integer("bad_in_a_row"));
  c.learning_rate = r.number("learning_rate");
  c.rng_draws = static_cast<std::uint64_t>(r.integer("rng_draws"));
  c.loss = r.number("loss");
  c.phase_accepted = static_cast<int>(r.integer("phase_accepted"));
  c.mu = r.number("mu");
  c.status = r.string("status");
  c.iterations = static_cast<int>(r.integer("iterations"));
  c.meet_iterations = static_cast<int>(r.integer("meet_iterations"));
  c.refine_iterations = static_cast<int>(r.integer("refine_iterations"));
  c.learning_rate_halvings = static_cast<int>(r.integer("learning_rate_halvings"));
  c.train_seconds = r.number("train_seconds");
  c.x = r.vec("x");
  c.last_good = r.vec("last_good");
  c.adam_m = r.vec("adam_m");
  c.adam_v = r.vec("adam_v");
  c.gradient = r.vec("gradient");
  c.residuals = r.vec("residuals");
  c.s_memory = r.vectors("s_memory");
  c.y_memory = r.vectors("y_memory");
  c.loss_history = r.list<double>("loss_history");
  c.meet_loss_history = r.list<double>("meet_loss_history");
  c.refine_loss_history = r.list<double>("refine_loss_history");
  c.nfe_forward_history = r.list<long>("nfe_forward_history");
  c.nfe_backward_history = r.list<long>("nfe_backward_history");
  return f;
}

void write_fit_checkpoint(const std::filesystem::path& path, const FitCheckpoint& c, const json& configuration,
                          std::uint64_t data_hash) {
  h5::write_file_atomic(path, [&](h5::Group& root) {
    write_header(root, "fit", configuration, data_hash);
    root.write_int_attribute("h_index", c.h_index);
    root.write_int_attribute("candidate", c.candidate);
    root.write_int_attribute("iteration", c.iteration);
    root.write_int_attribute("adam_t", c.adam_t);
    root.write_int_attribute("rng_draws", static_cast<std::int64_t>(c.rng_draws));
    root.write_int_attribute("has_kept", c.has_kept ? 1 : 0);
    root.write_int_attribute("kept_bounded_runs", c.kept_bounded_runs);
    root.write_double_attribute("kept_deviation", c.kept_deviation);
    root.write_double_attribute("seconds", c.seconds);
    root.write_vector("scheme", c.scheme);
    root.write_vector("params", c.params);
    root.write_vector("best", c.best);
    root.write_vector("adam_m", c.adam_m);
    root.write_vector("adam_v", c.adam_v);
    root.write_vector("history", to_vec(c.history));
    root.write_vector("kept", c.kept);
    root.write_vector("kept_history", to_vec(c.kept_history));
    root.write_matrix("done_schemes", rows_of(c.done_schemes));
    root.write_vector("done_seconds", to_vec(c.done_seconds));
    h5::Group histories = root.create_group("done_histories");
    for (size_t i = 0; i < c.done_histories.size(); ++i)
      histories.write_vector(std::to_string(i), to_vec(c.done_histories[i]));
    // fit on_divergence: the candidate's learning rate and counters; statuses of the kept candidate and done steps
    // (done_status: comma-separated, one per finished h).
    root.write_double_attribute("learning_rate", c.learning_rate);
    root.write_int_attribute("bad_in_a_row", c.bad_in_a_row);
    root.write_int_attribute("learning_rate_halvings", c.learning_rate_halvings);
    root.write_int_attribute("restored", c.restored ? 1 : 0);
    root.write_fixed_string_attribute("kept_status", c.kept_status);
    root.write_int_attribute("kept_halvings", c.kept_halvings);
    std::string done_status;
    for (size_t i = 0; i < c.done_status.size(); ++i) done_status += (i ? "," : "") + c.done_status[i];
    root.write_fixed_string_attribute("done_status", done_status);
    root.write_vector("done_halvings", to_vec(c.done_halvings));
  });
}

FitCheckpointFile read_fit_checkpoint(const std::filesystem::path& path) {
  const Reader r(path, "fit");
  FitCheckpointFile f;
  f.configuration = r.configuration;
  f.data_hash = r.data_hash;
  FitCheckpoint& c = f.state;
  c.h_index = static_cast<int>(r.integer("h_index"));
  c.candidate = static_cast<int>(r.integer("candidate"));
  c.iteration = static_cast<int>(r.integer("iteration"));
  c.adam_t = r.integer("adam_t");
  c.rng_draws = static_cast<std::uint64_t>(r.integer("rng_draws"));
  c.has_kept = r.integer("has_kept") != 0;
  c.kept_bounded_runs = static_cast<int>(r.integer("kept_bounded_runs"));
  c.kept_deviation = r.number("kept_deviation");
  c.seconds = r.number("seconds");
  c.scheme = r.vec("scheme");
  c.params = r.vec("params");
  c.best = r.vec("best");
  c.adam_m = r.vec("adam_m");
  c.adam_v = r.vec("adam_v");
  c.history = r.list<double>("history");
  c.kept = r.vec("kept");
  c.kept_history = r.list<double>("kept_history");
  c.done_schemes = r.vectors("done_schemes");
  c.done_seconds = r.list<double>("done_seconds");
  const h5::Group histories = r.group("done_histories");
  for (size_t i = 0; i < c.done_schemes.size(); ++i)
    c.done_histories.push_back(Reader::list_in<double>(histories, std::to_string(i)));
  // fit on_divergence
  c.learning_rate = r.number("learning_rate");
  c.bad_in_a_row = static_cast<int>(r.integer("bad_in_a_row"));
  c.learning_rate_halvings = static_cast<int>(r.integer("learning_rate_halvings"));
  c.restored = r.integer("restored") != 0;
  c.kept_status = r.string("kept_status");
  c.kept_halvings = static_cast<int>(r.integer("kept_halvings"));
  const std::string done_status = r.string("done_status");
  for (size_t start = 0; start < done_status.size();) {
    const size_t comma = std::min(done_status.find(',', start), done_status.size());
    c.done_status.push_back(done_status.substr(start, comma - start));
    start = comma + 1;
  }
  c.done_halvings = r.list<int>("done_halvings");
  return f;
}

}  // namespace trk::io
