// Command-line flags from the one declaration of an options struct (core/fields.h visit_fields): --key (with
// '-' for '_') for every field, with its help and default, and --alias when the field has one; a flag bool also has
// --no-key. Numbers (and lists of numbers) are read by io/field_number.h, the check config keys share. With a config, flags
// given on the command line win: the CLI stores them in a struct of their own and apply_given copies those.
#pragma once
#include <CLI/CLI.hpp>

#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

#include "trk/core/enum_names.h"
#include "trk/core/fields.h"
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
  auto assign = [&member, one](const CLI::results_t& texts) {
    if constexpr (is_list<T>::value) {
      T values;
      for (const auto& t : texts) values.push_back(one(t));
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
  if constexpr (is_list<T>::value) opt->delimiter(',');
  return opt;
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
      cmd->add_option(names, member, f.help)->delimiter(',')->capture_default_str();
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
