#include "trk/io/scheme_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "trk/io/guarded_read.h"
#include "trk/io/hdf5_util.h"
#include "trk/io/json_io.h"
#include "trk/io/model_io.h"
#include "trk/tableau/named_tableaux.h"

namespace trk::io {

namespace {

bool is_hdf5(const std::filesystem::path& p) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(p, ec)) return false;
  FILE* f = std::fopen(p.c_str(), "rb");
  if (!f) return false;
  unsigned char sig[8] = {};
  const size_t n = std::fread(sig, 1, 8, f);
  std::fclose(f);
  static const unsigned char kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  return n == 8 && std::equal(sig, sig + 8, kSignature);
}

std::string step_text(double h) { return fmt::format("{}", h); }

ButcherTableau from_fit(const std::string& file, const json& j, const std::string& selector) {
  if (!j.contains("rows") || !j["rows"].is_array()) throw std::runtime_error(file + ": rows: expected an array");
  double want_h = std::nan("");
  std::string want_scheme;
  // selector: "h=0.17" or "h=0.17,scheme=rk4" (either key alone)
  size_t start = 0;
  while (start < selector.size()) {
    const size_t comma = selector.find(',', start);
    const std::string item = selector.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (key == "h" && !value.empty()) {
      try {
        want_h = std::stod(value);
      } catch (const std::exception&) {
        throw std::runtime_error(file + "#" + selector + ": h=" + value + ": expected a number");
      }
    } else if (key == "scheme" && !value.empty()) {
      want_scheme = value;
    } else {
      throw std::runtime_error(file + "#" + selector + ": expected a selector h=H[,scheme=NAME]");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::vector<const json*> matches;
  std::string offered;
  for (const json& row : j["rows"]) {
    if (!row.is_object() || !row.contains("h") || !row.contains("scheme") || !row.contains("tableau")) continue;
    const double h = row["h"].get<double>();
    const std::string scheme = row["scheme"].get<std::string>();
    const bool trained = row.value("trained", false);
    offered += (offered.empty() ? "" : ", ") + fmt::format("h={},scheme={}", step_text(h), scheme);
    const bool h_ok = std::isnan(want_h) || std::abs(h - want_h) <= 1e-12 * std::max(1.0, std::abs(h));
    const bool scheme_ok = want_scheme.empty() ? (trained || selector.empty()) : scheme == want_scheme;
    if (h_ok && scheme_ok) matches.push_back(&row);
  }
  if (matches.size() != 1)
    throw std::runtime_error(fmt::format("{}{}: {} rows match; choose one with {}#h=H[,scheme=NAME] (rows: {})", file,
                                         selector.empty() ? "" : "#" + selector, matches.size(), file, offered));
  const json& row = *matches.front();
  ButcherTableau t = tableau_from_json(row["tableau"], file + ": tableau");
  t.name = fmt::format("{} h={} (fit)", row["scheme"].get<std::string>(), step_text(row["h"].get<double>()));
  return t;
}

}  // namespace

ButcherTableau resolve_scheme_source(const std::string& spec) {
  if (is_named_tableau(spec)) return named_tableau(spec);
  std::string file = spec, selector;
  if (const size_t hash = spec.rfind('#'); hash != std::string::npos && !std::filesystem::exists(spec)) {
    file = spec.substr(0, hash);
    selector = spec.substr(hash + 1);
  }
  if (!std::filesystem::exists(file)) return resolve_scheme(spec);  // its message lists the built-in names
  require_regular_file(file, "a scheme file (JSON tableau, model.h5, identify.json or fit.json)");
  if (is_hdf5(file)) {
    if (!selector.empty()) throw std::runtime_error(spec + ": a selector (#...) is for fit.json rows");
    LoadedModel m = read_hdf5_guarded(file, "a model.h5 of trk identify", [&] { return read_model_h5(file); });
    ButcherTableau t = m.flow_map.tableau;
    t.name = fmt::format("{} h={} (model.h5)", m.flow_map.solver.name, step_text(m.flow_map.h));
    return t;
  }
  const json j = read_json_file(file);
  const std::string format = j.is_object() && j.contains("format") && j["format"].is_string() ? j["format"].get<std::string>() : "";
  if (format == "trk-fit") return from_fit(file, j, selector);
  if (!selector.empty()) throw std::runtime_error(spec + ": a selector (#...) is for fit.json rows");
  if (format == "trk-identify") {
    if (!j.contains("tableau"))
      throw std::runtime_error(file + ": tableau: missing (solver " + j.value("solver", std::string("?")) +
                               " has no fixed tableau; its model.h5 names the adaptive pair)");
    ButcherTableau t = tableau_from_json(j["tableau"], file + ": tableau");
    t.name = fmt::format("{} h={} (identify)", j.value("solver", std::string("?")),
                         step_text(j.value("h", std::nan(""))));
    return t;
  }
  return resolve_scheme(file);
}

}  // namespace trk::io
