// FaultyVfs: a SQLite VFS shim for fault tests. It registers under its own name, forwards every
// call to the default VFS, and fails chosen calls on a countdown: SQLITE_FULL from xWrite (disk
// full), SQLITE_IOERR_FSYNC from xSync, SQLITE_BUSY from locks, SQLITE_IOERR from xRead. Pass
// name() as Config::sqlite_vfs (or Outbox::Options::vfs).
//
// A byte quota models a real full disk instead: set_quota_bytes(n) makes any xWrite or xTruncate
// that would GROW the files opened through the shim (database, WAL, journals, temp files, also
// once closed until deleted; each path counted once) past n bytes fail with SQLITE_FULL, while
// writes inside the current file sizes and shrinking truncates succeed, as on a file system with no
// free blocks left.
//
// State is per instance: the countdowns live in this object, reached through sqlite3_vfs::pAppData
// and from each open file. The only process-wide state is SQLite's own list of registered VFSes
// (sqlite3_vfs_register/unregister); the I/O method table is a constant. The default name is
// derived from the object's address, so instances never collide.
//
// Thread-safe: arm()/disarm() from the test thread while the SDK's store thread does I/O.
// Test-only code: a failed registration throws std::runtime_error.
#pragma once

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace experiture {
namespace test {

class FaultyVfs {
 public:
  enum class Operation : int {
    kWrite = 0,  // xWrite on any file -> SQLITE_FULL
    kSync = 1,   // xSync on any file -> SQLITE_IOERR_FSYNC
    kLock = 2,   // xLock, and exclusive xShmLock (the WAL write lock) -> SQLITE_BUSY
    kRead = 3,   // xRead on any file (database or WAL) -> SQLITE_IOERR (the primary code)
  };
  static constexpr int kForever = -1;

  // Registers the shim (not as the default VFS). `name` "" = a name unique to this object.
  explicit FaultyVfs(std::string name = std::string());
  // Unregisters. Every connection opened through the shim must be closed first.
  ~FaultyVfs();
  FaultyVfs(const FaultyVfs&) = delete;
  FaultyVfs& operator=(const FaultyVfs&) = delete;

  const std::string& name() const { return name_; }

  // After `after_calls` more calls of `op` succeed, the next `fail_count` calls fail (kForever:
  // until disarm()). Re-arming replaces the previous countdown of `op`.
  void arm(Operation op, int after_calls, int fail_count = kForever);
  void disarm(Operation op);
  void disarm_all();
  // true: xSleep returns at once, so SQLite's busy handler runs its timeout on virtual time (a
  // test with an injected SQLITE_BUSY then does not wait out busy_timeout for real).
  void set_instant_sleep(bool instant);

  // The byte quota (see above): kNoQuota (the default) = unlimited. Settable at any time.
  static constexpr int64_t kNoQuota = -1;
  void set_quota_bytes(int64_t bytes);
  // Bytes of the files opened through the shim that still exist (each path once).
  int64_t used_bytes() const;
  // Writes and truncates refused by the quota since construction.
  uint64_t quota_failures() const;

  // Calls of `op` seen since construction, and how many of them were failed.
  uint64_t calls(Operation op) const;
  uint64_t failures(Operation op) const;

  // Called by the shim's I/O methods: counts the call and says whether to fail it.
  bool should_fail(Operation op);
  bool instant_sleep() const;
  sqlite3_vfs* real() const { return real_; }
  // Called by the shim: file bookkeeping for the quota, and the quota check of a write that ends
  // at `end` (a truncate to `end`), forwarded by `forward` while the quota lock is held.
  void track_open(sqlite3_file* shim_file, sqlite3_file* real_file, const char* path);
  void track_close(sqlite3_file* shim_file);
  void track_delete(const char* path);
  template <typename Forward>
  int within_quota(sqlite3_file* real_file, sqlite3_int64 end, Forward forward);

 private:
  struct Countdown {
    int after_calls = 0;
    int fail_count = 0;  // 0 = disarmed
    uint64_t calls = 0;
    uint64_t failures = 0;
  };

  std::string name_;
  sqlite3_vfs* real_ = nullptr;
  sqlite3_vfs vfs_{};
  mutable std::mutex mutex_;
  std::array<Countdown, 4> countdowns_{};
  bool instant_sleep_ = false;

  struct OpenFile {
    sqlite3_file* real;
    std::string path;  // "" for a temp file without a name: counted on its own
  };
  int64_t used_bytes_locked() const;
  mutable std::mutex quota_mutex_;  // held across a growing write, so the quota is exact
  int64_t quota_bytes_ = kNoQuota;
  uint64_t quota_failures_ = 0;
  std::map<sqlite3_file*, OpenFile> open_files_;
  std::set<std::string> closed_paths_;  // opened once, closed, not deleted through the shim
};

template <typename Forward>
int FaultyVfs::within_quota(sqlite3_file* real_file, sqlite3_int64 end, Forward forward) {
  std::lock_guard<std::mutex> lock(quota_mutex_);
  if (quota_bytes_ != kNoQuota) {
    sqlite3_int64 size = 0;
    if (real_file->pMethods->xFileSize(real_file, &size) != SQLITE_OK) size = 0;
    if (end > size && used_bytes_locked() + (end - size) > quota_bytes_) {
      ++quota_failures_;
      return SQLITE_FULL;
    }
  }
  return forward();
}

}  // namespace test
}  // namespace experiture
