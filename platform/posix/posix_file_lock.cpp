#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "experiture/platform/file_lock.hpp"

namespace experiture {
namespace platform {
namespace {

// flock() locks belong to the open file description: a second FileLock on the same path, in this
// process or another, is refused while this one holds it, and the kernel drops the lock when the
// descriptor closes, including when the process dies.
class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(const std::string& path)
      : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {}
  ~PosixFileLock() override {
    if (fd_ >= 0) ::close(fd_);
  }
  PosixFileLock(const PosixFileLock&) = delete;
  PosixFileLock& operator=(const PosixFileLock&) = delete;

  bool try_lock() override {
    if (held_) return true;
    // Without a lock file (read-only folder) nobody else can coordinate either: deliver.
    if (fd_ < 0) return held_ = true;
    int rc;
    do {
      rc = ::flock(fd_, LOCK_EX | LOCK_NB);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return false;
    held_ = true;
    const std::string pid = std::to_string(static_cast<long long>(::getpid())) + "\n";
    if (::ftruncate(fd_, 0) == 0) {
      ssize_t written = ::pwrite(fd_, pid.data(), pid.size(), 0);
      (void)written;  // the pid is informational: the lock itself is what excludes
    }
    return true;
  }

  void unlock() override {
    if (!held_) return;
    held_ = false;
    if (fd_ >= 0) ::flock(fd_, LOCK_UN);
  }

  bool held() const override { return held_; }

  int64_t holder_pid() const override {
    if (fd_ < 0) return 0;
    char buffer[32] = {};
    const ssize_t n = ::pread(fd_, buffer, sizeof(buffer) - 1, 0);
    if (n <= 0) return 0;
    int64_t pid = 0;
    for (ssize_t i = 0; i < n && buffer[i] >= '0' && buffer[i] <= '9'; ++i)
      pid = pid * 10 + (buffer[i] - '0');
    return pid;
  }

 private:
  int fd_;
  bool held_ = false;
};

}  // namespace

std::unique_ptr<FileLock> make_file_lock(const std::string& path) {
  return std::make_unique<PosixFileLock>(path);
}

}  // namespace platform
}  // namespace experiture
