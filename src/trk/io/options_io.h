// Options structs in and out of JSON through their one declaration (core/fields.h visit_fields):
//   read_fields: the keys of a config object into the options; an unknown key, a wrong type or a number out of
//     the range of the field's type (an integer field takes whole numbers only) is refused with
//     "<file>: <section>.<key>: <what>";
//   fields_to_json: the configuration echo, one key per field (fields with echoed = false left out).
#pragma once
#include <cmath>
#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "trk/core/enum_names.h"
#include "trk/core/fields.h"
#include "trk/io/field_number.h"
#include "trk/io/json_io.h"

namespace trk::io {

namespace detail {

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

[[noreturn]] inline void refuse(const std::string& where, const std::string& what) {
  throw std::runtime_error(where + ": " + what);
}

// One JSON value as T; `where` names file and field.
template <class T>
T value_as(const json& j, const std::string& where) {
  if constexpr (NamedEnum<T>) {
    if (!j.is_string()) refuse(where, std::string("wrong type: ") + "expected one of " + enum_choices<T>());
    const auto v = parse_enum<T>(j.get<std::string>());
    if (!v) refuse(where, "unknown value '" + j.get<std::string>() + "' (" + enum_choices<T>() + ")");
    return *v;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!j.is_boolean()) refuse(where, std::string("wrong type: ") + "expected true or false");
    return j.get<bool>();
  } else if constexpr (std::is_arithmetic_v<T>) {
    if (!j.is_number())
      refuse(where, std::string("wrong type: ") + (std::is_integral_v<T> ? "expected an integer" : "expected a number"));
    NumberValue v;
    if (j.is_number_float()) {
      v.kind = NumberValue::Kind::kFloat;
      v.d = j.get<double>();
    } else if (j.is_number_unsigned()) {
      v.kind = NumberValue::Kind::kUnsigned;
      v.u = j.get<std::uint64_t>();
    } else {
      v.i = j.get<std::int64_t>();
    }
    try {
      return number_as<T>(v, j.dump());
    } catch (const std::invalid_argument& e) {
      refuse(where, e.what());
    }
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!j.is_string()) refuse(where, std::string("wrong type: ") + "expected a string");
    return j.get<std::string>();
  } else if constexpr (is_vector<T>::value) {
    if (!j.is_array()) refuse(where, std::string("wrong type: ") + "expected a list");
    T out;
    for (size_t i = 0; i < j.size(); ++i)
      out.push_back(value_as<typename T::value_type>(j[i], where + "[" + std::to_string(i) + "]"));
    return out;
  } else {
    static_assert(sizeof(T) == 0, "a field type without a JSON reading");
  }
}

template <class T>
json value_to_json(const T& v) {
  if constexpr (NamedEnum<T>)
    return to_string(v);
  else
    return json(v);
}

}  // namespace detail

// The keys of `obj` ("<file>: <section>" in errors is `where`) into o; keys not declared are refused.
template <class O>
void read_fields(const json& obj, const std::string& where, O& o) {
  if (!obj.is_object()) detail::refuse(where, "expected an object");
  std::set<std::string> known;
  visit_fields(o, [&](const Field& f, auto&) { known.insert(f.key); });
  for (const auto& [k, v] : obj.items())
    if (!known.count(k)) detail::refuse(where + "." + k, "unknown key");
  visit_fields(o, [&](const Field& f, auto& member) {
    if (obj.contains(f.key))
      member = detail::value_as<std::decay_t<decltype(member)>>(obj.at(f.key), where + "." + f.key);
  });
}

template <class O>
json fields_to_json(O o) {
  json out = json::object();
  visit_fields(o, [&](const Field& f, auto& member) {
    if (f.echoed) out[f.key] = detail::value_to_json(member);
  });
  return out;
}

// The value of `key` in a config object as T (`fallback` when absent); errors name file and key.
template <class T>
T read_key(const json& obj, const char* key, const std::string& file, T fallback) {
  if (!obj.is_object()) detail::refuse(file, "expected a JSON object");
  if (!obj.contains(key)) return fallback;
  return detail::value_as<T>(obj.at(key), file + ": " + key);
}

inline void refuse_unknown_keys(const json& obj, const std::string& file, const std::vector<std::string>& keys) {
  if (!obj.is_object()) detail::refuse(file, "expected a JSON object");
  for (const auto& [k, v] : obj.items())
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) detail::refuse(file + ": " + k, "unknown key");
}

// A config's "parameters": {"name": number, ...} (system parameters).
inline std::map<std::string, double> read_parameters(const json& obj, const std::string& file) {
  std::map<std::string, double> p;
  if (!obj.contains("parameters")) return p;
  const json& j = obj.at("parameters");
  if (!j.is_object()) detail::refuse(file + ": parameters", "expected an object of numbers");
  for (const auto& [k, v] : j.items()) p[k] = detail::value_as<double>(v, file + ": parameters." + k);
  return p;
}

}  // namespace trk::io
