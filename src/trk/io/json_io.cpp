#include "trk/io/json_io.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

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

json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path.string() + ": cannot open (missing or unreadable)");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return json::parse(ss.str());
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
