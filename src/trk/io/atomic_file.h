// Output files are written to a temporary name beside the target and renamed into place on commit, so that a
// killed run never leaves a half-written result.
//
// What may be replaced: a target that does not exist or is a regular file. Anything else (a symbolic link, to a
// file or not; a device node such as /dev/null, a FIFO, a socket, a folder) is refused before anything is written,
// so that running as root never turns /dev/null into a regular file and a link is never replaced by a file.
//
// Temporary names: ".trk-tmp.<pid>.<n>.<target name>" in the target's folder, cut to 255 bytes (NAME_MAX) at a
// UTF-8 character boundary; a name no user would choose. remove_stale_temporaries() removes only names of that
// form whose process no longer runs, and only regular files owned by this user.
#pragma once
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace trk::io {

class AtomicFile {
 public:
  // Checks that `target` may be replaced (see above; throws std::runtime_error naming it) and picks the
  // temporary name. Creates nothing.
  explicit AtomicFile(std::filesystem::path target);
  ~AtomicFile();  // removes the temporary file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::filesystem::path& temp_path() const { return temp_; }
  const std::filesystem::path& target() const { return target_; }
  // Writes `size` bytes to the temporary file (created new, mode 0666 & ~umask). Throws std::runtime_error naming
  // the target on failure (disk full: ENOSPC; file-size limit: EFBIG, SIGXFSZ being ignored by main) and removes
  // the temporary file.
  void write(const void* data, std::size_t size);
  // Renames the temporary file onto the target, checking the target again just before (it must still be absent or
  // a regular file). Throws std::runtime_error on failure.
  void commit();

 private:
  std::filesystem::path target_, temp_;
  bool written_ = false, committed_ = false;
  int slot_ = -1;  // in the list remove_temporaries_being_written reads
};

// Removes the temporary files of the AtomicFiles alive (being written, not yet renamed into place). Only unlink(2)
// on fixed buffers: async-signal-safe, for a handler of a signal that ends the process (cli/main.cpp, a second
// SIGINT or SIGTERM during a checkpoint or model write).
void remove_temporaries_being_written() noexcept;

// Writes `text` to `path` atomically. Throws std::runtime_error naming the path on failure.
void write_text_atomic(const std::filesystem::path& path, const std::string& text);

// Throws std::runtime_error "<path>: not a regular file (a character device); trk replaces only regular files"
// unless `path` is absent or a regular file (a symbolic link is refused). Also refuses an empty path or one that names a folder
// ("out/"). For a command's outputs, call it before the work so that the refusal costs nothing.
void check_replaceable(const std::filesystem::path& path);

// The temporary name AtomicFile uses for `target` in process `pid` (the n-th AtomicFile of that process).
std::filesystem::path temporary_name(const std::filesystem::path& target, long pid, unsigned n);

// Creates `dir` (and parents) if needed and checks it is writable; throws std::runtime_error naming it.
void ensure_writable_directory(const std::filesystem::path& dir);
// Checks that `dir` is a writable directory or could be created (its nearest existing ancestor is a directory
// where a probe directory can be made and removed: root's access() says yes to /proc). Leaves nothing behind.
// For long runs: refuse before the work, create at the end.
void check_writable_directory(const std::filesystem::path& dir);

// The folders a command creates for its outputs: create(dir) makes `dir` and its missing parents and remembers
// which ones it made; unless keep() is called, the destructor removes those that are still empty (innermost first),
// so a refused or failed write leaves no empty folder behind.
class NewDirectories {
 public:
  NewDirectories() = default;
  ~NewDirectories();
  NewDirectories(const NewDirectories&) = delete;
  NewDirectories& operator=(const NewDirectories&) = delete;
  void create(const std::filesystem::path& dir);  // as ensure_writable_directory
  void keep() { created_.clear(); }

 private:
  std::vector<std::filesystem::path> created_;  // outermost first
};

// Removes the temporary files that killed trk processes left in `dir`: names made by temporary_name() whose pid no
// longer runs (or is this process's: a reused pid), that are regular files owned by this user. Nothing else is
// touched (a user's "thesis.tex.tmp.4194000" stays). Returns how many were removed.
int remove_stale_temporaries(const std::filesystem::path& dir);

}  // namespace trk::io
