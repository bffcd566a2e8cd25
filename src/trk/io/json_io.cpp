#include "trk/io/json_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>
#include <vector>

#include "trk/io/atomic_file.h"
#include "trk/tableau/named_tableaux.h"

namespace trk::io {

json to_json(const Mat& m) {
  json rows = json::array();
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    json r = json::array();
    for (Eigen::Index j = 0; j < m.cols(); ++j) r.push_back(m(i, j));
    rows.push_back(std::move(r));
  }
  return rows;
}

json to_json(const Vec& v) {
  json a = json::array();
  for (Eigen::Index i = 0; i < v.size(); ++i) a.push_back(v(i));
  return a;
}

json tableau_to_json(const ButcherTableau& t) {
  json j = {{"name", t.name}, {"A", to_json(t.A)}, {"b", to_json(t.b)}, {"c", to_json(t.c)}};
  if (t.error_weights) j["error_weights"] = to_json(*t.error_weights);
  return j;
}

namespace {

[[noreturn]] void fail(const std::string& where, const std::string& field, const std::string& what) {
  throw std::runtime_error(where + ": " + field + ": " + what);
}

Vec vector_field(const json& j, const std::string& where, const std::string& key) {
  if (!j.contains(key)) fail(where, key, "missing (expected an array of numbers)");
  const json& a = j.at(key);
  if (!a.is_array() || a.empty()) fail(where, key, "expected a non-empty array of numbers");
  Vec v(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_number()) fail(where, key + "[" + std::to_string(i) + "]", "expected a number");
    v(i) = a[i].get<double>();
  }
  return v;
}

}  // namespace

ButcherTableau tableau_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) fail(where, "(top level)", "expected a JSON object with A, b and c");
  for (const auto& [key, value] : j.items())
    if (key != "A" && key != "b" && key != "c" && key != "name" && key != "error_weights")
      fail(where, key, "unknown key (expected A, b, c, name, error_weights)");
  ButcherTableau t;
  t.name = j.contains("name") && j["name"].is_string() ? j["name"].get<std::string>() : where;
  t.b = vector_field(j, where, "b");
  const Eigen::Index q = t.b.size();
  if (!j.contains("A")) fail(where, "A", "missing (expected a " + std::to_string(q) + "x" + std::to_string(q) + " array)");
  const json& a = j["A"];
  if (!a.is_array() || static_cast<Eigen::Index>(a.size()) != q)
    fail(where, "A", "expected " + std::to_string(q) + " rows (the length of b)");
  t.A.resize(q, q);
  for (Eigen::Index i = 0; i < q; ++i) {
    if (!a[i].is_array() || static_cast<Eigen::Index>(a[i].size()) != q)
      fail(where, "A[" + std::to_string(i) + "]", "expected " + std::to_string(q) + " numbers");
    for (Eigen::Index k = 0; k < q; ++k) {
      if (!a[i][k].is_number()) fail(where, "A[" + std::to_string(i) + "][" + std::to_string(k) + "]", "expected a number");
      t.A(i, k) = a[i][k].get<double>();
    }
  }
  t.c = j.contains("c") ? vector_field(j, where, "c") : Vec(t.A.rowwise().sum());
  if (j.contains("error_weights")) t.error_weights = vector_field(j, where, "error_weights");
  if (auto err = t.validation_error(1e-9); !err.empty()) fail(where, "tableau", err);
  return t;
}

