// PowerLossVfs: a SQLite VFS shim (ShimVfs) that simulates a power cut, after SQLite's own crash
// tests (src/test6.c). It forwards every call to the default VFS and records, per file, the writes
// and truncations made since that file's last xSync. Armed with a crash point N, the N-th write,
// sync or truncate (counted over every file but the -shm, which is memory) and everything after
// it fail with an I/O error: the process can no longer change the disk. power_loss() then puts
// each file back into a state a real power cut could leave, from its content at its last sync
// (seeded random choices; the -shm file is deleted):
// - kInOrder: the writes made since then reached the disk in order up to a random one, which is
//   torn (only a prefix of its 512-byte sectors was written) or lost, and none after it;
// - kReordered: each of those writes independently reached the disk, was lost, or was torn, as
//   a disk with a write cache may do (SQLite's own crash tests also model this).
//
// State is per instance (reached through sqlite3_vfs::pAppData); the name is derived from the
// object's address. Thread-safe: the SDK's store thread does I/O while the test thread arms it.
// Test-only code: a failed registration throws std::runtime_error.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "shim_vfs.hpp"

namespace experiture {
namespace test {

class PowerLossVfs final : public ShimVfs {
 public:
  PowerLossVfs();
  ~PowerLossVfs() override = default;  // every connection through the shim must be closed first

  // The `crash_at`-th I/O event from now (1 = the next one) and all later ones fail; 0 = never.
  void arm(uint64_t crash_at);
  bool crashed() const;
  // Write, sync and truncate events seen since construction (or the last arm()).
  uint64_t events() const;
  enum class Model { kInOrder, kReordered };
  // Rewrites every file this shim wrote to as the power cut left it (see above) and forgets
  // them. Call after every connection through the shim is closed.
  void power_loss(uint32_t seed, Model model);

  struct Op {
    bool truncate = false;
    int64_t offset = 0;  // write offset, or the new size for a truncate
    std::string data;
  };
  // The shim's hooks: writes, truncates and syncs of the main database, its WAL and journal
  // are recorded (and refused once crashed); the disk claims no special characteristics, and
  // there are no memory-mapped reads.
  int on_write(File& f, const void* data, int amount, sqlite3_int64 offset) override;
  int on_truncate(File& f, sqlite3_int64 size) override;
  int on_sync(File& f, int flags) override;
  int on_device_characteristics(File& f) override;
  int on_delete(const char* path, int sync_dir) override;
  bool memory_mapped_reads() const override { return false; }

 private:
  // false: the event is refused (crashed).
  bool record_write(const std::string& path, int64_t offset, const void* data, int amount);
  bool record_truncate(const std::string& path, int64_t size);
  bool record_sync(const std::string& path);
  bool record_delete(const std::string& path);
  bool count_event_locked();

  struct FileState {
    bool known = false;
    std::string durable;  // content as of the last sync (or first sight)
    std::vector<Op> unsynced;
  };
  FileState& file_locked(const std::string& path);

  mutable std::mutex mutex_;
  std::map<std::string, FileState> files_;
  uint64_t events_ = 0;
  uint64_t crash_at_ = 0;
  bool crashed_ = false;
};

}  // namespace test
}  // namespace experiture
