// How much memory a run may take: what the machine can give this process now, or a limit the user set
// (--max-memory). Readers of user files (dataset_io) refuse declared sizes beyond it before allocating them; the
// command line compares the memory estimate of a run (experiment/memory_estimate.h) with it before starting.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace trk::io {

// The smallest of: MemAvailable of /proc/meminfo, the cgroup's memory.max minus memory.current (cgroup v2), and
// RLIMIT_AS / RLIMIT_DATA; those that cannot be read are skipped (none readable: the largest uint64).
std::uint64_t available_memory_bytes();

// The process-wide limit: set_memory_limit's value (--max-memory) when one was set, else available_memory_bytes()
// at the time of the call. memory_limit_source() names it for messages: "--max-memory" or "available memory".
void set_memory_limit(std::uint64_t bytes);
std::uint64_t memory_limit();
std::string memory_limit_source();

// The stack of a new thread: the soft RLIMIT_STACK (ulimit -s), 8 MiB when unlimited or unreadable.
std::uint64_t thread_stack_bytes();

// "512M", "2G", "1.5GB", "4096" (bytes), "3GiB": binary units (K = 1024); throws std::invalid_argument naming the
// text unless it is a finite number >= 0 with an optional unit B, K, M, G, T (with or without "B" / "iB").
std::uint64_t parse_memory_size(const std::string& text);

// 1536 -> "1.5 KB", 3.2e9 -> "3.0 GB" (binary units, two or three significant digits).
std::string format_bytes(double bytes);

}  // namespace trk::io