namespace {

// The kind of a file that is not regular, for a message ("a FIFO"); "" for a regular file.
std::string special_kind(mode_t mode) {
  if (S_ISREG(mode)) return "";
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// Reads at most max_bytes of a regular file; refuses anything else without blocking on it.
std::string read_regular_file(const std::filesystem::path& path, std::uintmax_t max_bytes) {
  const std::string name = path.string();
  // O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(name + ": cannot open (" + std::strerror(errno) + ")");
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) throw std::runtime_error(name + ": cannot read (" + std::strerror(errno) + ")");
  if (const std::string kind = special_kind(st.st_mode); !kind.empty())
    throw std::runtime_error(name + ": expected a JSON file, found " + kind);
  const auto too_large = [&] {
    return std::runtime_error(name + ": too large for a JSON file of trk (" + std::to_string(st.st_size) +
                              " bytes; at most " + std::to_string(max_bytes) + ")");
  };
  if (static_cast<std::uintmax_t>(st.st_size) > max_bytes) throw too_large();
  std::string text;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(name + ": cannot read (" + std::strerror(errno) + ")");
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max_bytes) throw too_large();  // grew while being read
  }
  return text;
}

// Refuses a key given twice in one object, naming it by its path ("training.iterations", "h[2].x"), through
// nlohmann's parser callback: object and array starts push a level, keys are checked against their object's.
class DuplicateKeyCheck {
 public:
  explicit DuplicateKeyCheck(std::string file) : file_(std::move(file)) {}
  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: levels_.emplace_back(); break;
      case json::parse_event_t::array_start:
        levels_.emplace_back();
        levels_.back().object = false;
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        levels_.pop_back();
        element_done();
        break;
      case json::parse_event_t::key: {
        Level& level = levels_.back();
        level.key = parsed.get<std::string>();
        if (!level.keys.insert(level.key).second)
          throw std::runtime_error(file_ + ": " + path() + ": duplicate key (given twice in one object; give it once)");
        break;
      }
      case json::parse_event_t::value: element_done(); break;
    }
    return true;
  }

  // Where the parser is: the key or element being read ("training.rtol").
  std::string path() const {
    std::string p;
    for (const Level& level : levels_) {
      if (level.object) p += (p.empty() ? "" : ".") + level.key;
      else p += "[" + std::to_string(level.index) + "]";
    }
    return p;
  }

 private:
  struct Level {
    bool object = true;
    std::set<std::string> keys;
    std::string key;    // object: the key being read
    long index = 0;     // array: the element being read
  };
  void element_done() {
    if (!levels_.empty() && !levels_.back().object) ++levels_.back().index;
  }
  std::string file_;
  std::vector<Level> levels_;
};

}  // namespace

json read_json_file(const std::filesystem::path& path, std::uintmax_t max_bytes) {
  const std::string text = read_regular_file(path, max_bytes);
  DuplicateKeyCheck check(path.string());
  try {
    return json::parse(text, [&check](int depth, json::parse_event_t event, json& parsed) {
      return check(depth, event, parsed);
    });
  } catch (const json::out_of_range& e) {
    // A number past a double (1e400): nlohmann says "number overflow parsing '1e400'"; name the key instead.
    std::string msg = e.what();
    const auto quote = msg.find('\'');
    const std::string number = quote == std::string::npos ? std::string("a number") : msg.substr(quote);
    throw std::runtime_error(path.string() + ": " + (check.path().empty() ? "(top level)" : check.path()) + ": " +
                             number + " is out of the range of a double (about 1e-308 to 1e308); write a finite "
                             "number");
  } catch (const json::parse_error& e) {
    std::string msg = e.what();
    for (char& c : msg)
      if (c == '\n') c = ' ';
    throw std::runtime_error(path.string() + ": invalid JSON (" + msg + ")");
  }
}

ButcherTableau resolve_scheme(const std::string& name_or_file) {
  if (is_named_tableau(name_or_file)) return named_tableau(name_or_file);
  if (std::filesystem::exists(name_or_file)) return tableau_from_json(read_json_file(name_or_file), name_or_file);
  std::string known;
  for (const auto& n : named_tableau_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::runtime_error("unknown scheme '" + name_or_file + "': neither a built-in name (" + known +
                           ") nor an existing tableau file");
}

void write_json_atomic(const std::filesystem::path& path, const json& j) {
  write_text_atomic(path, j.dump(2) + "\n");
}

}  // namespace trk::io
