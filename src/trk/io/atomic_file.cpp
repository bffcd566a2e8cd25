#include "trk/io/atomic_file.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace trk::io {

namespace fs = std::filesystem;

AtomicFile::AtomicFile(fs::path target) : target_(std::move(target)) {
  temp_ = target_;
  temp_ += ".tmp." + std::to_string(::getpid());
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

void AtomicFile::commit() {
  std::error_code ec;
  fs::rename(temp_, target_, ec);
  if (ec) throw std::runtime_error(target_.string() + ": cannot write (" + ec.message() + ")");
  committed_ = true;
}

void write_text_atomic(const fs::path& path, const std::string& text) {
  AtomicFile file(path);
  {
    std::ofstream out(file.temp_path(), std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(path.string() + ": cannot open for writing");
    out << text;
    out.flush();
    if (!out) throw std::runtime_error(path.string() + ": write failed");
  }
  file.commit();
}

void ensure_writable_directory(const fs::path& dir) {
  std::error_code ec;
  if (!dir.empty() && !fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) throw std::runtime_error(dir.string() + ": cannot create directory (" + ec.message() + ")");
  }
  const fs::path d = dir.empty() ? fs::path(".") : dir;
  if (!fs::is_directory(d, ec)) throw std::runtime_error(d.string() + ": not a directory");
  if (::access(d.c_str(), W_OK) != 0) throw std::runtime_error(d.string() + ": directory is not writable");
}

void check_writable_directory(const fs::path& dir) {
  std::error_code ec;
  fs::path d = dir.empty() ? fs::path(".") : dir;
  fs::path probe = d;
  while (!probe.empty() && !fs::exists(probe, ec)) probe = probe.parent_path();
  if (probe.empty()) probe = ".";
  if (!fs::is_directory(probe, ec))
    throw std::runtime_error(d.string() + ": cannot create directory (" + probe.string() + " is not a directory)");
  if (::access(probe.c_str(), W_OK) != 0)
    throw std::runtime_error(d.string() + ": directory is not writable (" + probe.string() + ")");
  std::string probe_dir = (probe / ".trk_probe_XXXXXX").string();
  if (::mkdtemp(probe_dir.data()) == nullptr)
    throw std::runtime_error(d.string() + ": cannot create directory (" + probe.string() + ": " +
                             std::strerror(errno) + ")");
  fs::remove(probe_dir, ec);
}

int remove_stale_temporaries(const fs::path& dir) {
  std::error_code ec;
  int removed = 0;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const auto at = name.rfind(".tmp.");
    if (at == std::string::npos || at + 5 >= name.size() || name.size() - at - 5 > 9 ||
        name.find_first_not_of("0123456789", at + 5) != std::string::npos)
      continue;
    const long pid = std::stol(name.substr(at + 5));
    if (pid == ::getpid() || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) {
      std::error_code rm;
      if (fs::remove(e.path(), rm)) ++removed;
    }
  }
  return removed;
}

}  // namespace trk::io
