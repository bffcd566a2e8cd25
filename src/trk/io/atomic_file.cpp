#include "trk/io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace trk::io {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kTempPrefix = ".trk-tmp.";
constexpr std::size_t kNameMax = 255;  // NAME_MAX of Linux file systems, in bytes

[[noreturn]] void fail(const fs::path& path, const std::string& what) {
  throw std::runtime_error((path.empty() ? std::string("(empty path)") : path.string()) + ": " + what);
}

std::string errno_text(int err) { return std::strerror(err); }

// "a character device", "a FIFO", ... for a file that is not regular; "" for a regular file or none.
std::string non_regular_kind(const fs::path& path) {
  struct stat st;
  // A link (to a file, a loop, dangling) is not replaced by a file: the rename would put a file at its place.
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) return "a symbolic link";
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return "";  // absent, or a dangling link (replaced as a new file)
    return "";                       // unreadable metadata: let the write report it
  }
  if (S_ISREG(st.st_mode)) return "";
  if (S_ISCHR(st.st_mode)) return "a character device";
  if (S_ISBLK(st.st_mode)) return "a block device";
  if (S_ISFIFO(st.st_mode)) return "a FIFO";
  if (S_ISSOCK(st.st_mode)) return "a socket";
  if (S_ISDIR(st.st_mode)) return "a folder";
  return "not a regular file";
}

// Keeps the first `max` bytes of `s`, not cutting a UTF-8 character.
std::string utf8_prefix(const std::string& s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

std::atomic<unsigned> temp_counter{0};

// The temporaries of the AtomicFiles alive, for remove_temporaries_being_written (a signal handler): fixed buffers,
// a slot readable only while `ready` is set.
struct TempSlot {
  std::atomic<bool> taken{false}, ready{false};
  char path[4096] = {};
};
TempSlot temp_slots[8];

int register_temp(const fs::path& temp) {
  const std::string& s = temp.native();
  if (s.size() >= sizeof temp_slots[0].path) return -1;
  for (int i = 0; i < 8; ++i) {
    bool free = false;
    if (temp_slots[i].taken.compare_exchange_strong(free, true)) {
      std::memcpy(temp_slots[i].path, s.c_str(), s.size() + 1);
      temp_slots[i].ready.store(true);
      return i;
    }
  }
  return -1;  // more than 8 at once: that one is left to remove_stale_temporaries
}

void unregister_temp(int slot) {
  if (slot < 0) return;
  temp_slots[slot].ready.store(false);
  temp_slots[slot].taken.store(false);
}

}  // namespace

fs::path temporary_name(const fs::path& target, long pid, unsigned n) {
  const std::string head = std::string(kTempPrefix) + std::to_string(pid) + "." + std::to_string(n) + ".";
  return target.parent_path() / (head + utf8_prefix(target.filename().string(), kNameMax - head.size()));
}

void check_replaceable(const fs::path& path) {
  if (path.empty()) fail(path, "expected a file name");
  if (!path.has_filename() || path.filename() == "." || path.filename() == "..")
    fail(path, "expected a file name, found a folder");
  if (const std::string kind = non_regular_kind(path); !kind.empty())
    fail(path, "not a regular file (" + kind + "); trk replaces only regular files" +
                   (kind == "a symbolic link" ? " (give the file it points to as the output, or remove the link)" : ""));
}

AtomicFile::AtomicFile(fs::path target) : target_(std::move(target)) {
  check_replaceable(target_);
  temp_ = temporary_name(target_, ::getpid(), temp_counter++);
  slot_ = register_temp(temp_);
}

