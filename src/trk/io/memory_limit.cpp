#include "trk/io/memory_limit.h"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace trk::io {

namespace {

std::optional<std::uint64_t> limit_override;

// The first number of a file such as /sys/fs/cgroup/memory.max ("max" or absent: nullopt).
std::optional<std::uint64_t> read_number(const char* path) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word) || word.empty() || !std::isdigit(static_cast<unsigned char>(word[0]))) return std::nullopt;
  return std::stoull(word);
}

std::optional<std::uint64_t> mem_available() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  std::uint64_t kb = 0;
  while (in >> key >> kb) {
    std::getline(in, unit);
    if (key == "MemAvailable:") return kb * 1024;
  }
  return std::nullopt;
}

}  // namespace

std::uint64_t available_memory_bytes() {
  std::uint64_t bytes = std::numeric_limits<std::uint64_t>::max();
  if (auto m = mem_available()) bytes = std::min(bytes, *m);
  if (auto max = read_number("/sys/fs/cgroup/memory.max")) {
    const std::uint64_t used = read_number("/sys/fs/cgroup/memory.current").value_or(0);
    bytes = std::min(bytes, *max > used ? *max - used : 0);
  }
  for (int resource : {RLIMIT_AS, RLIMIT_DATA}) {
    struct rlimit r;
    if (::getrlimit(resource, &r) == 0 && r.rlim_cur != RLIM_INFINITY)
      bytes = std::min(bytes, static_cast<std::uint64_t>(r.rlim_cur));
  }
  return bytes;
}

void set_memory_limit(std::uint64_t bytes) { limit_override = bytes; }

std::uint64_t thread_stack_bytes() {
  struct rlimit r;
  if (::getrlimit(RLIMIT_STACK, &r) == 0 && r.rlim_cur != RLIM_INFINITY && r.rlim_cur > 0)
    return static_cast<std::uint64_t>(r.rlim_cur);
  return std::uint64_t{8} << 20;
}

std::uint64_t memory_limit() { return limit_override ? *limit_override : available_memory_bytes(); }

std::string memory_limit_source() { return limit_override ? "--max-memory" : "available memory"; }

std::uint64_t parse_memory_size(const std::string& text) {
  const auto bad = [&] {
    return std::invalid_argument("'" + text + "': expected a size such as 512M, 2G or 1.5GB (bytes without a unit)");
  };
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    throw bad();
  }
  std::string unit = text.substr(used);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.size() > 1 && unit.back() == 'B') unit.pop_back();
  if (unit.size() > 1 && unit.back() == 'I') unit.pop_back();
  const std::string units = "BKMGT";
  const std::size_t power = unit.empty() ? 0 : units.find(unit);
  if (!(std::isfinite(value) && value >= 0) || unit.size() > 1 || power == std::string::npos) throw bad();
  const double bytes = value * std::pow(1024.0, static_cast<double>(power));
  if (bytes >= 1.8e19) throw bad();
  return static_cast<std::uint64_t>(bytes);
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB", "PB"};
  int u = 0;
  while (bytes >= 1024 && u < 5) {
    bytes /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.{}f} {}", bytes, bytes < 10 ? 1 : 0, units[u]);
}

}  // namespace trk::io
