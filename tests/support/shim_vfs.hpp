// ShimVfs: the base of the SQLite VFS shims that tests and the bench use (PowerLossVfs,
// CountingVfs). It registers under its own name (not as the default VFS), forwards every call to
// the default VFS, and lets a subclass step into the calls that matter to it (writes, truncates,
// syncs, deletes, device characteristics, memory-mapped reads); everything else passes through.
// Pass name() as Config::sqlite_vfs (or Outbox::Options::vfs).
//
// The subclass is reached through sqlite3_vfs::pAppData and each open file, so instances never
// share state. Every connection through the shim must be closed before it is destroyed. A failed
// registration throws std::runtime_error. Test and bench code only.
#pragma once

#include <sqlite3.h>

#include <string>

namespace experiture {
namespace test {

class ShimVfs {
 public:
  // One open file: SQLite allocates it (sqlite3_vfs::szOsFile), the real VFS's file follows it.
  struct File {
    sqlite3_file base;
    ShimVfs* owner;
    int open_flags;    // SQLITE_OPEN_* given to xOpen (SQLITE_OPEN_MAIN_DB, SQLITE_OPEN_WAL, ...)
    const char* path;  // SQLite keeps the name alive until xClose; null for temp files
    sqlite3_file* real;
  };

  ShimVfs(const ShimVfs&) = delete;
  ShimVfs& operator=(const ShimVfs&) = delete;

  const std::string& name() const { return name_; }
  sqlite3_vfs* real() const { return real_; }

  // The hooks. Each default forwards to the real VFS (the forward_* calls below); an override
  // may count, refuse (return an SQLite error code), or forward.
  virtual int on_write(File& f, const void* data, int amount, sqlite3_int64 offset);
  virtual int on_truncate(File& f, sqlite3_int64 size);
  virtual int on_sync(File& f, int flags);
  virtual int on_device_characteristics(File& f);
  virtual int on_delete(const char* path, int sync_dir);
  // false: xFetch hands out no memory mapping, so every byte SQLite reads goes through xRead.
  virtual bool memory_mapped_reads() const { return true; }

 protected:
  // Registers `name`, which must be unique in the process.
  explicit ShimVfs(std::string name);
  virtual ~ShimVfs();

  static int forward_write(File& f, const void* data, int amount, sqlite3_int64 offset);
  static int forward_truncate(File& f, sqlite3_int64 size);
  static int forward_sync(File& f, int flags);
  int forward_delete(const char* path, int sync_dir);

 private:
  std::string name_;
  sqlite3_vfs* real_ = nullptr;
  sqlite3_vfs vfs_{};
};

}  // namespace test
}  // namespace experiture
