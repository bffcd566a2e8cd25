// JSON in and out: tableaux ({"A": [[...]], "b": [...], "c": [...]}), schemes given by name or file, and
// atomic writing of result tables.
#pragma once
#include <cstdint>
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

// Reads a JSON document. Refuses, with one line naming the file: a path that is not a regular file (a FIFO would
// block until a writer comes, /dev/zero never ends: checked without blocking), a file larger than `max_bytes`,
// invalid JSON, and a key repeated in one object (JSON leaves its meaning open and nlohmann keeps the last one
// silently): "cfg.json: training.iterations: duplicate key".
inline constexpr std::uintmax_t kMaxJsonFileBytes = std::uintmax_t{256} << 20;
json read_json_file(const std::filesystem::path& path, std::uintmax_t max_bytes = kMaxJsonFileBytes);
void write_json_atomic(const std::filesystem::path& path, const json& j);

json to_json(const Mat& m);  // rows as arrays
json to_json(const Vec& v);

}  // namespace trk::io