AtomicFile::~AtomicFile() {
  unregister_temp(slot_);
  if (!committed_) {
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

void remove_temporaries_being_written() noexcept {
  for (TempSlot& slot : temp_slots)
    if (slot.ready.load()) ::unlink(slot.path);
}

void AtomicFile::write(const void* data, std::size_t size) {
  // O_EXCL | O_NOFOLLOW: never write through a link or into a file that is not ours. A file of this name can only
  // be left by a killed process that had our pid: remove it and try once more.
  int fd = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd < 0 && errno == EEXIST) {
    struct stat st;
    if (::lstat(temp_.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid()) ::unlink(temp_.c_str());
    fd = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  }
  if (fd < 0) fail(target_, "cannot write (" + errno_text(errno) + ")");
  written_ = true;
  const char* p = static_cast<const char*>(data);
  std::size_t left = size;
  int err = 0;
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : ENOSPC;
      break;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0 && err == 0) err = errno;  // delayed allocation reports a full disk here
  if (err != 0) {
    std::error_code ec;
    fs::remove(temp_, ec);
    fail(target_, "cannot write (" + errno_text(err) + ")");
  }
}

void AtomicFile::commit() {
  if (const std::string kind = non_regular_kind(target_); !kind.empty())
    fail(target_, "not a regular file (" + kind + "); trk replaces only regular files");
  // A target that is absent now is created with RENAME_NOREPLACE, so that a device or FIFO made in between is not
  // replaced; if something appeared, it is checked again.
  std::error_code exists_ec;
  if (!fs::exists(fs::symlink_status(target_, exists_ec))) {
    if (::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, target_.c_str(), RENAME_NOREPLACE) == 0) {
      committed_ = true;
      return;
    }
    if (errno != EEXIST && errno != EINVAL && errno != ENOSYS)
      fail(target_, "cannot write (" + errno_text(errno) + ")");
    if (const std::string kind = non_regular_kind(target_); !kind.empty())
      fail(target_, "not a regular file (" + kind + "); trk replaces only regular files");
  }
  if (::rename(temp_.c_str(), target_.c_str()) != 0) fail(target_, "cannot write (" + errno_text(errno) + ")");
  committed_ = true;
}

void write_text_atomic(const fs::path& path, const std::string& text) {
  AtomicFile file(path);
  file.write(text.data(), text.size());
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

NewDirectories::~NewDirectories() {
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    std::error_code ec;
    if (fs::is_directory(*it, ec) && fs::is_empty(*it, ec)) fs::remove(*it, ec);
  }
}

void NewDirectories::create(const fs::path& dir) {
  std::vector<fs::path> missing;  // innermost first
  std::error_code ec;
  for (fs::path p = dir; !p.empty() && !fs::exists(fs::symlink_status(p, ec)); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (!fs::create_directory(*it, ec) && ec)
      throw std::runtime_error(dir.string() + ": cannot create directory (" + ec.message() + ")");
    created_.push_back(*it);
  }
  ensure_writable_directory(dir);
}

int remove_stale_temporaries(const fs::path& dir) {
  std::error_code ec;
  int removed = 0;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    // ".trk-tmp.<pid>.<n>.<name>": the pid and n in digits, checked in full before anything is removed.
    const std::string name = e.path().filename().string();
    if (name.rfind(kTempPrefix, 0) != 0) continue;
    const std::size_t pid_at = kTempPrefix.size(), pid_end = name.find('.', pid_at);
    if (pid_end == std::string::npos || pid_end == pid_at || pid_end - pid_at > 9) continue;
    const std::size_t n_end = name.find('.', pid_end + 1);
    if (n_end == std::string::npos || n_end == pid_end + 1 || n_end - pid_end - 1 > 10) continue;
    const auto digits = [&](std::size_t from, std::size_t to) {
      return name.find_first_not_of("0123456789", from) >= to;
    };
    if (!digits(pid_at, pid_end) || !digits(pid_end + 1, n_end)) continue;
    const long pid = std::stol(name.substr(pid_at, pid_end - pid_at));
    struct stat st;
    if (::lstat(e.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) continue;
    if (pid == ::getpid() || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) {
      std::error_code rm;
      if (fs::remove(e.path(), rm)) ++removed;
    }
  }
  return removed;
}

}  // namespace trk::io
