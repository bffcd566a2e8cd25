// JSON in and out: tableaux ({"A": [[...]], "b": [...], "c": [...]}), schemes given by name or file, and
// atomic writing of result tables.
#pragma once
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "trk/tableau/butcher_tableau.h"

namespace trk::io {

using nlohmann::json;

// {"name", "A", "b", "c"} (+ "error_weights" when present).
json tableau_to_json(const ButcherTableau& t);
// Parses {"A": [[...]], "b": [...], "c": [...] (optional: row sums), "name": "..." (optional)}, validated.
// Throws std::runtime_error "<where>: <field>: <expected>" in one line.
ButcherTableau tableau_from_json(const json& j, const std::string& where);
// A built-in name (named_tableaux.h) or the path of a JSON tableau file.
ButcherTableau resolve_scheme(const std::string& name_or_file);

json read_json_file(const std::filesystem::path& path);  // one-line error naming the file on failure
void write_json_atomic(const std::filesystem::path& path, const json& j);

json to_json(const Mat& m);  // rows as arrays
json to_json(const Vec& v);

}  // namespace trk::io
