// CountingVfs: a SQLite VFS shim (tests/support/shim_vfs.hpp) for the bench's disk-write figures.
// It forwards every call to the default VFS and counts the bytes handed to xWrite and the xSync
// calls, per kind of file (main database, WAL). Pass name() as Config::sqlite_vfs. Counters are
// atomics: read them from any thread while a client's store thread writes.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "shim_vfs.hpp"

namespace experiture {
namespace bench {

class CountingVfs final : public test::ShimVfs {
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

  static const char* name() { return "experiture-bench-count"; }
  Counts counts() const;

  int on_write(File& f, const void* data, int amount, sqlite3_int64 offset) override;
  int on_sync(File& f, int flags) override;

 private:
  std::atomic<uint64_t> bytes_[3] = {};
  std::atomic<uint64_t> syncs_{0};
};

}  // namespace bench
}  // namespace experiture
