// Command-line flags from the one declaration of an options struct (core/fields.h visit_fields): --key (with
// '-' for '_') for every field, with its help and default, and --alias when the field has one; a flag bool also has
// --no-key. With a config, flags
// given on the command line win: the CLI stores them in a struct of their own and apply_given copies those.
#pragma once
#include <CLI/CLI.hpp>

#include <string>
#include <type_traits>
#include <vector>

#include "trk/core/enum_names.h"
#include "trk/core/fields.h"

namespace trk::cli {

inline std::string flag_name(const char* key) {
  std::string s = std::string("--") + key;
  for (char& c : s)
    if (c == '_') c = '-';
  return s;
}

template <class T>
struct is_list : std::false_type {};
template <class T>
struct is_list<std::vector<T>> : std::true_type {};

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
