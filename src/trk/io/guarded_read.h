// The one way trk reads a user's HDF5 file (datasets, checkpoints, model.h5, forecast.h5, fit.h5 histories):
// refuse what is not a regular file, then read it in a child process first.
// libhdf5 1.10.8 can loop forever, read out of bounds (H5HG_read, the global heap of variable-length strings) or
// use freed memory (H5O__msg_iterate_real) on some damaged files; tests/io/fuzz_readers_test.cpp and
// scripts/fuzz_readers.sh found all three. If the child crashes, or does not finish within TRK_READ_TIMEOUT
// seconds (default 60), the file is refused with one error line naming it (`expected` says what it should have
// been); a reader's refusal in the child is thrown here with its message, without a second read; otherwise the file
// is read here. Sizes declared in the file are bounded by the
// readers themselves (Group::read_array against io::memory_limit()).
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

namespace trk::io {

// Throws std::runtime_error "<path>: not a regular file (a FIFO / a device / a folder); expected <expected>" for
// anything but a regular file (a symlink is followed): a FIFO would block the open for ever. A missing file passes
// (the reader names it "file not found").
inline void require_regular_file(const std::string& path, const std::string& expected) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode)) return;
  const char* what = S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISDIR(st.st_mode) ? "a folder" : S_ISSOCK(st.st_mode) ? "a socket"
                     : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" : "not a file";
  throw std::runtime_error(path + ": not a regular file (" + what + "); expected " + expected);
}

template <class Read>
auto read_hdf5_guarded(const std::string& path, const std::string& expected, const Read& read) {
  require_regular_file(path, expected);
  const char* env = std::getenv("TRK_READ_TIMEOUT");
  const int seconds = env && std::atoi(env) > 0 ? std::atoi(env) : 60;
  std::fflush(nullptr);
  int message[2] = {-1, -1};  // the child's refusal, so that the parent does not read a file the child refused
  if (::pipe(message) != 0) message[0] = message[1] = -1;
  const pid_t child = ::fork();
  if (child == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, STDERR_FILENO);  // libc's crash report is not ours to show
    try {
      read();
    } catch (const std::exception& e) {
      const std::string what = e.what();
      if (message[1] >= 0 && ::write(message[1], what.data(), std::min<size_t>(what.size(), 4000)) < 0) ::_exit(1);
      ::_exit(1);
    } catch (...) {
      ::_exit(1);
    }
    ::_exit(0);
  }
  if (message[1] >= 0) ::close(message[1]);
  struct CloseOnExit {
    int fd;
    ~CloseOnExit() {
      if (fd >= 0) ::close(fd);
    }
  } close_message{message[0]};
  if (child > 0) {
    int status = 0;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (::waitpid(child, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > end) {
        ::kill(child, SIGKILL);
        ::waitpid(child, &status, 0);
        throw std::runtime_error(path + ": reading did not finish in " + std::to_string(seconds) +
                                 " s (libhdf5 loops on some damaged files); expected " + expected);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (WIFSIGNALED(status))
      throw std::runtime_error(path + ": libhdf5 crashed reading it (signal " + std::to_string(WTERMSIG(status)) +
                               "; a damaged HDF5 file); expected " + expected);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 1 && message[0] >= 0) {
      std::string what;
      char buffer[4096];
      for (ssize_t n; (n = ::read(message[0], buffer, sizeof buffer)) > 0;) what.append(buffer, static_cast<size_t>(n));
      if (!what.empty()) throw std::runtime_error(what);  // the reader's own refusal, without a second read
    }
  }
  return read();  // also when fork failed: read without the guard
}

}  // namespace trk::io
