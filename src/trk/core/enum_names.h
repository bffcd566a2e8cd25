// Names of the user-facing enums: one table per enum (a specialisation of EnumNames) gives to_string, parse_enum
// and the list of choices, so flags, JSON, checkpoints and reports spell a value the same way.
#pragma once
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace trk {

// template <> struct EnumNames<E> { static constexpr std::pair<E, const char*> items[] = {{E::kA, "a"}, ...}; };
template <class E>
struct EnumNames;

template <class E>
concept NamedEnum = requires { EnumNames<E>::items; };

template <NamedEnum E>
std::string to_string(E e) {
  for (const auto& [value, name] : EnumNames<E>::items)
    if (value == e) return name;
  return "unknown";
}

template <NamedEnum E>
std::optional<E> parse_enum(std::string_view s) {
  for (const auto& [value, name] : EnumNames<E>::items)
    if (name == s) return value;
  return std::nullopt;
}

// "a, b, c"
template <NamedEnum E>
std::string enum_choices(std::string_view separator = ", ") {
  std::string out;
  for (const auto& [value, name] : EnumNames<E>::items) out += (out.empty() ? "" : std::string(separator)) + name;
  return out;
}

// Throws std::invalid_argument "unknown <what> '<s>' (a, b, c)".
template <NamedEnum E>
E parse_enum_or_throw(std::string_view s, std::string_view what) {
  if (auto v = parse_enum<E>(s)) return *v;
  throw std::invalid_argument("unknown " + std::string(what) + " '" + std::string(s) + "' (" + enum_choices<E>() + ")");
}

}  // namespace trk
