// CountingVfs: a SQLite VFS shim for the bench's disk-write figures. It forwards every call to
// the default VFS and counts the bytes handed to xWrite and the xSync calls, per kind of file
// (main database, WAL). Pass name() as Config::sqlite_vfs. Counters are atomics: read them from
// any thread while a client's store thread writes.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <string>

namespace experiture {
namespace bench {

class CountingVfs {
 public:
  struct Counts {
    uint64_t db_bytes = 0;
    uint64_t wal_bytes = 0;
    uint64_t other_bytes = 0;  // journals, temp files
    uint64_t syncs = 0;
    uint64_t total() const { return db_bytes + wal_bytes + other_bytes; }
    Counts operator-(const Counts& o) const {
      return {db_bytes - o.db_bytes, wal_bytes - o.wal_bytes, other_bytes - o.other_bytes,
              syncs - o.syncs};
    }
  };

  CountingVfs();  // registers "experiture-bench-count" (not as the default VFS)
  ~CountingVfs();
  CountingVfs(const CountingVfs&) = delete;
  CountingVfs& operator=(const CountingVfs&) = delete;

  static const char* name() { return "experiture-bench-count"; }
  Counts counts() const;

  // Used by the shim's methods.
  void add_write(int kind, uint64_t bytes);
  void add_sync() { syncs_.fetch_add(1); }
  sqlite3_vfs* real() const { return real_; }

 private:
  sqlite3_vfs* real_ = nullptr;
  sqlite3_vfs vfs_{};
  std::atomic<uint64_t> bytes_[3] = {};
  std::atomic<uint64_t> syncs_{0};
};

}  // namespace bench
}  // namespace experiture
