// A double as the shortest text that reads back as the same double ("1e-300", "0.1", "inf"), for messages: the
// six fixed decimals of std::to_string print 1e-300 as 0.000000.
#pragma once
#include <charconv>
#include <string>

namespace trk {

inline std::string number_text(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace trk
