// The one reading of a number given for an options field, shared by flags (their text) and config keys (JSON
// numbers): a floating-point field takes a finite double; an integer field a whole number inside the range of its
// type (2.5e3 is 2500 for both). Text is decimal, the whole of it: "", "inf", "nan", "0x10", " 5", "1e400" (past a
// double) and whole numbers past 64 bits are refused, never saturated or read as octal.
// number_as / number_from_text throw std::invalid_argument saying what was expected and what was found; the caller
// prefixes the flag or the file and key.
#pragma once
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>

namespace trk::io {

// A number as JSON holds it: a signed or unsigned 64-bit integer, or a double.
struct NumberValue {
  enum class Kind { kSigned, kUnsigned, kFloat };
  Kind kind = Kind::kSigned;
  std::int64_t i = 0;
  std::uint64_t u = 0;
  double d = 0.0;
};

namespace detail {
template <class T>
std::string range_text() {
  return std::to_string(std::numeric_limits<T>::min()) + " to " + std::to_string(std::numeric_limits<T>::max());
}
}  // namespace detail

// `v` as T; `shown` is how the value is quoted in the message.
template <class T>
T number_as(const NumberValue& v, const std::string& shown) {
  static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>);
  if constexpr (std::is_floating_point_v<T>) {
    const double d = v.kind == NumberValue::Kind::kFloat      ? v.d
                     : v.kind == NumberValue::Kind::kUnsigned ? static_cast<double>(v.u)
                                                              : static_cast<double>(v.i);
    if (!std::isfinite(d)) throw std::invalid_argument("expected a finite number, found " + shown);
    return static_cast<T>(d);
  } else {
    using L = std::numeric_limits<T>;
    const std::string out_of_range = shown + " is out of range (" + detail::range_text<T>() + ")";
    if (v.kind == NumberValue::Kind::kFloat) {
      if (!std::isfinite(v.d) || v.d != std::floor(v.d))
        throw std::invalid_argument("expected an integer, found " + shown);
      // Compared as doubles: 2^63 and 2^64 are exact, so a value at or past them is refused.
      if (v.d < static_cast<double>(L::min()) || v.d >= std::ldexp(1.0, L::digits))
        throw std::invalid_argument(out_of_range);
      return static_cast<T>(v.d);
    }
    if (v.kind == NumberValue::Kind::kUnsigned) {
      if (v.u > static_cast<std::uint64_t>(L::max())) throw std::invalid_argument(out_of_range);
      return static_cast<T>(v.u);
    }
    if (v.i < static_cast<std::int64_t>(L::min()) ||
        (v.i > 0 && static_cast<std::uint64_t>(v.i) > static_cast<std::uint64_t>(L::max())))
      throw std::invalid_argument(out_of_range);
    return static_cast<T>(v.i);
  }
}

// The text of a flag as a number (std::invalid_argument when it is none).
inline NumberValue number_of_text(const std::string& s) {
  const std::string shown = "'" + s + "'";
  if (s.empty()) throw std::invalid_argument("expected a number, found ''");
  const char* first = s.data();
  const char* last = s.data() + s.size();
  if (*first == '+') ++first;  // from_chars takes '-' only
  NumberValue v;
  if (first != last && (*first == '-' || (*first >= '0' && *first <= '9'))) {
    const bool negative = *first == '-';
    std::int64_t i = 0;
    std::uint64_t u = 0;
    const auto ri = std::from_chars(first, last, i);
    if (ri.ec == std::errc() && ri.ptr == last) {
      v.kind = NumberValue::Kind::kSigned;
      v.i = i;
      return v;
    }
    if (!negative) {
      const auto ru = std::from_chars(first, last, u);
      if (ru.ec == std::errc() && ru.ptr == last) {
        v.kind = NumberValue::Kind::kUnsigned;
        v.u = u;
        return v;
      }
    }
  }
  double d = 0.0;
  const auto rd = std::from_chars(first, last, d, std::chars_format::general);
  if (rd.ec == std::errc::result_out_of_range && rd.ptr == last)
    throw std::invalid_argument(shown + " is out of the range of a double (about 1e-308 to 1e308)");
  if (rd.ec != std::errc() || rd.ptr != last || first == last) throw std::invalid_argument("expected a number, found " + shown);
  v.kind = NumberValue::Kind::kFloat;
  v.d = d;
  return v;
}

template <class T>
T number_from_text(const std::string& s) {
  return number_as<T>(number_of_text(s), "'" + s + "'");
}

}  // namespace trk::io
