// Output files are written to a temporary name beside the target and renamed into place on commit,
// so that a killed run never leaves a half-written result.
#pragma once
#include <filesystem>
#include <string>

namespace trk::io {

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path target);
  ~AtomicFile();  // removes the temporary file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::filesystem::path& temp_path() const { return temp_; }
  const std::filesystem::path& target() const { return target_; }
  void commit();  // rename temp -> target; throws std::runtime_error on failure

 private:
  std::filesystem::path target_, temp_;
  bool committed_ = false;
};

// Writes `text` to `path` atomically. Throws std::runtime_error naming the path on failure.
void write_text_atomic(const std::filesystem::path& path, const std::string& text);

// Creates `dir` (and parents) if needed and checks it is writable; throws std::runtime_error naming it.
void ensure_writable_directory(const std::filesystem::path& dir);
// Checks that `dir` is a writable directory or could be created (its nearest existing ancestor is a directory
// where a probe directory can be made and removed: root's access() says yes to /proc). Leaves nothing behind.
// For long runs: refuse before the work, create at the end.
void check_writable_directory(const std::filesystem::path& dir);

// Removes the temporary files "<name>.tmp.<pid>" in `dir` that a killed process left (its pid no longer runs).
// Returns how many were removed.
int remove_stale_temporaries(const std::filesystem::path& dir);

}  // namespace trk::io
