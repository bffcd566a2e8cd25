// Command-line flags from the one declaration of an options struct (core/fields.h visit_fields): --key (with
// '-' for '_') for every field, with its help and default, and --alias when the field has one; a flag bool also has
// --no-key. Numbers (and lists of numbers) are read by io/field_number.h, the check config keys share. With a config, flags
// given on the command line win: the CLI stores them in a struct of their own and apply_given copies those.
#pragma once
#include <CLI/CLI.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "trk/core/enum_names.h"
#include "trk/core/fields.h"
#include "trk/core/number_text.h"
#include "trk/io/field_number.h"

namespace trk::cli {

inline std::string flag_name(const char* key) {
  std::string s = std::string("--") + key;
  for (char& c : s)
    if (c == '_') c = '-';
  return s;
}

template <class T>
struct is_list : std::false_type {
  using value_type = void;
};
template <class T>
struct is_list<std::vector<T>> : std::true_type {
  using value_type = T;
};

// The elements of a list flag: each text given split at its commas, within optional brackets ("[64,64]", the form
// --help shows). An empty element ("3,,4", "3,", ",4", "[3,,4]") is refused naming the flag: CLI11's own delimiter
// and bracket reading would drop it, and "--widths 3,,4" would silently train widths 3,4. A text without a comma is
// one element (an empty one is left to the element's own reading: "expected a number, found ''").
inline std::vector<std::string> list_elements(const std::string& flag, const CLI::results_t& texts) {
  std::vector<std::string> out;
  for (const std::string& given : texts) {
    const bool brackets = given.size() >= 2 && given.front() == '[' && given.back() == ']';
    const std::string text = brackets ? given.substr(1, given.size() - 2) : given;
    if (text.find(',') == std::string::npos) {
      out.push_back(text);
      continue;
    }
    size_t start = 0, position = 1;
    for (;; ++position) {
      const size_t comma = text.find(',', start);
      const std::string element = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (element.empty())
        throw std::invalid_argument(flag + ": element " + std::to_string(position) + " of '" + given +
                                    "' is empty; separate the values by single commas");
      out.push_back(element);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

// A number flag (or a list of numbers, comma-separated) read strictly (io/field_number.h): "--iterations ''",
// "--rtol inf", "--seed 99999999999999999999" and "--iterations 010" are refused naming the flag. The help shows
// the type and default CLI11 shows for `add_option(names, member)`.
template <class T>
CLI::Option* add_number(CLI::App* cmd, const std::string& names, T& member, const std::string& help) {
  std::string flag = names;  // "--step,--h": "--step/--h"
  std::replace(flag.begin(), flag.end(), ',', '/');
  auto one = [flag](const std::string& text) {
    using E = std::conditional_t<is_list<T>::value, typename is_list<T>::value_type, T>;
    try {
      return io::number_from_text<E>(text);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(flag + ": " + e.what());
    }
  };
  // As CLI11's add_option(names, member, help), with `one` for its conversion.
  auto assign = [&member, one, flag](const CLI::results_t& texts) {
    if constexpr (is_list<T>::value) {
      T values;
      for (const auto& t : list_elements(flag, texts)) values.push_back(one(t));
      member = values;
    } else {
      member = one(texts.empty() ? std::string() : texts.front());
    }
    return true;
  };
  CLI::Option* opt = cmd->add_option(names, assign, help, false,
                                     [&member] { return CLI::detail::checked_to_string<T, T>(member); });
  opt->type_name(CLI::detail::type_name<T>());
  opt->type_size(CLI::detail::type_count_min<T>::value, CLI::detail::type_count<T>::value);
  opt->expected(CLI::detail::expected_count<T>::value);
  // A list is one word ("--widths 64,64"): CLI11 would read "[3,,4]" itself, dropping the empty element.
  if constexpr (is_list<T>::value) opt->allow_extra_args(false);
  return opt;
}

// A check of a number flag: its value is at least `min` ("--forecast-every: expected a number >= 1, found 0");
// `shown` is how --help names it (NONNEGATIVE, POSITIVE).
// CLI11's NonNegativeNumber and PositiveNumber print their range with std::to_string (a 310-digit maximum). Text
// that is no number passes here and is refused by the flag's own reading (add_number).
inline CLI::Validator at_least(double min, const std::string& shown) {
  return CLI::Validator(
      [min](std::string& text) {
        double v = 0;
        try {
          v = io::number_from_text<double>(text);
        } catch (const std::invalid_argument&) {
          return std::string();
        }
        return v >= min ? std::string() : "expected a number >= " + number_text(min) + ", found " + text;
      },
      shown);
}

template <class O>
void add_flags(CLI::App* cmd, O& o) {
  visit_fields(o, [&](const Field& f, auto& member) {
    using T = std::decay_t<decltype(member)>;
    const std::string flag = flag_name(f.key);
    const std::string names = f.alias ? flag + "," + flag_name(f.alias) : flag;
    if constexpr (std::is_same_v<T, bool>) {
      cmd->add_flag(names + ",!--no-" + flag.substr(2), member, f.help)->capture_default_str();
    } else if constexpr (NamedEnum<T>) {
      cmd->add_option_function<std::string>(
             names, [&member, key = f.key](const std::string& s) { member = parse_enum_or_throw<T>(s, key); },
             std::string(f.help))
          ->default_str(to_string(member));
    } else if constexpr (std::is_arithmetic_v<T> ||
                         (is_list<T>::value && std::is_arithmetic_v<typename is_list<T>::value_type>)) {
      add_number(cmd, names, member, f.help)->capture_default_str();
    } else if constexpr (is_list<T>::value) {
      const std::string shown = f.alias ? flag + "/" + flag_name(f.alias) : flag;
      CLI::Option* opt = cmd->add_option(
          names,
          [&member, shown](const CLI::results_t& texts) {
            const std::vector<std::string> elements = list_elements(shown, texts);
            member.assign(elements.begin(), elements.end());
            return true;
          },
          f.help, false, [&member] { return CLI::detail::checked_to_string<T, T>(member); });
      opt->type_name(CLI::detail::type_name<T>());
      opt->type_size(CLI::detail::type_count_min<T>::value, CLI::detail::type_count<T>::value);
      opt->expected(CLI::detail::expected_count<T>::value);
      opt->allow_extra_args(false);
      opt->capture_default_str();
    } else {
      cmd->add_option(names, member, f.help)->capture_default_str();
    }
  });
}

// The fields whose flag was given on `cmd`, copied from `flags` (the struct the flags were stored in) into `o`.
template <class O>
void apply_given(O& o, O& flags, const CLI::App* cmd) {
  std::vector<void*> from;
  visit_fields(flags, [&](const Field&, auto& member) { from.push_back(&member); });
  size_t i = 0;
  visit_fields(o, [&](const Field& f, auto& member) {
    if (cmd->count(flag_name(f.key)) > 0) member = *static_cast<std::decay_t<decltype(member)>*>(from[i]);
    ++i;
  });
}

}  // namespace trk::cli
