// An exclusive advisory lock on a sidecar file, held by at most one process (and one FileLock
// object) at a time and released by the OS when its holder's process ends, so a crashed holder
// cannot keep it. The outbox uses one on "<outbox>.lock" as its delivery lease.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace experiture {
namespace platform {

class FileLock {
 public:
  virtual ~FileLock() = default;
  // Takes the lock if nobody holds it; never waits. True when this object holds it afterwards
  // (also when it already did). Records this process's id in the file for holder_pid().
  virtual bool try_lock() = 0;
  // Releases it (no-op when not held).
  virtual void unlock() = 0;
  virtual bool held() const = 0;
  // The process id the current holder recorded (0 when unknown). Meaningful after a failed
  // try_lock(): the file still names a crashed holder until the next one takes the lock.
  virtual int64_t holder_pid() const = 0;
};

// The platform's lock on `path` (created owner-only if absent): flock() on POSIX systems, or a
// lock that is always granted where the SDK has none (one process per outbox file there).
// Any thread; each call is one short system call.
std::unique_ptr<FileLock> make_file_lock(const std::string& path);

}  // namespace platform
}  // namespace experiture
